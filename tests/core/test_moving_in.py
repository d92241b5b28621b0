"""Moving in from an old system: balances as ``migrated`` lots with their expiry, tiers held
for a window, lifetime spend as an opening figure; bad rows by line; a re-import changes
nothing; other figures for a member already moved in are refused."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import select

from core.clock import FixedClock
from core.context import Context
from core.errors import (
    AlreadyMovedIn,
    DuplicateRow,
    InvalidInput,
    InvalidPhone,
    LotExpired,
    MissingValue,
)
from core.ledger import statement, tiers
from core.ledger.moving_in import import_balances
from core.ledger.points import expire_points
from core.people.members import normalize_phone
from storage.models import AuditRow, LedgerRow, MemberRow, MigratedBalanceRow, SaleRow
from tests.conftest import ZONE
from tests.factories import balance, count, member, sale

# The test clock's today is 2026-01-05.
FILE = (
    "phone,name,points,expires,tier,lifetime_spend_yuan\n"
    "13800000001,张三,1200,2026-12-31,金卡,8650.00\n"
    '13800000002,李四,"300;150","2026/06/30;2027-06-30",silver,1200\n'
    "13800000003,王五,0,,,\n"
    "12345,坏号码,10,,,\n"
    "13800000004,,10,,,\n"
    "13800000005,过期,10,2025-12-31,,\n"
    "13800000006,负数,-5,,,\n"
    "13800000007,等级,5,,platinum,\n"
    '13800000008,少日期,"5;6",2026-12-31,,\n'
    "+86 138-0000-0001,重复,5,,,\n"
    "13800000009,花费,5,,,lots\n"
)


async def _member_id(ctx: Context, phone: str) -> int:
    async with ctx.db.read() as s:
        found = await s.scalar(
            select(MemberRow.id).where(MemberRow.phone == normalize_phone(phone))
        )
    assert found is not None
    return found


async def test_good_rows_move_in_and_bad_rows_are_listed_by_line(ctx: Context) -> None:
    report = await import_balances(ctx, io.StringIO(FILE), actor="cli")

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    refused = [(e.line, type(e.error), e.error.params.get("field")) for e in report.errors]
    assert refused == [
        (5, InvalidPhone, None),
        (6, MissingValue, "name"),
        (7, LotExpired, None),
        (8, InvalidInput, "points"),
        (9, InvalidInput, "tier"),
        (10, InvalidInput, "expires"),
        (11, DuplicateRow, "phone"),
        (12, InvalidInput, "lifetime_spend_yuan"),
    ]
    zhang = await _member_id(ctx, "13800000001")
    li = await _member_id(ctx, "13800000002")
    assert await balance(ctx, zhang) == 1200
    assert await balance(ctx, li) == 450
    assert await balance(ctx, await _member_id(ctx, "13800000003")) == 0
    assert await count(ctx, MemberRow) == 3  # refused rows create no one

    overview = await statement.points_overview(ctx, zhang)
    assert overview.summary.tier == "gold"
    assert overview.summary.window_spend_fen == 0  # an opening figure, not a sale
    [lot] = overview.latest
    assert (lot.kind, lot.points) == ("migrated", 1200)
    # Good through the last day of 2026 in the shop's zone.
    assert lot.expires_at == datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZONE)
    lots = sorted((e.points, e.expires_at) for e in await statement.ledger(ctx, li))
    assert lots == [
        (150, datetime(2027, 6, 30, 23, 59, 59, tzinfo=ZONE)),
        (300, datetime(2026, 6, 30, 23, 59, 59, tzinfo=ZONE)),
    ]
    assert await count(ctx, SaleRow) == 0
    async with ctx.db.read() as s:
        record = await s.scalar(
            select(MigratedBalanceRow).where(MigratedBalanceRow.member_id == zhang)
        )
        assert record is not None
        assert (record.points, record.tier, record.lifetime_spend_fen) == (1200, "gold", 865_000)
        audited = await s.scalar(
            select(AuditRow).where(
                AuditRow.member_id == zhang, AuditRow.action == "points.migrated"
            )
        )
        assert audited is not None and audited.actor == "cli"
        assert audited.details["points"] == 1200


async def test_the_same_file_again_changes_nothing(ctx: Context) -> None:
    await import_balances(ctx, io.StringIO(FILE))
    lots = await count(ctx, LedgerRow)

    again = await import_balances(ctx, io.StringIO(FILE))

    assert (again.created, again.unchanged) == (0, 3)
    assert len(again.errors) == 8  # the same bad rows, nothing more
    assert await count(ctx, LedgerRow) == lots
    assert await count(ctx, MigratedBalanceRow) == 3


async def test_other_figures_for_a_member_moved_in_are_refused(ctx: Context) -> None:
    await import_balances(ctx, io.StringIO(FILE))
    changed = "phone,name,points\n13800000001,张三,1500\n13800000010,新人,20\n"

    report = await import_balances(ctx, io.StringIO(changed))

    assert report.created == 1
    [error] = report.errors
    assert error.line == 2 and isinstance(error.error, AlreadyMovedIn)
    assert error.error.params == {"points": 1200, "day": "2026-01-05"}
    assert await balance(ctx, await _member_id(ctx, "13800000001")) == 1200


async def test_a_member_already_here_keeps_their_points_and_higher_tier(ctx: Context) -> None:
    here = await member(ctx, phone="13800000001", points=50, tier="diamond")
    await import_balances(ctx, io.StringIO(FILE))
    assert await balance(ctx, here) == 1250
    assert (await statement.points_summary(ctx, here)).tier == "diamond"


async def test_migrated_lots_expire_on_their_own_date(ctx: Context, clock: FixedClock) -> None:
    await import_balances(ctx, io.StringIO(FILE))
    li = await _member_id(ctx, "13800000002")

    clock.set(datetime(2026, 7, 1, 0, 0, tzinfo=ZONE))
    report = await expire_points(ctx)

    assert report.points == 300
    assert await balance(ctx, li) == 150
    assert await balance(ctx, await _member_id(ctx, "13800000001")) == 1200


async def test_an_empty_expiry_takes_the_shops_lifetime(ctx: Context) -> None:
    await import_balances(ctx, io.StringIO("phone,name,points\n13800000011,赵六,80\n"))
    [lot] = await statement.ledger(ctx, await _member_id(ctx, "13800000011"))
    assert lot.expires_at is not None
    assert lot.expires_at.astimezone(ZONE).date() == ctx.today().replace(year=2027)


async def test_the_review_holds_a_migrated_tier_for_one_window(
    ctx: Context, clock: FixedClock
) -> None:
    await import_balances(ctx, io.StringIO(FILE))
    zhang = await _member_id(ctx, "13800000001")

    clock.advance(timedelta(days=60))
    await tiers.review_tiers(ctx)
    assert (await statement.points_summary(ctx, zhang)).tier == "gold"

    # Spending here may still move the member up; the migrated tier is only a floor.
    await sale(ctx, zhang, yuan=20_000)
    assert (await statement.points_summary(ctx, zhang)).tier == "diamond"

    clock.advance(timedelta(days=400))  # a window after moving in, the sale left too
    changes = await tiers.review_tiers(ctx)
    assert [(c.member_id, c.to_tier) for c in changes if c.member_id == zhang] == [
        (zhang, "member")
    ]


async def test_a_large_file_imports_with_progress(ctx: Context) -> None:
    rows = "".join(f"139{i:08d},会员{i},{i % 500},2026-12-31,silver,{i}\n" for i in range(500))
    ticks: list[int] = []

    report = await import_balances(
        ctx,
        io.StringIO("phone,name,points,expires,tier,lifetime_spend_yuan\n" + rows),
        progress=ticks.append,
    )

    assert (report.created, report.errors) == (500, [])
    assert sum(ticks) == 501  # every record, the header too
    assert await count(ctx, MigratedBalanceRow) == 500
