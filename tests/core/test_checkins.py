"""Daily check-in: once per shop day (Shanghai's day, not UTC's), also when two arrive at
once; the streak, its bonus on day 7 and its reset after a missed day; the monthly cap;
points that are their own lots, expire like any others and never lift a tier."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import select

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.engagement import checkins
from core.engagement.checkins import award, days_to_bonus
from core.errors import InvalidInput
from core.insights import stats
from core.ledger import statement
from core.ledger.points import expire_points
from core.people.registration import register_member
from core.shop import CheckinRules
from storage.models import CheckinRow, LedgerRow
from tests.factories import balance, member, shop_time

RULES = CheckinRules(points=2, streak_days=7, streak_bonus=10, monthly_cap=60)


def with_rules(ctx: Context, **rules: object) -> Context:
    shop = ctx.shop.model_copy(update={"checkin": RULES.model_copy(update=rules)})
    return replace(ctx, shop=shop)


async def days_in_a_row(
    ctx: Context, clock: FixedClock, who: int, first: int, days: int
) -> list[checkins.CheckIn]:
    done = []
    for day in range(first, first + days):
        clock.set(shop_time(day, 12))
        done.append(await checkins.check_in(ctx, who))
    return done


# --- pure rules ---------------------------------------------------------------------------


def test_the_seventh_day_brings_the_bonus_and_the_cap_cuts_what_is_left() -> None:
    assert award(RULES, 6, 0) == checkins.Award(2, 0, capped=False)
    assert award(RULES, 7, 0) == checkins.Award(12, 10, capped=False)
    assert award(RULES, 14, 0).bonus == 10
    assert award(RULES, 7, 55) == checkins.Award(5, 0, capped=True)
    assert award(RULES, 3, 60) == checkins.Award(0, 0, capped=True)
    assert award(RULES.model_copy(update={"monthly_cap": 0}), 7, 10_000).points == 12
    assert award(RULES.model_copy(update={"streak_days": 0}), 7, 0).bonus == 0
    assert (days_to_bonus(RULES, 1), days_to_bonus(RULES, 6), days_to_bonus(RULES, 7)) == (6, 1, 7)
    assert days_to_bonus(RULES.model_copy(update={"streak_bonus": 0}), 3) is None


# --- once a shop day ----------------------------------------------------------------------


async def test_twice_on_one_shop_day_gives_points_once(ctx: Context, clock: FixedClock) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")
    first = await checkins.check_in(ctx, who)
    clock.advance(timedelta(hours=3))
    again = await checkins.check_in(ctx, who)

    assert (first.already, first.points, first.streak, first.balance) == (False, 2, 1, 2)
    assert (again.already, again.points, again.streak, again.balance) == (True, 0, 1, 2)
    assert await balance(ctx, who) == 2


async def test_across_midnight_utc_it_is_still_the_same_day_in_shanghai(
    ctx: Context, clock: FixedClock
) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")
    clock.set(shop_time(6, 7, 30))  # 23:30 UTC on the 5th
    assert clock.now().astimezone(UTC).day == 5
    first = await checkins.check_in(ctx, who)
    clock.set(shop_time(6, 8, 30))  # 00:30 UTC on the 6th: UTC's day changed, Shanghai's did not
    assert clock.now().astimezone(UTC).day == 6
    again = await checkins.check_in(ctx, who)
    clock.set(shop_time(7, 0, 5))  # just after midnight in Shanghai: a new day
    next_day = await checkins.check_in(ctx, who)

    assert (first.day.isoformat(), first.already) == ("2026-01-06", False)
    assert (again.day.isoformat(), again.already, again.points) == ("2026-01-06", True, 0)
    assert (next_day.day.isoformat(), next_day.streak, next_day.points) == ("2026-01-07", 2, 2)
    assert await balance(ctx, who) == 4


async def test_concurrent_check_ins_on_one_day_give_points_once(ctx: Context) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")

    results = await asyncio.gather(*(checkins.check_in(ctx, who) for _ in range(10)))

    assert sum(not r.already for r in results) == 1
    assert await balance(ctx, who) == 2
    async with ctx.db.read() as s:
        rows = list(await s.scalars(select(CheckinRow)))
        lots = list(await s.scalars(select(LedgerRow).where(LedgerRow.kind == checkins.KIND)))
    assert len(rows) == 1 and len(lots) == 1


# --- streaks ------------------------------------------------------------------------------


async def test_day_seven_of_a_streak_gives_the_bonus(ctx: Context, clock: FixedClock) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")

    done = await days_in_a_row(ctx, clock, who, 5, 8)

    assert [d.streak for d in done] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [d.points for d in done] == [2, 2, 2, 2, 2, 2, 12, 2]
    assert [d.bonus for d in done] == [0, 0, 0, 0, 0, 0, 10, 0]
    assert [d.next_bonus_in for d in done][5:] == [1, 7, 6]
    assert await balance(ctx, who) == 2 * 8 + 10


async def test_a_missed_day_resets_the_streak(ctx: Context, clock: FixedClock) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")
    await days_in_a_row(ctx, clock, who, 5, 6)  # 5th to 10th: six days

    after_gap = await days_in_a_row(ctx, clock, who, 12, 7)  # the 11th missed

    assert [d.streak for d in after_gap] == [1, 2, 3, 4, 5, 6, 7]
    assert after_gap[-1].bonus == 10  # day 7 of the new streak, not the 13th in all
    assert sum(d.bonus for d in after_gap[:-1]) == 0


async def test_the_monthly_cap_stops_points_not_the_streak(ctx: Context, clock: FixedClock) -> None:
    ctx = with_rules(ctx, points=5, streak_bonus=0, monthly_cap=12)
    who = await member(ctx, name="签到会员", phone="13600000001")

    january = await days_in_a_row(ctx, clock, who, 29, 3)  # 29th, 30th, 31st
    clock.set(shop_time(1, 12, month=2))
    february = await checkins.check_in(ctx, who)

    assert [(d.points, d.capped, d.streak) for d in january] == [
        (5, False, 1),
        (5, False, 2),
        (2, True, 3),
    ]
    assert (february.points, february.capped, february.streak) == (5, False, 4)
    clock.set(shop_time(5, 12, month=2))
    assert (await checkins.check_in(ctx, who)).streak == 1


async def test_check_in_can_be_switched_off(ctx: Context) -> None:
    ctx = with_rules(ctx, enabled=False)
    who = await member(ctx, name="签到会员", phone="13600000001")
    with pytest.raises(InvalidInput):
        await checkins.check_in(ctx, who)


# --- the points ---------------------------------------------------------------------------


async def test_check_in_points_are_own_lots_that_expire_and_never_lift_a_tier(
    ctx: Context, clock: FixedClock
) -> None:
    ctx = with_rules(ctx, points=500, monthly_cap=0)
    who = await member(ctx, name="签到会员", phone="13600000001")
    await days_in_a_row(ctx, clock, who, 5, 3)

    summary = await statement.points_summary(ctx, who)
    assert (summary.balance, summary.tier, summary.window_spend_fen) == (1500, "member", 0)
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-1", member_id=who, amount_fen=100, notify=False
    )
    assert (await statement.points_summary(ctx, who)).tier == "member"
    async with ctx.db.read() as s:
        lot = await s.scalar(select(LedgerRow).where(LedgerRow.kind == checkins.KIND))
    assert lot is not None and lot.expires_at == shop_time(5, 12).replace(year=2027)
    assert lot.detail == {
        "day": "2026-01-05",
        "streak": 1,
        "points": 500,
        "bonus": 0,
        "capped": False,
    }

    clock.set(shop_time(6, 12).replace(year=2027))  # the first two lots are a year old
    report = await expire_points(ctx)
    assert report.points == 1000
    assert await balance(ctx, who) == 500


async def test_check_ins_count_as_points_issued_and_have_their_own_figures(
    ctx: Context, clock: FixedClock
) -> None:
    ctx = with_rules(ctx)
    who = await member(ctx, name="签到会员", phone="13600000001")
    other = (
        await register_member(ctx, name="别家", phone="13600000002", home_store="riverside")
    ).id
    await days_in_a_row(ctx, clock, who, 5, 7)
    clock.set(shop_time(11, 13))
    await checkins.check_in(ctx, other)

    figures = await checkins.checkin_stats(
        ctx, store=None, start=date(2026, 1, 1), end=date(2026, 1, 31)
    )
    assert figures == checkins.CheckinStats(checkins=8, members=2, points=2 * 8 + 10)
    at_home = await checkins.checkin_stats(
        ctx, store="riverside", start=date(2026, 1, 11), end=date(2026, 1, 11)
    )
    assert at_home == checkins.CheckinStats(checkins=1, members=1, points=2)
    report = await stats.shop_stats(ctx, store=None, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert report.points_issued == 2 * 8 + 10
