"""Measured campaigns: a holdout that gets nothing, two messages drawn at random, the draw
kept and never made again, and the results per group with uplift, cost and ROI on a fixture
whose purchases give known figures."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from core.context import Context
from core.errors import InvalidInput
from core.insights.campaign_results import campaign_results, campaigns_roi
from core.insights.campaigns import HOLDOUT, KIND, A, B, create_and_send, holdout_size
from core.insights.segments import Segment
from core.ledger import coupons, refunds
from core.people.members import store_id
from storage.models import CampaignMemberRow, CouponRow, IdentityRow, MemberRow, OutboxRow
from tests.factories import owner, sale

EVERYONE = Segment()
phones = iter(range(1, 1_000_000))


async def many_members(ctx: Context, n: int, *, consent: bool = True) -> list[int]:
    """``n`` members of the main store who accept marketing, inserted at once."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        main = await store_id(s, "main")
        rows = [
            MemberRow(
                name=f"会员{i}",
                phone=f"139{next(phones):08d}",
                locale="zh_CN",
                home_store_id=main,
                marketing_consent=consent,
                tier="member",
                registered_at=now,
            )
            for i in range(n)
        ]
        s.add_all(rows)
        await s.flush()
        # Each with a chat account: a campaign reaches only members it can write to.
        s.add_all(
            IdentityRow(
                channel="console",
                external_id=f"c-{row.id}",
                member_id=row.id,
                created_at=now,
                reachable=True,
            )
            for row in rows
        )
        await s.flush()
        return [row.id for row in rows]


async def drawn(ctx: Context, campaign_id: int | None) -> dict[int, str]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(CampaignMemberRow.member_id, CampaignMemberRow.variant).where(
                CampaignMemberRow.campaign_id == campaign_id
            )
        )
        return {member_id: variant for member_id, variant in rows}


async def messages(ctx: Context) -> dict[int | None, str]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(OutboxRow.member_id, OutboxRow.params).where(OutboxRow.kind == KIND)
        )
        return {member_id: params["message"] for member_id, params in rows}


async def coupon_owners(ctx: Context) -> list[int]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(CouponRow.member_id)))


async def test_a_thousand_members_with_a_tenth_held_out(ctx: Context, clock: FixedClock) -> None:
    members = await many_members(ctx, 1_000)
    boss = await owner(ctx)

    async def send() -> object:
        return await create_and_send(
            ctx,
            staff=boss,
            segment=EVERYONE,
            message="第一版",
            message_b="第二版",
            reward="coupon10",
            store=None,
        )

    sent = await send()
    assert (sent.reached, sent.holdout, sent.variant_b, sent.coupons) == (900, 100, 450, 900)
    groups = await drawn(ctx, sent.campaign_id)
    assert sorted(groups) == members
    assert Counter(groups.values()) == {A: 450, B: 450, HOLDOUT: 100}
    held = {m for m, group in groups.items() if group == HOLDOUT}

    # The holdout gets nothing: no outbox row, no coupon; the others their own message.
    sent_to = await messages(ctx)
    assert len(sent_to) == 900 and held.isdisjoint(sent_to)
    assert all(sent_to[m] == ("第一版" if groups[m] == A else "第二版") for m in sent_to)
    owners = await coupon_owners(ctx)
    assert len(owners) == 900 and held.isdisjoint(owners)

    # Stable: confirming again returns the first campaign, reading results draws nobody anew.
    again = await send()
    assert again.repeated and again.campaign_id == sent.campaign_id
    assert (again.reached, again.holdout, again.variant_b) == (900, 100, 450)
    day = clock.now().astimezone(ctx.zone).date()
    (result,) = await campaign_results(ctx, store=None, start=day, end=day)
    assert [(g.group, g.members) for g in result.groups] == [(A, 450), (B, 450), (HOLDOUT, 100)]
    assert await drawn(ctx, sent.campaign_id) == groups
    assert len(await messages(ctx)) == 900

    # A second campaign is drawn afresh (the same 100 members twice would be a broken draw).
    clock.advance(timedelta(minutes=30))
    other = await create_and_send(
        ctx, staff=boss, segment=EVERYONE, message="再来", reward=None, store=None
    )
    assert (other.reached, other.holdout, other.variant_b) == (900, 100, 0)
    second = await drawn(ctx, other.campaign_id)
    assert Counter(second.values()) == {A: 900, HOLDOUT: 100}
    assert {m for m, group in second.items() if group == HOLDOUT} != held


async def test_holdout_share_is_the_shop_files_or_chosen_and_small_campaigns_have_none(
    ctx: Context,
) -> None:
    assert ctx.shop.campaigns.holdout_percent == 10 and ctx.shop.campaigns.min_members == 20
    assert [holdout_size(ctx, n) for n in (1, 19, 20, 29, 30, 1_000)] == [0, 0, 2, 2, 3, 100]
    assert holdout_size(ctx, 1_000, 25) == 250 and holdout_size(ctx, 1_000, 0) == 0
    for wrong in (-1, 51):
        with pytest.raises(InvalidInput):
            holdout_size(ctx, 1_000, wrong)

    members = await many_members(ctx, 19)
    boss = await owner(ctx)
    small = await create_and_send(
        ctx, staff=boss, segment=EVERYONE, message="少", reward=None, store=None, holdout_percent=50
    )
    assert (small.reached, small.holdout) == (19, 0)
    assert set((await drawn(ctx, small.campaign_id)).values()) == {A}
    await many_members(ctx, 1)  # 20 now
    chosen = await create_and_send(
        ctx, staff=boss, segment=EVERYONE, message="多", reward=None, store=None, holdout_percent=50
    )
    assert (chosen.reached, chosen.holdout) == (10, 10)
    assert members[0] in await drawn(ctx, chosen.campaign_id)
    with pytest.raises(InvalidInput):
        await create_and_send(
            ctx,
            staff=boss,
            segment=EVERYONE,
            message="x",
            reward=None,
            store=None,
            holdout_percent=60,
        )


async def test_results_per_group_give_the_known_uplift_and_roi(
    ctx: Context, clock: FixedClock
) -> None:
    await many_members(ctx, 40)
    boss = await owner(ctx)
    day = clock.now().astimezone(ctx.zone).date()
    sent = await create_and_send(
        ctx,
        staff=boss,
        segment=EVERYONE,
        message="A 版",
        message_b="B 版",
        reward="coupon10",
        store="main",
        holdout_percent=25,
    )
    groups = await drawn(ctx, sent.campaign_id)
    by_group = {name: sorted(m for m, g in groups.items() if g == name) for name in (A, B, HOLDOUT)}
    assert {name: len(ids) for name, ids in by_group.items()} == {A: 15, B: 15, HOLDOUT: 10}
    a, b, h = by_group[A], by_group[B], by_group[HOLDOUT]

    async def use_coupon(member_id: int) -> None:
        (coupon,) = await coupons.member_coupons(ctx, member_id)
        await coupons.use_coupon(ctx, coupon.code, store="main")

    clock.advance(timedelta(days=2))
    for member_id in a[:6]:  # 6 of A come back with ¥100 (10 points each), 3 with the coupon
        await sale(ctx, member_id, yuan=100)
    await sale(ctx, a[0], yuan=100)  # one of them twice: still one member, two purchases
    for member_id in a[:3]:
        await use_coupon(member_id)
    refunded = (await sale(ctx, a[10], yuan=300)).receipt_no
    await refunds.refund_sale(ctx, store="main", receipt_no=refunded)  # not a purchase
    for member_id in b[:4]:  # 4 of B with ¥200 (20 points each), one with the coupon
        await sale(ctx, member_id, yuan=200)
    await use_coupon(b[0])
    partly = (
        await sale(ctx, b[4], yuan=200)
    ).receipt_no  # ¥50 refunded: ¥150 counts, and the 10 it earns
    await refunds.refund_sale(ctx, store="main", receipt_no=partly, amount_fen=5_000)
    for member_id in h[:2]:  # 2 of the holdout buy ¥100 anyway
        await sale(ctx, member_id, yuan=100)
    clock.advance(timedelta(days=30))
    await sale(ctx, a[7], yuan=500)  # 32 days after: outside the 30 days
    await sale(ctx, h[5], yuan=500)

    (result,) = await campaign_results(ctx, store=None, start=day, end=day)
    assert result.measured and (result.holdout_percent, result.message_b) == (25, "B 版")
    assert [
        (g.group, g.members, g.came_back, g.sales_fen, g.coupons_used, g.coupon_value_fen, g.points)
        for g in result.groups
    ] == [
        (A, 15, 6, 70_000, 3, 3_000, 70),
        (B, 15, 5, 95_000, 1, 1_000, 90),
        (HOLDOUT, 10, 2, 20_000, 0, 0, 20),
    ]
    assert (result.reached, result.came_back, result.came_back_fen) == (30, 11, 165_000)
    assert (result.coupons_issued, result.coupons_used) == (30, 4)

    # A: expected 20 000 × 15 / 10 = 30 000; incremental 40 000; cost 3 000 + 70 × 10 fen.
    up_a = result.uplift_of(A)
    assert up_a is not None
    assert up_a.conversion_uplift == pytest.approx(6 / 15 - 2 / 10)
    assert (up_a.expected_fen, up_a.incremental_fen, up_a.cost_fen) == (30_000, 40_000, 3_700)
    assert up_a.roi == pytest.approx((40_000 - 3_700) / 3_700)
    # B: incremental 95 000 − 30 000; cost 1 000 + 90 × 10 fen.
    up_b = result.uplift_of(B)
    assert up_b is not None and up_b.conversion_uplift == pytest.approx(5 / 15 - 2 / 10)
    assert (up_b.incremental_fen, up_b.cost_fen) == (65_000, 1_900)
    assert up_b.roi == pytest.approx((65_000 - 1_900) / 1_900)
    # Together: 30 members against an expected 60 000.
    both = result.uplift
    assert both is not None
    assert (both.expected_fen, both.incremental_fen, both.cost_fen) == (60_000, 105_000, 5_600)
    assert both.roi == pytest.approx((105_000 - 5_600) / 5_600)
    total = campaigns_roi([result])
    assert total is not None and (total.campaigns, total.incremental_fen) == (1, 105_000)
    assert total.roi == pytest.approx(both.roi)

    # A longer window takes in the later purchases; the draw stays as it was.
    (longer,) = await campaign_results(ctx, store="main", start=day, end=day, within_days=60)
    assert [(g.group, g.came_back, g.sales_fen) for g in longer.groups] == [
        (A, 7, 120_000),
        (B, 5, 95_000),
        (HOLDOUT, 3, 70_000),
    ]
    assert await drawn(ctx, sent.campaign_id) == groups


async def test_a_campaign_without_holdout_has_no_uplift(ctx: Context, clock: FixedClock) -> None:
    await many_members(ctx, 30)
    boss = await owner(ctx)
    day = clock.now().astimezone(ctx.zone).date()
    await create_and_send(
        ctx,
        staff=boss,
        segment=EVERYONE,
        message="全部",
        reward=None,
        store=None,
        holdout_percent=0,
    )
    (result,) = await campaign_results(ctx, store=None, start=day, end=day)
    assert not result.measured and result.uplift is None and result.uplift_of(A) is None
    assert [(g.group, g.members) for g in result.groups] == [(A, 30)]
    assert campaigns_roi([result]) is None
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxRow)) == 30
