"""Win-back: dormant members once per silent spell, lost members one last try ever, nobody
twice in 30 days, never who declined; and who came back within N days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from core import audit
from core.clock import FixedClock
from core.context import Context
from core.errors import InvalidInput
from core.people.erasure import delete_member
from core.pushes.winback import KIND, win_back, winback_results
from storage.models import CouponRow, OutboxRow
from tests.conftest import ZONE
from tests.core.pushes import block, coupons_of, queued
from tests.factories import count, reachable, sale

WEEK = timedelta(days=7)


async def silent(ctx: Context, clock: FixedClock, days: int, **kw: object) -> int:
    """A member whose only purchase was ``days`` days ago."""
    member_id = await reachable(ctx, **kw)  # type: ignore[arg-type]
    await sale(ctx, member_id, days_ago=days)
    return member_id


def day_ago(clock: FixedClock, days: int) -> str:
    return (clock.now().astimezone(ZONE).date() - timedelta(days=days)).isoformat()


async def test_dormant_members_get_one_message_with_a_coupon(
    ctx: Context, clock: FixedClock
) -> None:
    dormant = await silent(ctx, clock, 200)
    at_risk = await silent(ctx, clock, 100)  # not dormant yet
    await silent(ctx, clock, 10)  # new
    await reachable(ctx)  # never bought

    assert await win_back(ctx) == 1
    ((member_id, key, params),) = await queued(ctx, KIND)
    (coupon,) = await coupons_of(ctx, dormant)
    assert (member_id, key) == (dormant, f"winback:dormant:{dormant}:{day_ago(clock, 200)}")
    assert params == {
        "stage": "dormant",
        "days_silent": 200,
        "coupon_code": coupon.code,
        "reward": "coupon10",
        "value_fen": 1_000,
        "valid_until": "2026-02-04",
    }

    # Every later week of the same silence: nothing more, and no second coupon — while
    # the member at risk turns dormant after 80 more days and gets their own message.
    for _ in range(20):
        clock.advance(WEEK)
        await win_back(ctx)
    assert [m for m, _, _ in await queued(ctx, KIND)] == [dormant, at_risk]
    assert len(await coupons_of(ctx, dormant)) == 1
    assert await count(ctx, CouponRow) == 2


async def test_a_member_who_came_back_and_went_quiet_again_is_won_back_again(
    ctx: Context, clock: FixedClock
) -> None:
    again = await silent(ctx, clock, 200)
    assert await win_back(ctx) == 1
    clock.advance(timedelta(days=10))
    await sale(ctx, again)  # came back
    clock.advance(timedelta(days=181))
    assert await win_back(ctx) == 1
    keys = [key for _, key, _ in await queued(ctx, KIND)]
    assert keys == [
        f"winback:dormant:{again}:2025-06-19",
        f"winback:dormant:{again}:2026-01-15",
    ]


async def test_lost_members_get_one_last_try_ever(ctx: Context, clock: FixedClock) -> None:
    lost = await silent(ctx, clock, 400)
    assert await win_back(ctx) == 1
    ((_, key, params),) = await queued(ctx, KIND)
    assert key == f"winback:lost:{lost}"
    assert (params["stage"], params["days_silent"]) == ("lost", 400)
    assert params["coupon_code"] == (await coupons_of(ctx, lost))[0].code

    # Weeks, months, years later: never again.
    for weeks in (1, 5, 9, 52, 150):
        clock.set(datetime(2026, 1, 5, 10, tzinfo=ZONE) + weeks * WEEK)
        assert await win_back(ctx) == 0
    assert len(await queued(ctx, KIND)) == 1
    assert len(await coupons_of(ctx, lost)) == 1


async def test_nobody_gets_two_winbacks_within_30_days(ctx: Context, clock: FixedClock) -> None:
    # Dormant now (350 days silent), lost two weeks later.
    turning = await silent(ctx, clock, 350)
    assert await win_back(ctx) == 1
    clock.advance(2 * WEEK)  # 364 days: still dormant, the same spell
    assert await win_back(ctx) == 0
    clock.advance(WEEK)  # 371 days: lost, but the last message is only 21 days old
    assert await win_back(ctx) == 0
    clock.advance(WEEK)  # 28 days
    assert await win_back(ctx) == 0
    clock.advance(WEEK)  # 35 days: the last try
    assert await win_back(ctx) == 1
    rows = await queued(ctx, KIND)
    assert [(params["stage"], params["days_silent"]) for _, _, params in rows] == [
        ("dormant", 350),
        ("lost", 385),
    ]
    assert [m for m, _, _ in rows] == [turning, turning]


async def test_no_winback_and_no_coupon_for_who_declined_left_or_blocked(
    ctx: Context, clock: FixedClock
) -> None:
    declined = await silent(ctx, clock, 200, consent=False)
    declined_lost = await silent(ctx, clock, 400, consent=False)
    gone = await silent(ctx, clock, 200)
    await delete_member(ctx, gone, actor=audit.member_actor(gone))
    blocked = await silent(ctx, clock, 200)
    await block(ctx, blocked)
    unreached = await silent(ctx, clock, 400, chat=False)

    assert await win_back(ctx) == 0
    assert await queued(ctx, KIND) == []
    for member_id in (declined, declined_lost, gone, blocked, unreached):
        assert await coupons_of(ctx, member_id) == []


async def test_results_count_who_bought_within_the_days_after_their_message(
    ctx: Context, clock: FixedClock
) -> None:
    back = await silent(ctx, clock, 200)
    late = await silent(ctx, clock, 250)
    await silent(ctx, clock, 400)  # lost: the last try, never bought again
    assert await win_back(ctx) == 3
    sent_day = clock.now().astimezone(ZONE).date()
    async with ctx.db.transaction() as s:  # the dispatcher sent one of them
        await s.execute(
            update(OutboxRow).where(OutboxRow.member_id == back).values(sent_at=clock.now())
        )

    clock.advance(timedelta(days=10))
    await sale(ctx, back, yuan=150)
    await sale(ctx, back, yuan=50)
    clock.advance(timedelta(days=25))  # 35 days after the message: too late to count
    await sale(ctx, late, yuan=999)
    await sale(ctx, back, yuan=70)

    results = await winback_results(ctx, sent_day, sent_day)
    assert (results.sent, results.delivered) == (3, 1)
    assert (results.came_back, results.sales_fen, results.within_days) == (1, 20_000, 30)

    # Other days, another store: none of them.
    empty = await winback_results(ctx, sent_day + timedelta(days=1), sent_day + timedelta(days=9))
    assert (empty.sent, empty.came_back, empty.sales_fen) == (0, 0, 0)
    riverside = await winback_results(ctx, sent_day, sent_day, store="riverside")
    assert riverside.sent == 0
    assert (await winback_results(ctx, sent_day, sent_day, store="main")).came_back == 1
    with pytest.raises(InvalidInput):
        await winback_results(ctx, sent_day, date(2025, 1, 1))
