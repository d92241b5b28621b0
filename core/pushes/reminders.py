"""Service reminders: a booked visit coming up, points and coupons about to expire.

These are service kinds (``core.pushes.outbox.SERVICE_KINDS``): they concern the member's own
bookings and account, so they go also to members who declined marketing — but never to a
member who deleted their data or cannot be reached on any chat app. Every reminder has its
own dedup key, so the jobs may run twice, late or after a restart.

Booking reminders (the job runs every few minutes; both are only sent before the visit):

- **the day before** at ``booking_day_before_at`` (shop time): due from that moment on.
  A booking made after that moment gets none — the member booked moments ago and has the
  confirmation — and neither does one whose hours-before reminder is already due (after
  a pause of the scheduler, one reminder, not two at once).
- **hours before**, ``booking_hours_before`` hours ahead of the visit: due from then on,
  except for a booking made inside those hours (again: just booked).

Points: for each ``points_days_before`` (e.g. 30 and 7), members whose points expire on
the shop day that many days ahead get the points expiring that day and their balance.
Coupons: unused coupons expiring on the shop day ``coupon_days_before`` ahead (0: none).

A reminder queued is checked again when it is sent (``still_ahead``): one that waited for
WeChat's reply window must not remind of a visit cancelled or begun meanwhile, nor say
"tomorrow" on the day itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, select

from core.context import Context
from core.engagement import shop_events
from core.insights.stats import local_midnight
from core.ledger.points import live_lot
from core.pushes.audience import reachable
from core.pushes.scheduled import Planned, queue
from storage.models import (
    BookingRow,
    CouponRow,
    EventRow,
    EventSignupRow,
    LedgerRow,
    MemberRow,
    RewardRow,
    StoreRow,
)

BOOKING = "booking_reminder"
POINTS = "points_expiring"
COUPON = "coupon_expiring"
DAY_BEFORE, HOURS_BEFORE = "day_before", "hours_before"


# --- bookings -----------------------------------------------------------------------------


def day_before_moment(ctx: Context, starts_at: datetime) -> datetime:
    """When the day-before reminder of a visit is due: the day before, at the shop file's
    time, in the shop's time zone."""
    visit_day = starts_at.astimezone(ctx.zone).date()
    at = ctx.shop.reminders.booking_day_before_at
    return datetime.combine(visit_day - timedelta(days=1), at, tzinfo=ctx.zone).astimezone(UTC)


def booking_reminder_due(
    ctx: Context, *, starts_at: datetime, created_at: datetime, now: datetime
) -> str | None:
    """Which reminder of a booking is due at ``now`` (DAY_BEFORE, HOURS_BEFORE or None)."""
    if now >= starts_at:
        return None
    hours_before = starts_at - timedelta(hours=ctx.shop.reminders.booking_hours_before)
    if now >= hours_before:
        return HOURS_BEFORE if created_at < hours_before else None
    day_before = day_before_moment(ctx, starts_at)
    if day_before <= now < _day_of(ctx, starts_at) and created_at < day_before:
        return DAY_BEFORE  # it says "tomorrow": not on the day itself
    return None


def _day_of(ctx: Context, starts_at: datetime) -> datetime:
    """The midnight (shop time) that begins the day of ``starts_at``."""
    return local_midnight(ctx, starts_at.astimezone(ctx.zone).date())


async def still_ahead(ctx: Context, kind: str, params: dict[str, object]) -> bool:
    """Whether a queued booking or event reminder still holds at ``ctx.now()``: the booking
    or place still taken, the visit not begun, a day-before one not yet on the day. Other
    kinds always do."""
    if kind not in (BOOKING, shop_events.REMINDER):
        return True  # no read for the pushes that are not reminders of a visit
    now = ctx.now()
    async with ctx.db.read() as s:
        if kind == BOOKING:
            found = (
                await s.execute(
                    select(BookingRow.status, BookingRow.starts_at).where(
                        BookingRow.id == int(str(params["booking_id"]))
                    )
                )
            ).first()
            if found is None or found.status != "booked":
                return False
            starts_at = found.starts_at
            day_before = params.get("when") == DAY_BEFORE
        else:  # an event's reminder, the day before
            signup = (
                await s.execute(
                    select(EventSignupRow.status, EventRow.starts_at, EventRow.active)
                    .join(EventRow, EventRow.id == EventSignupRow.event_id)
                    .where(EventSignupRow.id == int(str(params["signup_id"])))
                )
            ).first()
            if signup is None or signup.status != shop_events.JOINED or not signup.active:
                return False
            starts_at = signup.starts_at
            day_before = True
    if now >= starts_at:
        return False
    return not day_before or now < _day_of(ctx, starts_at)


async def remind_bookings(ctx: Context) -> int:
    """Queue the booking reminders due now; returns how many."""
    now, today = ctx.now(), ctx.today()
    # Nothing is due earlier than the day before the visit, nor than its hours before.
    horizon = max(
        local_midnight(ctx, today + timedelta(days=2)),
        now + timedelta(hours=ctx.shop.reminders.booking_hours_before),
    )
    async with ctx.db.read() as s:
        rows = (
            await s.execute(
                select(BookingRow, StoreRow.code)
                .join(StoreRow, StoreRow.id == BookingRow.store_id)
                .join(MemberRow, MemberRow.id == BookingRow.member_id)
                .where(
                    BookingRow.status == "booked",
                    BookingRow.starts_at > now,
                    BookingRow.starts_at < horizon,
                    reachable(marketing=False),
                )
                .order_by(BookingRow.starts_at, BookingRow.id)
            )
        ).all()
    planned = []
    for booking, store in rows:
        when = booking_reminder_due(
            ctx, starts_at=booking.starts_at, created_at=booking.created_at, now=now
        )
        if when is None:
            continue
        params = {
            "booking_id": booking.id,
            "store": store,
            "starts_at": booking.starts_at.isoformat(),
            "party_size": booking.party_size,
            "when": when,
        }
        planned.append(Planned(booking.member_id, BOOKING, f"booking:{booking.id}:{when}", params))
    return await queue(ctx, planned)


# --- points -------------------------------------------------------------------------------


async def remind_expiring_points(ctx: Context) -> int:
    """Queue the points expiry warnings of today (for each ``points_days_before``)."""
    now, today = ctx.now(), ctx.today()
    planned = []
    for days in sorted(set(ctx.shop.reminders.points_days_before)):
        expires_on = today + timedelta(days=days)
        planned += await _expiring_points(ctx, now, expires_on, days)
    return await queue(ctx, planned)


async def _expiring_points(
    ctx: Context, now: datetime, expires_on: date, days: int
) -> list[Planned]:
    """Members with points expiring on ``expires_on``: one GROUP BY over those lots, the
    balance of each of them read from their own live lots (the ledger's index)."""
    begins, ends = (
        local_midnight(ctx, expires_on),
        local_midnight(ctx, expires_on + timedelta(days=1)),
    )
    expiring = (
        select(
            LedgerRow.member_id.label("member_id"), func.sum(LedgerRow.remaining).label("points")
        )
        .where(live_lot(now), LedgerRow.expires_at >= begins, LedgerRow.expires_at < ends)
        .group_by(LedgerRow.member_id)
        .subquery()
    )
    balance = (
        select(func.sum(LedgerRow.remaining))
        .where(LedgerRow.member_id == expiring.c.member_id, live_lot(now))
        .scalar_subquery()
    )
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(expiring.c.member_id, expiring.c.points, balance)
            .join(MemberRow, MemberRow.id == expiring.c.member_id)
            .where(reachable(marketing=False))
            .order_by(expiring.c.member_id)
        )
        return [
            Planned(
                member_id,
                POINTS,
                f"{POINTS}:{expires_on.isoformat()}:{days}:{member_id}",
                {
                    "points": int(points),
                    "expires_on": expires_on.isoformat(),
                    "days": days,
                    "balance": int(total),
                },
            )
            for member_id, points, total in rows
        ]


# --- coupons ------------------------------------------------------------------------------


async def remind_expiring_coupons(ctx: Context) -> int:
    """Queue reminders of unused coupons expiring ``coupon_days_before`` days from today."""
    days = ctx.shop.reminders.coupon_days_before
    if days == 0:
        return 0
    now = ctx.now()
    expires_on = ctx.today() + timedelta(days=days)
    begins, ends = (
        local_midnight(ctx, expires_on),
        local_midnight(ctx, expires_on + timedelta(days=1)),
    )
    async with ctx.db.read() as s:
        rows = (
            await s.execute(
                select(CouponRow, RewardRow.code)
                .join(RewardRow, RewardRow.id == CouponRow.reward_id)
                .join(MemberRow, MemberRow.id == CouponRow.member_id)
                .where(
                    and_(CouponRow.used_at.is_(None), CouponRow.expires_at > now),
                    CouponRow.expires_at >= begins,
                    CouponRow.expires_at < ends,
                    reachable(marketing=False),
                )
                .order_by(CouponRow.id)
            )
        ).all()
    planned = [
        Planned(
            coupon.member_id,
            COUPON,
            f"{COUPON}:{coupon.id}",
            {
                "coupon_code": coupon.code,
                "reward": reward,
                "value_fen": coupon.value_fen,
                "expires_on": expires_on.isoformat(),
            },
        )
        for coupon, reward in rows
    ]
    return await queue(ctx, planned)
