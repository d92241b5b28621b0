"""The demo shop: a history that gives tiers, expiry and segments something to show, written
through the real rules, loaded once, and resumed (not doubled) after an interruption.

Loading it takes tens of seconds, so one test covers it all: a first run cut off half-way,
the run that finishes it, and a third call that finds it loaded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import distinct, func, select

from bot import demo
from core import loyalty
from core.clock import FixedClock, add_months
from core.context import Context
from core.staff import Role, list_staff
from storage.models import (
    AuditRow,
    CouponRow,
    LedgerRow,
    MemberRow,
    OutboxRow,
    SaleRow,
    TierChangeRow,
)

CUT_AT_SALE = 900


class PowerCut(Exception):
    pass


async def scalar(ctx: Context, query: Any) -> Any:
    async with ctx.db.read() as s:
        return await s.scalar(query)


async def test_demo_shop_is_realistic_resumes_after_a_cut_and_loads_once(
    ctx: Context, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = clock.now()
    record_sale = loyalty.record_sale
    calls = 0

    async def cut_off(*args: Any, **kwargs: Any) -> loyalty.SaleResult:
        nonlocal calls
        calls += 1
        if calls == CUT_AT_SALE:
            raise PowerCut()
        return await record_sale(*args, **kwargs)

    monkeypatch.setattr(loyalty, "record_sale", cut_off)
    with pytest.raises(PowerCut):
        await demo.load_demo(ctx)
    assert await scalar(ctx, select(func.count(SaleRow.id))) == CUT_AT_SALE - 1
    monkeypatch.undo()

    report = await demo.load_demo(ctx)

    # Nothing doubled by the restart: every planned sale once, every redemption once.
    _, planned = demo._plan(ctx.shop, start.astimezone(ctx.zone))
    assert report.sales == sum(e.kind == demo.SALE for e in planned)
    assert 2_000 <= report.sales <= 3_000
    assert report.members == 300 == await scalar(ctx, select(func.count(MemberRow.id)))
    issued = await scalar(ctx, select(func.count(distinct(CouponRow.issued_at))))
    assert report.coupons == issued > 0
    assert 0 < report.coupons_used < report.coupons
    assert report.refunds == demo.REFUNDS
    earn_lots = select(func.count(LedgerRow.id)).where(LedgerRow.kind == "earn")
    paid_sales = select(func.count(SaleRow.id)).where(SaleRow.points_earned > 0)
    assert await scalar(ctx, earn_lots) == await scalar(ctx, paid_sales)

    # The caller's clock did not move; the history ends now and spans fourteen months.
    assert ctx.now() == start
    assert await scalar(ctx, select(func.max(SaleRow.sold_at))) <= start
    first_sale = await scalar(ctx, select(func.min(SaleRow.sold_at)))
    assert first_sale >= add_months(start.astimezone(ctx.zone), -demo.HISTORY_MONTHS)

    staff = [(s.channel, s.external_id, s.role, s.store) for s in await list_staff(ctx)]
    assert staff == [("console", "owner", Role.OWNER, None)]

    # Tiers: every level from the bottom to diamond is held by someone.
    assert report.tiers["member"] >= 1
    assert report.tiers["gold"] >= 1
    assert 1 <= report.tiers["diamond"] <= 3
    assert sum(report.tiers.values()) == 300

    # Segments have members: never bought, new, long silent.
    buyers = select(SaleRow.member_id)
    assert 20 <= await scalar(ctx, select(func.count()).where(MemberRow.id.not_in(buyers))) <= 60
    first_buys = (
        select(func.min(SaleRow.sold_at).label("first")).group_by(SaleRow.member_id).subquery()
    )
    recent = select(func.count()).where(first_buys.c.first > start - timedelta(days=30))
    assert await scalar(ctx, recent) >= 10
    last_buys = (
        select(func.max(SaleRow.sold_at).label("last")).group_by(SaleRow.member_id).subquery()
    )
    assert (
        await scalar(
            ctx, select(func.count()).where(last_buys.c.last < start - timedelta(days=365))
        )
        >= 10
    )

    # The rules ran on the way: lots expired, reviews moved people down, one refund partial.
    assert await scalar(ctx, select(func.count(LedgerRow.id)).where(LedgerRow.kind == "expire")) > 0
    ranks = {t.code: i for i, t in enumerate(ctx.shop.tiers.levels)}
    async with ctx.db.read() as s:
        reviews = (
            await s.execute(
                select(TierChangeRow.from_tier, TierChangeRow.to_tier).where(
                    TierChangeRow.reason == "review"
                )
            )
        ).all()
    assert any(ranks[to] < ranks[frm] for frm, to in reviews)
    partial = select(func.count(SaleRow.id)).where(
        SaleRow.refunded_fen > 0, SaleRow.refunded_fen < SaleRow.amount_fen
    )
    assert await scalar(ctx, partial) == 1

    # History is not news: nothing waits to be pushed.
    assert await scalar(ctx, select(func.count(OutboxRow.id))) == 0

    again = await demo.load_demo(ctx)

    assert again.already_loaded
    assert (again.members, again.sales, again.coupons, again.tiers) == (
        report.members,
        report.sales,
        report.coupons,
        report.tiers,
    )
    assert await scalar(ctx, select(func.count(MemberRow.id))) == 300
    assert await scalar(ctx, select(func.count(SaleRow.id))) == report.sales
    loaded = select(func.count(AuditRow.id)).where(AuditRow.action == demo.LOADED)
    assert await scalar(ctx, loaded) == 1
