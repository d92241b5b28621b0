"""Bookings: slots from opening hours, no overbooking, cancellation cut-off, attendance."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.context import Context
from core.errors import (
    AlreadyBooked,
    BookingNotActive,
    BookingNotStarted,
    CancelTooLate,
    InvalidInput,
    InvalidPartySize,
    SlotFull,
    SlotUnavailable,
    UnknownBooking,
    UnknownStore,
)
from core.people.registration import register_member
from core.people.staff import add_staff
from core.service import bookings
from core.service.bookings import BookingView
from core.shop import WEEKDAYS, OpeningHours, Shop
from core.shop_file import load_shop
from storage.models import AuditRow, BookingRow, SlotRow
from tests.conftest import ZONE
from tests.factories import count, shop_time

HOLIDAY = date(2026, 1, 7)  # a Wednesday, closed for every store
SUNDAY = date(2026, 1, 11)  # the test store's closed weekday


def booking_shop(shop: Shop, *, capacity: int = 5, hours: str = "10:00-22:00") -> Shop:
    """The default shop with "main" open 10:00–22:00 except Sundays, 30-minute slots."""
    opening = OpeningHours(**{day: hours for day in WEEKDAYS if day != "sun"})
    main = shop.store("main")
    assert main is not None
    main = main.model_copy(update={"slot_minutes": 30, "slot_capacity": capacity, "hours": opening})
    rules = shop.bookings.model_copy(update={"closed_dates": [HOLIDAY]})
    stores = [main if s.code == "main" else s for s in shop.stores]
    return shop.model_copy(update={"stores": stores, "bookings": rules})


@pytest.fixture
def bctx(ctx: Context) -> Context:
    return replace(ctx, shop=booking_shop(ctx.shop))


async def new_member(ctx: Context, n: int = 1, name: str = "王小明") -> int:
    member = await register_member(ctx, name=name, phone=f"138000001{n:02d}")
    return member.id


async def places_taken(ctx: Context, starts_at: datetime) -> int:
    async with ctx.db.read() as s:
        found = await s.scalar(select(SlotRow.booked).where(SlotRow.starts_at == starts_at))
        return int(found or 0)


# --- slots --------------------------------------------------------------------------------


def test_a_day_from_ten_to_ten_has_24_half_hour_slots() -> None:
    shop = booking_shop(load_shop())
    main = shop.store("main")
    assert main is not None

    slots = bookings.slots_for(shop, main, date(2026, 1, 6), ZONE)

    assert len(slots) == 24
    assert (slots[0], slots[-1]) == (shop_time(6, 10), shop_time(6, 21, 30))
    assert all(at.tzinfo is UTC for at in slots)
    assert slots[0].hour == 2  # 10:00 in Shanghai is 02:00 UTC
    assert bookings.slots_for(shop, main, SUNDAY, ZONE) == []
    assert bookings.slots_for(shop, main, HOLIDAY, ZONE) == []
    own_day_off = main.model_copy(update={"closed_dates": [date(2026, 1, 8)]})
    assert bookings.slots_for(shop, own_day_off, date(2026, 1, 8), ZONE) == []


def test_a_slot_must_end_by_closing_time() -> None:
    shop = booking_shop(load_shop())
    main = shop.store("main")
    assert main is not None
    fifty = main.model_copy(update={"slot_minutes": 50})

    slots = bookings.slots_for(shop, fifty, date(2026, 1, 6), ZONE)

    assert len(slots) == 14  # 14 × 50 min = 11 h 40 min; a 15th would end at 22:30
    assert slots[-1] + timedelta(minutes=50) == shop_time(6, 21, 40)


def test_slots_are_stepped_in_real_time_across_a_clock_change() -> None:
    shop = booking_shop(load_shop(), hours="00:00-24:00")
    main = shop.store("main")
    assert main is not None
    hourly = main.model_copy(
        update={"slot_minutes": 60, "hours": OpeningHours(**dict.fromkeys(WEEKDAYS, "00:00-24:00"))}
    )
    berlin = ZoneInfo("Europe/Berlin")

    assert len(bookings.slots_for(shop, hourly, date(2026, 1, 6), ZONE)) == 24
    spring = bookings.slots_for(shop, hourly, date(2026, 3, 29), berlin)
    autumn = bookings.slots_for(shop, hourly, date(2026, 10, 25), berlin)
    assert (len(spring), len(autumn)) == (23, 25)
    assert spring[0] == datetime(2026, 3, 29, tzinfo=berlin)
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(spring))


async def test_free_slots_are_future_and_inside_the_horizon(
    bctx: Context, clock: FixedClock
) -> None:
    clock.set(shop_time(5, 10, 40))

    today = await bookings.free_slots(bctx, "main", date(2026, 1, 5))

    assert today[0].starts_at == shop_time(5, 11)
    assert len(today) == 22
    assert (today[0].ends_at, today[0].free, today[0].store) == (shop_time(5, 11, 30), 5, "main")
    assert len(await bookings.free_slots(bctx, "main", date(2026, 1, 6))) == 24
    assert len(await bookings.free_slots(bctx, "main", date(2026, 1, 19))) == 24  # today + 14
    assert await bookings.free_slots(bctx, "main", date(2026, 1, 20)) == []  # beyond
    assert await bookings.free_slots(bctx, "main", date(2026, 1, 4)) == []  # yesterday
    assert await bookings.free_slots(bctx, "main", HOLIDAY) == []
    assert await bookings.free_slots(bctx, "main", SUNDAY) == []
    with pytest.raises(UnknownStore):
        await bookings.free_slots(bctx, "nowhere", date(2026, 1, 6))


# --- booking ------------------------------------------------------------------------------


async def test_thirty_members_racing_for_five_places(bctx: Context) -> None:
    members = [await new_member(bctx, n) for n in range(30)]
    slot = shop_time(6, 11)

    results = await asyncio.gather(
        *(bookings.book(bctx, m, "main", slot) for m in members), return_exceptions=True
    )

    booked = [r for r in results if isinstance(r, BookingView)]
    refused = [r for r in results if not isinstance(r, BookingView)]
    assert len(booked) == 5
    assert all(isinstance(r, SlotFull) for r in refused), refused
    assert {r.next_free for r in refused if isinstance(r, SlotFull)} == {shop_time(6, 11, 30)}
    assert await places_taken(bctx, slot) == 5
    assert await count(bctx, BookingRow) == 5
    assert await count(bctx, AuditRow, AuditRow.action == "booking.booked") == 5
    day = await bookings.free_slots(bctx, "main", date(2026, 1, 6), include_full=True)
    assert (day[2].starts_at, day[2].free) == (slot, 0)
    free = await bookings.free_slots(bctx, "main", date(2026, 1, 6))
    assert slot not in [v.starts_at for v in free]


async def test_party_size_counts_against_capacity(bctx: Context) -> None:
    alice, bob, carol = [await new_member(bctx, n) for n in range(3)]
    slot = shop_time(6, 11)

    await bookings.book(bctx, alice, "main", slot, party_size=3)
    with pytest.raises(SlotFull) as full:
        await bookings.book(bctx, bob, "main", slot, party_size=3)
    assert full.value.next_free == shop_time(6, 11, 30)
    await bookings.book(bctx, bob, "main", slot, party_size=2)
    with pytest.raises(SlotFull):
        await bookings.book(bctx, carol, "main", slot)
    assert await places_taken(bctx, slot) == 5

    for size in (0, 7, -1, True):
        with pytest.raises(InvalidPartySize):
            await bookings.book(bctx, carol, "main", shop_time(6, 12), party_size=size)


async def test_full_slot_with_no_room_later_in_the_horizon(ctx: Context) -> None:
    bctx = replace(ctx, shop=booking_shop(ctx.shop, capacity=1))
    alice, bob = await new_member(bctx, 1), await new_member(bctx, 2)
    last = shop_time(19, 21, 30)  # the last slot of the last bookable day

    await bookings.book(bctx, alice, "main", last)
    with pytest.raises(SlotFull) as full:
        await bookings.book(bctx, bob, "main", last)
    assert full.value.next_free is None
    assert full.value.params["store"] == "main"


async def test_one_active_booking_per_member_and_slot(bctx: Context) -> None:
    alice = await new_member(bctx)
    slot = shop_time(6, 11)

    first = await bookings.book(bctx, alice, "main", slot)
    with pytest.raises(AlreadyBooked):
        await bookings.book(bctx, alice, "main", slot)
    racing = await asyncio.gather(
        *(bookings.book(bctx, alice, "main", shop_time(6, 12)) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, BookingView) for r in racing) == 1
    assert all(isinstance(r, (BookingView, AlreadyBooked)) for r in racing), racing
    assert await places_taken(bctx, slot) == 1

    await bookings.cancel(bctx, alice, first.id)
    again = await bookings.book(bctx, alice, "main", slot)
    assert again.id != first.id
    assert await places_taken(bctx, slot) == 1


async def test_only_offered_times_can_be_booked(bctx: Context) -> None:
    alice = await new_member(bctx)
    refused = [
        shop_time(6, 10, 15),  # not a slot start
        shop_time(5, 10),  # has begun (the clock is at 10:00)
        shop_time(5, 9, 30),  # before opening
        shop_time(6, 21, 45),  # would end after closing
        shop_time(20, 10),  # beyond the horizon
        shop_time(7, 10),  # holiday
        shop_time(11, 10),  # Sunday: closed
    ]
    for at in refused:
        with pytest.raises(SlotUnavailable):
            await bookings.book(bctx, alice, "main", at)
    with pytest.raises(InvalidInput):
        await bookings.book(bctx, alice, "main", datetime(2026, 1, 6, 11))  # noqa: DTZ001
    with pytest.raises(UnknownStore):
        await bookings.book(bctx, alice, "nowhere", shop_time(6, 11))
    with pytest.raises(InvalidInput) as long_note:
        await bookings.book(bctx, alice, "main", shop_time(6, 11), note="x" * 201)
    assert long_note.value.params["field"] == "note"
    assert await count(bctx, BookingRow) == 0
    assert await count(bctx, SlotRow) == 0

    note = "  <b>窗边</b> & 轮椅 "
    view = await bookings.book(bctx, alice, "main", shop_time(5, 10, 30), party_size=2, note=note)
    assert (view.note, view.party_size, view.status) == (note, 2, "booked")
    assert (view.member_id, view.store, view.member_name) == (alice, "main", "王小明")
    assert (view.starts_at, view.ends_at) == (shop_time(5, 10, 30), shop_time(5, 11))


# --- cancelling ---------------------------------------------------------------------------


async def test_cancelling_gives_the_place_back_until_the_cutoff(
    bctx: Context, clock: FixedClock
) -> None:
    alice, bob = await new_member(bctx, 1), await new_member(bctx, 2)
    slot = shop_time(5, 14)  # cut-off two hours before: 12:00
    early = await bookings.book(bctx, alice, "main", slot, party_size=2)
    late = await bookings.book(bctx, bob, "main", slot)

    with pytest.raises(UnknownBooking):
        await bookings.cancel(bctx, bob, early.id)  # not his
    clock.set(shop_time(5, 12))
    cancelled = await bookings.cancel(bctx, alice, early.id)
    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", shop_time(5, 12))
    assert await places_taken(bctx, slot) == 1
    free = {v.starts_at: v.free for v in await bookings.free_slots(bctx, "main", date(2026, 1, 5))}
    assert free[slot] == 4
    with pytest.raises(BookingNotActive):
        await bookings.cancel(bctx, alice, early.id)

    clock.advance(timedelta(seconds=1))
    with pytest.raises(CancelTooLate) as too_late:
        await bookings.cancel(bctx, bob, late.id)
    assert too_late.value.params["cutoff"] == shop_time(5, 12)
    assert await places_taken(bctx, slot) == 1
    assert [b.status for b in await bookings.upcoming_bookings(bctx, bob)] == ["booked"]
    assert await count(bctx, AuditRow, AuditRow.action == "booking.cancelled") == 1


# --- lists --------------------------------------------------------------------------------


async def test_member_and_staff_lists(bctx: Context, clock: FixedClock) -> None:
    alice = await new_member(bctx, 1, "Alice")
    bob = await new_member(bctx, 2, "Bob")
    later = await bookings.book(bctx, alice, "main", shop_time(6, 15))
    sooner = await bookings.book(bctx, alice, "main", shop_time(6, 11))
    gone = await bookings.book(bctx, alice, "main", shop_time(6, 12))
    await bookings.cancel(bctx, alice, gone.id)
    await bookings.book(bctx, bob, "main", shop_time(6, 11), party_size=3, note="生日")
    await bookings.book(bctx, bob, "riverside", shop_time(6, 11))
    await bookings.book(bctx, bob, "main", shop_time(8, 11))

    upcoming = await bookings.upcoming_bookings(bctx, alice)
    assert [b.id for b in upcoming] == [sooner.id, later.id]

    day = await bookings.store_bookings(bctx, "main", date(2026, 1, 6))
    assert [(b.starts_at, b.member_name, b.party_size) for b in day] == [
        (shop_time(6, 11), "Alice", 1),
        (shop_time(6, 11), "Bob", 3),
        (shop_time(6, 15), "Alice", 1),
    ]
    everything = await bookings.store_bookings(
        bctx, "main", date(2026, 1, 6), include_cancelled=True
    )
    assert len(everything) == 4

    clock.set(shop_time(6, 11, 15))  # inside the 11:00 slot: still upcoming until it ends
    assert [b.id for b in await bookings.upcoming_bookings(bctx, alice)] == [sooner.id, later.id]
    clock.set(shop_time(6, 11, 30))
    assert [b.id for b in await bookings.upcoming_bookings(bctx, alice)] == [later.id]


# --- attendance ---------------------------------------------------------------------------


async def test_staff_mark_attendance_once_the_slot_has_begun(
    bctx: Context, clock: FixedClock
) -> None:
    staff = await add_staff(
        bctx, channel="telegram", external_id="9001", role="clerk", store="main"
    )
    alice = await new_member(bctx)
    booking = await bookings.book(bctx, alice, "main", shop_time(5, 11))

    with pytest.raises(BookingNotStarted):
        await bookings.mark_booking(bctx, booking.id, "attended", staff.id)
    clock.set(shop_time(5, 11))
    with pytest.raises(InvalidInput):
        await bookings.mark_booking(bctx, booking.id, "cancelled", staff.id)
    with pytest.raises(UnknownBooking):
        await bookings.mark_booking(bctx, booking.id + 100, "attended", staff.id)

    came = await bookings.mark_booking(bctx, booking.id, "attended", staff.id)
    assert (came.status, came.marked_at) == ("attended", shop_time(5, 11))
    again = await bookings.mark_booking(bctx, booking.id, "attended", staff.id)
    assert again.status == "attended"
    corrected = await bookings.mark_booking(bctx, booking.id, "no_show", staff.id)
    assert corrected.status == "no_show"
    async with bctx.db.read() as s:
        actions = list(
            await s.scalars(
                select(AuditRow.action)
                .where(AuditRow.actor == f"staff:{staff.id}")
                .order_by(AuditRow.id)
            )
        )
    assert actions == ["booking.attended", "booking.no_show"]
    assert await bookings.upcoming_bookings(bctx, alice) == []

    cancelled = await bookings.book(bctx, alice, "main", shop_time(6, 11))
    await bookings.cancel(bctx, alice, cancelled.id)
    clock.set(shop_time(6, 11))
    with pytest.raises(BookingNotActive):
        await bookings.mark_booking(bctx, cancelled.id, "attended", staff.id)


async def test_closing_past_bookings_is_idempotent(bctx: Context, clock: FixedClock) -> None:
    alice, bob, carol = [await new_member(bctx, n) for n in range(3)]
    forgotten = await bookings.book(bctx, alice, "main", shop_time(6, 11))
    came = await bookings.book(bctx, bob, "main", shop_time(6, 11, 30))
    gone = await bookings.book(bctx, carol, "main", shop_time(6, 12))
    await bookings.cancel(bctx, carol, gone.id)
    clock.set(shop_time(6, 11, 30))
    await bookings.mark_booking(bctx, came.id, "attended", None)

    clock.set(shop_time(7, 11, 29))  # a day after the 11:00 slot ended is 7th, 11:30
    assert await bookings.close_past_bookings(bctx) == 0
    clock.set(shop_time(7, 11, 30))
    assert await bookings.close_past_bookings(bctx) == 1
    assert await bookings.close_past_bookings(bctx) == 0
    clock.advance(timedelta(days=3))
    assert await asyncio.gather(*(bookings.close_past_bookings(bctx) for _ in range(3))) == [
        0,
        0,
        0,
    ]

    day = await bookings.store_bookings(bctx, "main", date(2026, 1, 6), include_cancelled=True)
    assert {b.id: b.status for b in day} == {
        forgotten.id: "no_show",
        came.id: "attended",
        gone.id: "cancelled",
    }
    assert await count(bctx, AuditRow, AuditRow.action == "booking.no_show") == 1
