"""Service reminders: bookings the day before and hours before, points 30 and 7 days before
they expire, unused coupons 3 days before — each once, also to members who declined
marketing, never to who left or cannot be reached."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core import audit
from core.clock import FixedClock
from core.context import Context
from core.ledger import adjustments, statement
from core.ledger.coupons import redeem_reward, use_coupon
from core.people.erasure import delete_member
from core.pushes.reminders import (
    BOOKING,
    COUPON,
    POINTS,
    remind_bookings,
    remind_expiring_coupons,
    remind_expiring_points,
)
from core.service import bookings
from tests.core.pushes import block, queued
from tests.factories import reachable, shop_time

# --- bookings -----------------------------------------------------------------------------


async def reminders_at(ctx: Context, clock: FixedClock, moment: datetime) -> list[str]:
    """Run the job at ``moment``; the dedup keys it queued."""
    before = {key for _, key, _ in await queued(ctx, BOOKING)}
    clock.set(moment)
    await remind_bookings(ctx)
    return [key for _, key, _ in await queued(ctx, BOOKING) if key not in before]


async def test_booking_reminded_the_day_before_and_hours_before_once_each(
    ctx: Context, clock: FixedClock
) -> None:
    # Booked on Monday for Wednesday 15:00; reminders at Tuesday 10:00 and Wednesday 13:00.
    who = await reachable(ctx, consent=False)  # a service message: consent does not matter
    visit = shop_time(7, 15)
    booking = await bookings.book(ctx, who, "main", visit, party_size=3)

    assert await reminders_at(ctx, clock, shop_time(6, 9, 50)) == []
    assert await reminders_at(ctx, clock, shop_time(6, 10, 0)) == [
        f"booking:{booking.id}:day_before"
    ]
    assert await reminders_at(ctx, clock, shop_time(6, 10, 10)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 12, 50)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 13, 0)) == [
        f"booking:{booking.id}:hours_before"
    ]
    assert await reminders_at(ctx, clock, shop_time(7, 13, 10)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 15, 0)) == []

    rows = await queued(ctx, BOOKING)
    assert [(m, params) for m, _, params in rows] == [
        (
            who,
            {
                "booking_id": booking.id,
                "store": "main",
                "starts_at": "2026-01-07T07:00:00+00:00",
                "party_size": 3,
                "when": when,
            },
        )
        for when in ("day_before", "hours_before")
    ]
    assert visit.astimezone(UTC).isoformat() == rows[0][2]["starts_at"]


async def test_booking_made_after_a_reminder_moment_skips_that_reminder(
    ctx: Context, clock: FixedClock
) -> None:
    who = await reachable(ctx)
    # Booked on Tuesday evening for Wednesday 18:00: past Tuesday 10:00 already.
    clock.set(shop_time(6, 20, 0))
    evening = await bookings.book(ctx, who, "main", shop_time(7, 18))
    # Booked on Wednesday 14:00 for 15:30: already inside the two hours.
    clock.set(shop_time(7, 14, 0))
    soon = await bookings.book(ctx, who, "main", shop_time(7, 15, 30))

    assert await reminders_at(ctx, clock, shop_time(6, 20, 10)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 14, 10)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 15, 20)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 16, 0)) == [
        f"booking:{evening.id}:hours_before"
    ]
    assert f"booking:{soon.id}:hours_before" not in {k for _, k, _ in await queued(ctx, BOOKING)}


async def test_after_a_pause_one_reminder_not_two(ctx: Context, clock: FixedClock) -> None:
    who = await reachable(ctx)
    booking = await bookings.book(ctx, who, "main", shop_time(7, 11))
    # The scheduler was down from Tuesday morning until Wednesday 9:30, 90 minutes before.
    assert await reminders_at(ctx, clock, shop_time(7, 9, 30)) == [
        f"booking:{booking.id}:hours_before"
    ]


async def test_no_day_before_reminder_on_the_day_itself(ctx: Context, clock: FixedClock) -> None:
    """The scheduler was down from Tuesday 9:00 to Wednesday 8:00: the day-before reminder
    of a visit on Wednesday at 18:00 would say "tomorrow" on Wednesday, so none goes; the
    hours-before one still does."""
    who = await reachable(ctx)
    booking = await bookings.book(ctx, who, "main", shop_time(7, 18))
    assert await reminders_at(ctx, clock, shop_time(7, 8, 0)) == []
    assert await reminders_at(ctx, clock, shop_time(7, 16, 0)) == [
        f"booking:{booking.id}:hours_before"
    ]


async def test_no_booking_reminder_when_cancelled_left_or_blocked(
    ctx: Context, clock: FixedClock
) -> None:
    cancelled = await reachable(ctx)
    gone = await reachable(ctx)
    blocked = await reachable(ctx)
    kept = await reachable(ctx)
    ids = {}
    for who in (cancelled, gone, blocked, kept):
        ids[who] = (await bookings.book(ctx, who, "main", shop_time(7, 15))).id
    await bookings.cancel(ctx, cancelled, ids[cancelled])
    await delete_member(ctx, gone, actor=audit.member_actor(gone))
    await block(ctx, blocked)

    assert await reminders_at(ctx, clock, shop_time(6, 10)) == [f"booking:{ids[kept]}:day_before"]


# --- points -------------------------------------------------------------------------------


async def grant(ctx: Context, clock: FixedClock, member_id: int, points: int, when: datetime):
    """Points added at ``when``: they expire 12 months later (the clock put back after)."""
    now = clock.now()
    clock.set(when)
    await adjustments.adjust_points(ctx, member_id, points, "test", actor="staff:1")
    clock.set(now)


async def test_points_expiry_warned_30_and_7_days_before_with_the_right_figures(
    ctx: Context, clock: FixedClock
) -> None:
    # Today is 5 January 2026: the 7-day warning is for 12 January, the 30-day one for 4 Feb.
    who = await reachable(ctx, consent=False)
    await grant(ctx, clock, who, 100, shop_time(12, 10, year=2025))  # expires 12 Jan 10:00
    await grant(ctx, clock, who, 50, shop_time(4, 9, month=2, year=2025))  # 4 Feb 09:00
    await grant(ctx, clock, who, 30, shop_time(4, 23, 30, month=2, year=2025))  # 4 Feb 23:30
    await grant(
        ctx, clock, who, 20, shop_time(5, 0, 30, month=2, year=2025)
    )  # 5 Feb (4 Feb in UTC)
    await grant(ctx, clock, who, 200, shop_time(1, 12, month=6, year=2025))  # June
    # 40 points spent: they come from the lot that expires first.
    await adjustments.adjust_points(ctx, who, -40, "test", actor="staff:1")
    other = await reachable(ctx)
    await grant(ctx, clock, other, 10, shop_time(12, 18, year=2025))
    gone = await reachable(ctx)
    await grant(ctx, clock, gone, 10, shop_time(12, 18, year=2025))
    await delete_member(ctx, gone, actor=audit.member_actor(gone))
    spent = await reachable(ctx)
    await grant(ctx, clock, spent, 10, shop_time(12, 18, year=2025))
    await adjustments.adjust_points(ctx, spent, -10, "test", actor="staff:1")

    assert await remind_expiring_points(ctx) == 3
    assert await remind_expiring_points(ctx) == 0
    rows = {key: (m, params) for m, key, params in await queued(ctx, POINTS)}
    balance = 60 + 50 + 30 + 20 + 200
    assert rows == {
        f"points_expiring:2026-02-04:30:{who}": (
            who,
            {"points": 80, "expires_on": "2026-02-04", "days": 30, "balance": balance},
        ),
        f"points_expiring:2026-01-12:7:{who}": (
            who,
            {"points": 60, "expires_on": "2026-01-12", "days": 7, "balance": balance},
        ),
        f"points_expiring:2026-01-12:7:{other}": (
            other,
            {"points": 10, "expires_on": "2026-01-12", "days": 7, "balance": 10},
        ),
    }
    assert (await statement.points_summary(ctx, who)).balance == balance

    # The next day: the 5 February points, 30 days ahead.
    clock.advance(timedelta(days=1))
    assert await remind_expiring_points(ctx) == 1
    (_, key, params) = (await queued(ctx, POINTS))[-1]
    assert key == f"points_expiring:2026-02-05:30:{who}"
    assert (params["points"], params["days"]) == (20, 30)


# --- coupons ------------------------------------------------------------------------------


async def coupon_issued(ctx: Context, clock: FixedClock, member_id: int, when: datetime) -> str:
    """A ¥10 coupon (valid 30 days) redeemed at ``when``; its code."""
    now = clock.now()
    clock.set(when)
    await adjustments.adjust_points(ctx, member_id, 100, "test", actor="staff:1")
    coupon = await redeem_reward(ctx, member_id, "coupon10")
    clock.set(now)
    return coupon.code


async def test_unused_coupons_reminded_3_days_before_they_expire(
    ctx: Context, clock: FixedClock
) -> None:
    who = await reachable(ctx, consent=False)
    # Redeemed on 9 December 2025: valid until 8 January 2026, 3 days from today.
    unused = await coupon_issued(ctx, clock, who, shop_time(9, 10, month=12, year=2025))
    used = await coupon_issued(ctx, clock, who, shop_time(9, 15, month=12, year=2025))
    await coupon_issued(ctx, clock, who, shop_time(10, 10, month=12, year=2025))  # 9 January
    await use_coupon(ctx, used, store="main")

    assert await remind_expiring_coupons(ctx) == 1
    assert await remind_expiring_coupons(ctx) == 0
    ((member_id, key, params),) = await queued(ctx, COUPON)
    assert member_id == who and key.startswith("coupon_expiring:")
    assert params == {
        "coupon_code": unused,
        "reward": "coupon10",
        "value_fen": 1_000,
        "expires_on": "2026-01-08",
    }

    # The shop turned coupon reminders off: nothing the next day.
    rules = ctx.shop.reminders.model_copy(update={"coupon_days_before": 0})
    off = replace(ctx, shop=ctx.shop.model_copy(update={"reminders": rules}))
    clock.advance(timedelta(days=1))
    assert await remind_expiring_coupons(off) == 0
    assert await remind_expiring_coupons(ctx) == 1
