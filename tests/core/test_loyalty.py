"""Points, sales, refunds, coupons and tiers — the foundation's acceptance rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import (
    CouponExpired,
    CouponUsed,
    InvalidAmount,
    NotEnoughPoints,
    ReceiptTaken,
    RefundTooLarge,
    UnknownCoupon,
)
from core.ledger import adjustments, refunds, rules, statement, tiers
from core.ledger.coupons import (
    COUPON_ALPHABET,
    COUPON_CODE_LENGTH,
    CouponView,
    new_coupon_code,
    redeem_reward,
    use_coupon,
)
from core.ledger.points import expire_points
from core.shop_file import load_shop
from storage.models import AuditRow, LedgerRow, MemberRow, OutboxRow, SaleRow, TierChangeRow
from tests.factories import count, give_points, member


def test_points_rule_uses_full_steps_and_tier_multiplier() -> None:
    shop = load_shop()
    rule = rules.points_for(shop, 23_800, "gold")
    assert (rule.base_points, rule.multiplier, rule.points) == (20, "1.2", 24)
    assert rules.points_for(shop, 9_999, "member").points == 0


async def test_concurrent_redemptions_never_overdraw(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await give_points(ctx, member_id, 300)

    results = await asyncio.gather(
        *(redeem_reward(ctx, member_id, "coupon10") for _ in range(50)),
        return_exceptions=True,
    )

    coupons = [r for r in results if isinstance(r, CouponView)]
    refusals = [r for r in results if not isinstance(r, CouponView)]
    assert len(coupons) == 3
    assert len({c.code for c in coupons}) == 3
    assert all(isinstance(r, NotEnoughPoints) for r in refusals), refusals
    assert (await statement.points_summary(ctx, member_id)).balance == 0
    assert await count(ctx, LedgerRow, LedgerRow.kind == "spend") == 3


async def test_same_receipt_earns_once_also_concurrently(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    sale = dict(store="main", receipt_no="R-1001", member_id=member_id, amount_fen=50_000)

    first = await loyalty.record_sale(ctx, **sale)
    again = await loyalty.record_sale(ctx, **sale)
    assert (first.duplicate, first.points) == (False, 50)
    assert (again.duplicate, again.points, again.balance) == (True, 50, 50)

    racing = await asyncio.gather(
        *(loyalty.record_sale(ctx, **{**sale, "receipt_no": "R-1002"}) for _ in range(10))
    )
    assert sum(not r.duplicate for r in racing) == 1
    assert (await statement.points_summary(ctx, member_id)).balance == 100
    assert await count(ctx, SaleRow) == 2
    assert await count(ctx, OutboxRow, OutboxRow.kind == "receipt") == 2


async def test_receipt_of_another_member_is_refused(ctx: Context) -> None:
    alice = await member(ctx, name="王小明", phone="13800000001")
    bob = await member(ctx, name="王小明", phone="13800000002")
    await loyalty.record_sale(ctx, store="main", receipt_no="R1", member_id=alice, amount_fen=100)
    with pytest.raises(ReceiptTaken):
        await loyalty.record_sale(ctx, store="main", receipt_no="R1", member_id=bob, amount_fen=100)
    # The same receipt number in another store is another sale.
    await loyalty.record_sale(
        ctx, store="riverside", receipt_no="R1", member_id=bob, amount_fen=100
    )


@pytest.mark.parametrize("amount", [0, -100, 12.5, True])
async def test_sale_amount_must_be_positive_fen(ctx: Context, amount: object) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    with pytest.raises(InvalidAmount):
        await loyalty.record_sale(
            ctx, store="main", receipt_no="R1", member_id=member_id, amount_fen=amount
        )  # type: ignore[arg-type]


async def _two_lots(ctx: Context, clock: FixedClock, member_id: int) -> None:
    """Lot A = 100 points expiring in 10 days, lot B = 100 points expiring in 300 days."""
    start = clock.now()
    clock.set(start - timedelta(days=365 - 10))
    await give_points(ctx, member_id, 100)
    clock.set(start - timedelta(days=365 - 300))
    await give_points(ctx, member_id, 100)
    clock.set(start)
    lots = await statement.expiring_points(ctx, member_id, days=400)
    assert [lot.points for lot in lots] == [100, 100]
    assert [(lot.expires_at - start).days for lot in lots] == [10, 300]


async def test_the_points_overview_agrees_with_its_parts(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await _two_lots(ctx, clock, member_id)
    overview = await statement.points_overview(ctx, member_id, expiring_days=30, entries=1)
    assert overview.summary == await statement.points_summary(ctx, member_id)
    assert overview.summary.balance == 200
    assert overview.expiring == await statement.expiring_points(ctx, member_id, days=30)
    assert [lot.points for lot in overview.expiring] == [100]
    assert overview.latest == await statement.ledger(ctx, member_id, 1)


async def test_spending_takes_the_oldest_lot_first(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await _two_lots(ctx, clock, member_id)
    await adjustments.adjust_points(ctx, member_id, -50, "spend 50", actor="staff:1")

    clock.advance(timedelta(days=11))
    report = await expire_points(ctx)

    assert (report.members, report.points) == (1, 50)
    assert (await statement.points_summary(ctx, member_id)).balance == 100
    assert await count(ctx, LedgerRow, LedgerRow.kind == "expire", LedgerRow.points == -50) == 1
    # Running the job again expires nothing more.
    assert (await expire_points(ctx)).points == 0


async def test_spending_past_the_first_lot_leaves_nothing_to_expire(
    ctx: Context, clock: FixedClock
) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await _two_lots(ctx, clock, member_id)
    await adjustments.adjust_points(ctx, member_id, -150, "spend 150", actor="staff:1")

    clock.advance(timedelta(days=11))
    report = await expire_points(ctx)

    assert report.points == 0
    assert (await statement.points_summary(ctx, member_id)).balance == 50
    assert await count(ctx, LedgerRow, LedgerRow.kind == "expire") == 0


async def test_expired_points_cannot_be_spent_before_the_job_runs(
    ctx: Context, clock: FixedClock
) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await give_points(ctx, member_id, 100)
    clock.advance(timedelta(days=366))
    assert (await statement.points_summary(ctx, member_id)).balance == 0
    with pytest.raises(NotEnoughPoints):
        await redeem_reward(ctx, member_id, "coupon10")


async def test_gold_upgrade_at_once_and_downgrade_at_review(
    ctx: Context, clock: FixedClock
) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await loyalty.record_sale(
        ctx, store="main", receipt_no="A", member_id=member_id, amount_fen=400_000
    )
    crossing = await loyalty.record_sale(
        ctx, store="main", receipt_no="B", member_id=member_id, amount_fen=150_000
    )

    assert (crossing.upgraded_from, crossing.tier) == ("silver", "gold")
    # The crossing sale earns at the tier the member had when buying (silver, 1.1×).
    assert crossing.points == 165
    async with ctx.db.read() as s:
        changes = (
            await s.execute(
                select(
                    TierChangeRow.from_tier, TierChangeRow.to_tier, TierChangeRow.reason
                ).order_by(TierChangeRow.id)
            )
        ).all()
    assert changes == [("member", "silver", "sale"), ("silver", "gold", "sale")]
    assert await count(ctx, OutboxRow, OutboxRow.kind == "tier_changed") == 2

    clock.advance(timedelta(days=200))
    assert await tiers.review_tiers(ctx) == []  # still inside the window: no change

    clock.advance(timedelta(days=200))
    review = await tiers.review_tiers(ctx)
    assert [(c.member_id, c.from_tier, c.to_tier) for c in review] == [
        (member_id, "gold", "member")
    ]
    assert (await statement.points_summary(ctx, member_id)).tier == "member"


async def test_refund_after_points_were_spent_records_shortfall(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R9", member_id=member_id, amount_fen=100_000
    )  # 100 points
    await redeem_reward(ctx, member_id, "coupon10")  # spends all 100

    refund = await refunds.refund_sale(ctx, store="main", receipt_no="R9")

    assert (refund.points_reversed, refund.shortfall, refund.balance) == (0, 100, 0)
    shortfalls = await refunds.list_shortfalls(ctx)
    assert [(s.member_id, s.receipt_no, s.points) for s in shortfalls] == [(member_id, "R9", 100)]
    with pytest.raises(RefundTooLarge):
        await refunds.refund_sale(ctx, store="main", receipt_no="R9")


async def test_partial_refunds_take_back_points_in_proportion(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await loyalty.record_sale(
        ctx, store="main", receipt_no="P1", member_id=member_id, amount_fen=100_000
    )
    first = await refunds.refund_sale(ctx, store="main", receipt_no="P1", amount_fen=30_000)
    assert (first.points_reversed, first.balance) == (30, 70)
    with pytest.raises(RefundTooLarge):
        await refunds.refund_sale(ctx, store="main", receipt_no="P1", amount_fen=80_000)
    rest = await refunds.refund_sale(ctx, store="main", receipt_no="P1")
    assert (rest.amount_fen, rest.points_reversed, rest.balance) == (70_000, 70, 0)
    assert (await statement.points_summary(ctx, member_id)).window_spend_fen == 0


def test_coupon_codes_use_every_letter_in_every_place() -> None:
    """One number drawn per code and written in the alphabet's digits: no place may be
    stuck on a few letters (e.g. leading "A"s from small numbers)."""
    codes = [new_coupon_code() for _ in range(3000)]
    assert all(len(c) == COUPON_CODE_LENGTH for c in codes)
    assert len(set(codes)) == len(codes)
    for place in range(COUPON_CODE_LENGTH):
        assert {c[place] for c in codes} == set(COUPON_ALPHABET)


async def test_coupon_is_used_once_also_concurrently(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await give_points(ctx, member_id, 200)
    coupon = await redeem_reward(ctx, member_id, "coupon10")
    assert len(coupon.code) == COUPON_CODE_LENGTH
    assert set(coupon.code) <= set(COUPON_ALPHABET)

    typed = coupon.code.lower()[:5] + "-" + coupon.code.lower()[5:]
    results = await asyncio.gather(
        *(use_coupon(ctx, typed, store="main") for _ in range(10)),
        return_exceptions=True,
    )
    used = [r for r in results if isinstance(r, CouponView)]
    assert len(used) == 1 and used[0].value_fen == 1_000
    assert all(isinstance(r, CouponUsed) for r in results if r not in used)
    with pytest.raises(CouponUsed) as why:
        await use_coupon(ctx, coupon.code)
    assert why.value.params["store"] == "main"
    assert await count(ctx, AuditRow, AuditRow.action == "coupon.used") == 1

    other = await redeem_reward(ctx, member_id, "coupon10")
    clock.advance(timedelta(days=31))
    with pytest.raises(CouponExpired):
        await use_coupon(ctx, other.code)
    with pytest.raises(UnknownCoupon):
        await use_coupon(ctx, "NOSUCHCODE")


async def test_adjustment_cannot_overdraw_and_is_audited(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    assert await adjustments.adjust_points(ctx, member_id, 40, "goodwill", actor="staff:1") == 40
    with pytest.raises(NotEnoughPoints):
        await adjustments.adjust_points(ctx, member_id, -41, "typo", actor="staff:1")
    assert await count(ctx, AuditRow, AuditRow.action == "points.adjusted") == 1


async def _tier(ctx: Context, member_id: int, tier: str) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(update(MemberRow).where(MemberRow.id == member_id).values(tier=tier))


async def test_a_refunded_sale_keeps_the_points_its_net_amount_earns(ctx: Context) -> None:
    """¥238 earned 20; ¥100 back leaves ¥138, which earns 10: 10 go back, not 8."""
    member_id = await member(ctx, name="王小明", phone="13800000001")
    sale = dict(store="main", receipt_no="R238")
    await loyalty.record_sale(ctx, **sale, member_id=member_id, amount_fen=23_800)

    first = await refunds.refund_sale(ctx, **sale, amount_fen=10_000)
    assert (first.points_reversed, first.balance) == (10, 10)
    second = await refunds.refund_sale(ctx, **sale, amount_fen=3_800)  # ¥100 left: still 10
    assert (second.points_reversed, second.balance) == (0, 10)
    last = await refunds.refund_sale(ctx, **sale)
    assert (last.amount_fen, last.points_reversed, last.balance) == (10_000, 10, 0)
    async with ctx.db.read() as s:
        kept = await s.scalar(select(SaleRow.points_earned - SaleRow.points_reversed))
    assert kept == 0


async def test_a_refund_keeps_the_multiplier_the_sale_was_made_at(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await _tier(ctx, member_id, "gold")  # 1.2×: ¥238 earns 24
    sale = await loyalty.record_sale(
        ctx, store="main", receipt_no="G1", member_id=member_id, amount_fen=23_800
    )
    assert sale.points == 24
    await _tier(ctx, member_id, "member")  # moved down since: the sale's rule still holds

    refund = await refunds.refund_sale(ctx, store="main", receipt_no="G1", amount_fen=10_000)

    assert (refund.points_reversed, refund.balance) == (12, 12)  # ¥138 at 1.2× earns 12
