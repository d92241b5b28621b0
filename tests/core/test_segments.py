"""Segments: RFM quintiles and lifecycle stages with known answers, and member filters."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from core.clock import FixedClock
from core.context import Context
from core.errors import InvalidInput, UnknownStore
from core.insights.segments import (
    PurchaseFigures,
    Segment,
    Stage,
    count_members,
    lifecycle_stage,
    member_segments,
    quintile_scores,
    rfm_scores,
    select_members,
)
from core.ledger import adjustments, refunds
from core.ledger.coupons import redeem_reward, use_coupon
from core.people.members import update_member
from core.shop_file import load_shop
from tests.factories import member, sale

RULES = load_shop().segments  # new 30, active 90, dormant 180, lost 365, loyal 4
TODAY = date(2026, 1, 5)


# --- pure rules ---------------------------------------------------------------------------


def test_quintiles_split_ten_values_two_by_two() -> None:
    values = {key: key * 10 for key in range(1, 11)}
    assert quintile_scores(values) == {
        1: 1,
        2: 1,
        3: 2,
        4: 2,
        5: 3,
        6: 3,
        7: 4,
        8: 4,
        9: 5,
        10: 5,
    }
    # Fewer days since the last purchase is better: the order turns round.
    reverse = quintile_scores(values, higher_is_better=False)
    assert reverse == {key: 6 - score for key, score in quintile_scores(values).items()}


def test_equal_values_share_a_score_whatever_the_order() -> None:
    values = {"a": 5, "b": 5, "c": 1, "d": 1, "e": 9}
    # rank = how many are strictly lower: c, d → 0; a, b → 2; e → 4
    assert quintile_scores(values) == {"a": 3, "b": 3, "c": 1, "d": 1, "e": 5}
    reordered = dict(reversed(list(values.items())))
    assert quintile_scores(reordered) == quintile_scores(values)
    assert quintile_scores({"x": 7, "y": 7, "z": 7}) == {"x": 1, "y": 1, "z": 1}
    assert quintile_scores({"only": 3}) == {"only": 1}
    assert quintile_scores({}) == {}


def test_rfm_of_a_small_known_shop() -> None:
    def fig(last_days_ago: int, frequency: int, yuan: int) -> PurchaseFigures:
        last = TODAY - timedelta(days=last_days_ago)
        return PurchaseFigures(last - timedelta(days=30), last, frequency, yuan * 100)

    figures = {
        1: fig(2, 20, 5_000),
        2: fig(10, 12, 3_000),
        3: fig(40, 6, 800),
        4: fig(100, 3, 300),
        5: fig(300, 1, 50),
    }
    scores = rfm_scores(figures, TODAY)
    assert {k: s.code for k, s in scores.items()} == {
        1: "555",
        2: "444",
        3: "333",
        4: "222",
        5: "111",
    }
    assert (scores[3].recency_days, scores[3].frequency, scores[3].monetary_fen) == (40, 6, 80_000)


@pytest.mark.parametrize(
    ("first_ago", "last_ago", "f", "m", "stage"),
    [
        (None, None, 0, 0, Stage.POTENTIAL),
        (10, 10, 1, 1, Stage.NEW),
        (30, 2, 5, 5, Stage.NEW),  # new_days = 30: still new on day 30
        (31, 31, 1, 1, Stage.ACTIVE),
        (400, 90, 3, 3, Stage.ACTIVE),  # active_days = 90: bought within it
        (400, 91, 3, 3, Stage.AT_RISK),
        (400, 179, 5, 5, Stage.AT_RISK),
        (400, 180, 5, 5, Stage.DORMANT),  # 暂时性沉寂
        (400, 200, 1, 1, Stage.DORMANT),
        (500, 364, 1, 1, Stage.DORMANT),
        (500, 365, 1, 1, Stage.LOST),  # 永久性沉寂
        (500, 400, 5, 5, Stage.LOST),
        (400, 5, 4, 4, Stage.LOYAL),
        (400, 5, 4, 3, Stage.ACTIVE),
        (400, 5, 3, 5, Stage.ACTIVE),
    ],
)
def test_lifecycle_stage(
    first_ago: int | None, last_ago: int | None, f: int, m: int, stage: Stage
) -> None:
    def ago(days: int | None) -> date | None:
        return None if days is None else TODAY - timedelta(days=days)

    found = lifecycle_stage(
        RULES,
        today=TODAY,
        first_purchase=ago(first_ago),
        last_purchase=ago(last_ago),
        f_score=f,
        m_score=m,
    )
    assert found == stage


# --- member segments from the database ----------------------------------------------------


async def test_stages_and_scores_of_known_members(ctx: Context, clock: FixedClock) -> None:
    clock.set(clock.now() - timedelta(days=800))
    potential = await member(ctx, phone="13800000001")
    dormant = await member(ctx, phone="13800000002")
    lost = await member(ctx, phone="13800000003")
    new = await member(ctx, phone="13800000004")
    loyal = await member(ctx, phone="13800000005")
    at_risk = await member(ctx, phone="13800000006")
    refunded = await member(ctx, phone="13800000007")
    clock.set(clock.now() + timedelta(days=800))

    await sale(ctx, dormant, days_ago=300)
    await sale(ctx, dormant, days_ago=200)
    await sale(ctx, lost, days_ago=400)
    await sale(ctx, new, days_ago=10)
    for days in (300, 200, 100, 50, 20, 5):
        await sale(ctx, loyal, days_ago=days, yuan=800)
    await sale(ctx, at_risk, days_ago=120, yuan=300)
    await sale(ctx, at_risk, days_ago=400, yuan=300)
    # A sale refunded in full is no purchase: this member never bought.
    receipt = (await sale(ctx, refunded, days_ago=3)).receipt_no
    await refunds.refund_sale(ctx, store="main", receipt_no=receipt, notify=False)

    segments = {s.member_id: s for s in await member_segments(ctx)}

    assert [s.member_id for s in segments.values()] == sorted(segments)
    assert {member_id: s.stage for member_id, s in segments.items()} == {
        potential: Stage.POTENTIAL,
        dormant: Stage.DORMANT,
        lost: Stage.LOST,
        new: Stage.NEW,
        loyal: Stage.LOYAL,
        at_risk: Stage.AT_RISK,
        refunded: Stage.POTENTIAL,
    }
    assert segments[potential].rfm is None
    assert segments[refunded].rfm is None
    assert segments[new].first_purchase == date(2025, 12, 26)
    assert segments[dormant].last_purchase == date(2025, 6, 19)

    # Five buyers, scored against each other. Recency (days): loyal 5, new 10, at_risk 120,
    # dormant 200, lost 400. Frequency and money count the last 12 months only, so the
    # 400-day-old sales of at_risk and lost do not count.
    rfm = {member_id: s.rfm for member_id, s in segments.items() if s.rfm}
    assert {k: (v.recency_days, v.frequency, v.monetary_fen) for k, v in rfm.items()} == {
        loyal: (5, 6, 480_000),
        new: (10, 1, 10_000),
        at_risk: (120, 1, 30_000),
        dormant: (200, 2, 20_000),
        lost: (400, 0, 0),
    }
    assert {k: v.code for k, v in rfm.items()} == {
        loyal: "555",
        new: "422",  # F: tied with at_risk on 1 purchase (rank 1 → 2)
        at_risk: "324",
        dormant: "243",
        lost: "111",
    }
    assert segments[at_risk].tier == "member" and segments[loyal].tier == "silver"
    assert segments[loyal].home_store is None


async def test_the_shop_day_decides_recency(ctx: Context, clock: FixedClock) -> None:
    """A purchase at 00:30 Shanghai time is on that local day, though UTC still says the
    day before: 180 local days ago is dormant, 179 is not."""
    buyer = await member(ctx, phone="13800000001")
    other = await member(ctx, phone="13800000002")
    today_0030 = datetime(2026, 1, 5, 0, 30, tzinfo=ctx.zone)
    await sale(ctx, buyer, days_ago=(clock.now() - today_0030).days + 180 + 9.5 / 24)
    await sale(ctx, other, days_ago=(clock.now() - today_0030).days + 179 + 9.5 / 24)
    segments = {s.member_id: s for s in await member_segments(ctx)}
    assert segments[buyer].last_purchase == date(2025, 7, 9)
    assert segments[buyer].stage == Stage.DORMANT
    assert segments[other].stage == Stage.AT_RISK


# --- filters ------------------------------------------------------------------------------


async def test_segment_filters(ctx: Context, clock: FixedClock) -> None:
    clock.set(clock.now() - timedelta(days=500))
    a = await member(
        ctx,
        phone="13800000001",
        birthday="1990-03-15",
        tags=["VIP", "学生"],
        marketing_consent=True,
        home_store="main",
    )
    b = await member(ctx, phone="13800000002", birthday="1985-03-01", home_store="riverside")
    c = await member(
        ctx, phone="13800000003", birthday="1992-11-30", tags=["团购"], home_store="main"
    )
    d = await member(ctx, phone="13800000004", marketing_consent=True)
    clock.set(clock.now() + timedelta(days=500))

    await sale(ctx, a, days_ago=5, yuan=1_200)  # silver at once; new
    await sale(ctx, b, days_ago=200)  # dormant
    await sale(ctx, c, days_ago=400)  # lost
    await adjustments.adjust_points(ctx, c, 900, "goodwill", actor="staff:1")
    await redeem_reward(ctx, c, "coupon100")  # valid 60 days
    await adjustments.adjust_points(ctx, d, 200, "goodwill", actor="staff:1")
    used = await redeem_reward(ctx, d, "coupon10")
    await use_coupon(ctx, used.code)
    held = await redeem_reward(ctx, d, "coupon10")  # valid 30 days
    assert held.expires_at < clock.now() + timedelta(days=31)

    async def ids(**criteria: object) -> list[int]:
        segment = Segment(**criteria)  # type: ignore[arg-type]
        found = await select_members(ctx, segment)
        assert await count_members(ctx, segment) == len(found)
        return found

    assert await ids() == [a, b, c, d]
    assert await ids(tiers={"silver"}) == [a]
    assert await ids(tiers=["member"]) == [b, c, d]
    assert await ids(store="main") == [a, c]
    assert await ids(tags={"VIP"}) == [a]
    assert await ids(tags={"团购", "学生"}) == [a, c]  # any of them
    assert await ids(birthday_month=3) == [a, b]
    assert await ids(birthday_month=11, store="main") == [c]
    assert await ids(marketing_consent_only=True) == [a, d]
    assert await ids(has_unused_coupon=True) == [c, d]
    assert await ids(has_unused_coupon=False) == [a, b]
    assert await ids(stages={Stage.DORMANT, Stage.LOST}) == [b, c]
    assert await ids(stages=["potential"]) == [d]
    assert await ids(stages={Stage.LOST}, has_unused_coupon=True, store="main") == [c]
    assert await ids(stages={Stage.LOST}, marketing_consent_only=True) == []

    # The coupon d still holds expires: it no longer counts as unused.
    clock.advance(timedelta(days=31))
    assert await ids(has_unused_coupon=True) == [c]

    with pytest.raises(InvalidInput) as bad_month:
        Segment(birthday_month=13)
    assert bad_month.value.params["field"] == "birthday_month"
    with pytest.raises(InvalidInput):
        Segment(stages={"sleeping"})  # type: ignore[arg-type]
    with pytest.raises(UnknownStore):
        await select_members(ctx, Segment(store="nowhere"))


async def test_segments_follow_profile_changes(ctx: Context) -> None:
    a = await member(ctx, phone="13800000001")
    assert await select_members(ctx, Segment(tags={"VIP"})) == []
    await update_member(ctx, a, actor="staff:1", tags=["VIP"], marketing_consent=True)
    assert await select_members(ctx, Segment(tags={"VIP"}, marketing_consent_only=True)) == [a]
