"""Store visits booked by members: slots from opening hours, places that never run out twice.

A store's day is cut into slots of ``slot_minutes`` from opening time; a slot must end by
closing time. Slots are worked out in the shop's time zone and stored as UTC instants.
Places taken in a slot live in one counter row per (store, slot start), changed only by a
conditional UPDATE (``booked + n <= capacity``), so concurrent bookings cannot overbook a
slot on SQLite or PostgreSQL. Only the rows of slots someone booked exist; a missing row
means an empty slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
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
from core.integrations import webhooks
from core.people.members import lock_member, store_id
from core.service import store_hours
from core.shop import Shop, Store
from storage.db import insert_ignore
from storage.models import BookingRow, MemberRow, SlotRow, StoreRow
from storage.session import Session, rowcount

NOTE_MAX = 200
MARKS = ("attended", "no_show")
# A booking still 'booked' this long after its slot ended was a no-show; staff have had a
# day to mark it by hand.
NO_SHOW_GRACE = timedelta(days=1)
CLOSE_BATCH = 200


# --- pure rules ---------------------------------------------------------------------------


def is_closed(shop: Shop, store: Store, day: date) -> bool:
    """Closed on that weekday, on one of the store's own closed dates or a shop holiday."""
    return store_hours.hours_on(shop, store, day).closed


def slots_for(shop: Shop, store: Store, day: date, zone: ZoneInfo) -> list[datetime]:
    """The slot starts (aware, UTC) of ``store`` on the local date ``day``.

    Opening and closing are wall-clock times in ``zone`` (a holiday's when it has its own);
    the slots are stepped in real time between them, so a day with a clock change has the
    slots it really has room for.
    """
    hours = store_hours.hours_on(shop, store, day).hours
    if hours is None:
        return []
    start, end = store_hours.span(day, hours, zone)
    length = timedelta(minutes=store.slot_minutes)
    slots = []
    while start + length <= end:
        slots.append(start)
        start += length
    return slots


def bookable_days(ctx: Context) -> tuple[date, date]:
    """First and last local date members may book: today .. today + horizon_days."""
    today = ctx.today()
    return today, today + timedelta(days=ctx.shop.bookings.horizon_days)


def _store(ctx: Context, code: str) -> Store:
    store = ctx.shop.store(code)
    if store is None:
        raise UnknownStore(store=code)
    return store


def _slot_length(ctx: Context, code: str) -> timedelta:
    # A store that left the shop file keeps its bookings; their slots count as instants.
    store = ctx.shop.store(code)
    return timedelta(minutes=store.slot_minutes) if store else timedelta(0)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput(field="starts_at")
    return at.astimezone(UTC)


def _is_bookable(ctx: Context, store: Store, starts_at: datetime) -> bool:
    """A real slot start of the store, not yet begun, on a day inside the horizon."""
    day = starts_at.astimezone(ctx.zone).date()
    first, last = bookable_days(ctx)
    return (
        first <= day <= last
        and starts_at > ctx.now()
        and starts_at in slots_for(ctx.shop, store, day, ctx.zone)
    )


# --- free places --------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotView:
    store: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    free: int


async def _booked_counts(
    s: Session, sid: int, since: datetime, until: datetime
) -> dict[datetime, int]:
    """Places taken per slot start in [since, until)."""
    rows = await s.execute(
        select(SlotRow.starts_at, SlotRow.booked).where(
            SlotRow.store_id == sid, SlotRow.starts_at >= since, SlotRow.starts_at < until
        )
    )
    return {at: booked for at, booked in rows}


async def _open_slots(
    s: Session, ctx: Context, store: Store, sid: int, days: list[date]
) -> list[SlotView]:
    """Slots of ``days`` that have not begun, with their places taken."""
    now = ctx.now()
    starts = [at for day in days for at in slots_for(ctx.shop, store, day, ctx.zone) if at > now]
    if not starts:
        return []
    counts = await _booked_counts(s, sid, starts[0], starts[-1] + timedelta(microseconds=1))
    length = timedelta(minutes=store.slot_minutes)
    return [
        SlotView(
            store=store.code,
            starts_at=at,
            ends_at=at + length,
            capacity=store.slot_capacity,
            booked=counts.get(at, 0),
            free=max(store.slot_capacity - counts.get(at, 0), 0),
        )
        for at in starts
    ]


async def free_slots(
    ctx: Context, store: str, day: date, *, include_full: bool = False
) -> list[SlotView]:
    """The slots a member can still book on a local date, in time order: not yet begun,
    inside the booking horizon, with a free place (all of them with ``include_full``)."""
    rules = _store(ctx, store)
    first, last = bookable_days(ctx)
    if not first <= day <= last:
        return []
    async with ctx.db.read() as s:
        sid = await store_id(s, store)
        slots = await _open_slots(s, ctx, rules, sid, [day])
    return [v for v in slots if include_full or v.free > 0]


async def _next_free(
    s: Session, ctx: Context, store: Store, sid: int, after: datetime, places: int
) -> datetime | None:
    first, last = bookable_days(ctx)
    start = max(after.astimezone(ctx.zone).date(), first)
    days = [start + timedelta(days=n) for n in range((last - start).days + 1)]
    for view in await _open_slots(s, ctx, store, sid, days):
        if view.starts_at > after and view.free >= places:
            return view.starts_at
    return None


async def next_free_slot(
    ctx: Context, store: str, after: datetime, places: int = 1
) -> datetime | None:
    """The first slot after ``after`` (within the horizon) with ``places`` free, or None:
    what to offer when the wanted time is full."""
    rules = _store(ctx, store)
    async with ctx.db.read() as s:
        return await _next_free(s, ctx, rules, await store_id(s, store), _utc(after), places)


# --- bookings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingView:
    """One booking, with what a reminder push needs (member, store code, time)."""

    id: int
    member_id: int
    member_name: str
    store: str
    starts_at: datetime
    ends_at: datetime
    party_size: int
    note: str
    status: str
    created_at: datetime
    cancelled_at: datetime | None
    marked_at: datetime | None


def _view(ctx: Context, row: BookingRow, store_code: str, member_name: str) -> BookingView:
    return BookingView(
        id=row.id,
        member_id=row.member_id,
        member_name=member_name,
        store=store_code,
        starts_at=row.starts_at,
        ends_at=row.starts_at + _slot_length(ctx, store_code),
        party_size=row.party_size,
        note=row.note,
        status=row.status,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        marked_at=row.marked_at,
    )


def _with_names() -> Select[BookingRow, str, str]:
    return (
        select(BookingRow, StoreRow.code, MemberRow.name)
        .join(StoreRow, StoreRow.id == BookingRow.store_id)
        .join(MemberRow, MemberRow.id == BookingRow.member_id)
    )


async def _load(s: Session, ctx: Context, booking_id: int) -> BookingView:
    found = (await s.execute(_with_names().where(BookingRow.id == booking_id))).first()
    if found is None:
        raise UnknownBooking(booking=booking_id)
    row, code, name = found
    return _view(ctx, row, code, name)


def _check_party(ctx: Context, party_size: int) -> None:
    most = ctx.shop.bookings.max_party
    if (
        not isinstance(party_size, int)
        or isinstance(party_size, bool)
        or not 1 <= party_size <= most
    ):
        raise InvalidPartySize(field="party_size", value=party_size, max=most)


async def _take_places(s: Session, sid: int, starts_at: datetime, n: int, cap: int) -> bool:
    """Add ``n`` to the slot's counter unless that would pass ``cap``; True if taken."""
    await insert_ignore(
        s,
        SlotRow.__table__,
        {"store_id": sid, "starts_at": starts_at, "booked": 0},
        conflict=["store_id", "starts_at"],
    )
    taken = await s.execute(
        update(SlotRow.__table__)
        .where(
            SlotRow.store_id == sid,
            SlotRow.starts_at == starts_at,
            SlotRow.booked + n <= cap,
        )
        .values(booked=SlotRow.booked + n)
    )
    return rowcount(taken) == 1


async def _give_back(s: Session, sid: int, starts_at: datetime, n: int) -> None:
    await s.execute(
        update(SlotRow.__table__)
        .where(SlotRow.store_id == sid, SlotRow.starts_at == starts_at, SlotRow.booked >= n)
        .values(booked=SlotRow.booked - n)
    )


async def book(
    ctx: Context,
    member_id: int,
    store: str,
    starts_at: datetime,
    party_size: int = 1,
    note: str = "",
) -> BookingView:
    """Book ``party_size`` places in a slot for a member.

    The time must be a slot start the store offers, not yet begun and inside the horizon;
    a member holds at most one active booking per slot. When the places are gone,
    ``SlotFull`` says which later slot still has room, so the member can take that instead.
    The note is stored exactly as typed (channels escape it where they show it).
    """
    rules = _store(ctx, store)
    starts_at = _utc(starts_at)
    _check_party(ctx, party_size)
    if len(note) > NOTE_MAX:
        raise InvalidInput(field="note", max=NOTE_MAX)
    if not _is_bookable(ctx, rules, starts_at):
        raise SlotUnavailable(store=store, starts_at=starts_at)
    now = ctx.now()
    try:
        async with ctx.db.transaction() as s:
            sid = await store_id(s, store)
            member = await lock_member(s, member_id)
            if await _active_booking(s, member_id, sid, starts_at) is not None:
                raise AlreadyBooked(store=store, starts_at=starts_at)
            if not await _take_places(s, sid, starts_at, party_size, rules.slot_capacity):
                raise SlotFull(
                    store=store,
                    starts_at=starts_at,
                    next_free=await _next_free(s, ctx, rules, sid, starts_at, party_size),
                )
            row = BookingRow(
                store_id=sid,
                member_id=member_id,
                starts_at=starts_at,
                party_size=party_size,
                note=note,
                status="booked",
                created_at=now,
            )
            s.add(row)
            await s.flush()
            audit.record(
                s,
                now,
                audit.member_actor(member_id),
                "booking.booked",
                member_id,
                booking_id=row.id,
                store=store,
                starts_at=starts_at.isoformat(),
                party_size=party_size,
            )
            await webhooks.emit(
                s,
                now,
                "booking.created",
                member_id=member_id,
                store=store,
                data={
                    "booking_id": row.id,
                    "starts_at": webhooks.moment(starts_at),
                    "party_size": party_size,
                },
            )
            return _view(ctx, row, store, member.name)
    except IntegrityError:
        # The partial unique index caught a second active booking of the same slot.
        raise AlreadyBooked(store=store, starts_at=starts_at) from None


async def _active_booking(s: Session, member_id: int, sid: int, starts_at: datetime) -> int | None:
    found: int | None = await s.scalar(
        select(BookingRow.id).where(
            BookingRow.member_id == member_id,
            BookingRow.store_id == sid,
            BookingRow.starts_at == starts_at,
            BookingRow.status == "booked",
        )
    )
    return found


def cancel_cutoff(ctx: Context, starts_at: datetime) -> datetime:
    """The last moment a booking of this slot can be cancelled by the member."""
    return starts_at - timedelta(hours=ctx.shop.bookings.cancel_cutoff_hours)


async def cancel(ctx: Context, member_id: int, booking_id: int) -> BookingView:
    """A member cancels their own active booking, up to the cut-off before the slot; the
    places become free again. Later the store has planned for them: call the store."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await s.scalar(
            select(BookingRow).where(BookingRow.id == booking_id).with_for_update()
        )
        if row is None or row.member_id != member_id:
            # Someone else's booking is as unknown as a missing one.
            raise UnknownBooking(booking=booking_id)
        if row.status != "booked":
            raise BookingNotActive(booking=booking_id, status=row.status)
        cutoff = cancel_cutoff(ctx, row.starts_at)
        if now > cutoff:
            raise CancelTooLate(
                booking=booking_id,
                cutoff=cutoff,
                hours=ctx.shop.bookings.cancel_cutoff_hours,
            )
        row.status = "cancelled"
        row.cancelled_at = now
        await _give_back(s, row.store_id, row.starts_at, row.party_size)
        await s.flush()
        view = await _load(s, ctx, booking_id)
        audit.record(
            s,
            now,
            audit.member_actor(member_id),
            "booking.cancelled",
            member_id,
            booking_id=booking_id,
            store=view.store,
            starts_at=row.starts_at.isoformat(),
        )
        await webhooks.emit(
            s,
            now,
            "booking.cancelled",
            member_id=member_id,
            store=view.store,
            data={
                "booking_id": booking_id,
                "starts_at": webhooks.moment(row.starts_at),
                "party_size": row.party_size,
            },
        )
        return view


async def upcoming_bookings(ctx: Context, member_id: int) -> list[BookingView]:
    """A member's active bookings whose slot has not ended, soonest first."""
    now = ctx.now()
    longest = max(timedelta(minutes=st.slot_minutes) for st in ctx.shop.stores)
    async with ctx.db.read() as s:
        rows = await s.execute(
            _with_names()
            .where(
                BookingRow.member_id == member_id,
                BookingRow.status == "booked",
                BookingRow.starts_at > now - longest,
            )
            .order_by(BookingRow.starts_at, BookingRow.id)
        )
        views = [_view(ctx, row, code, name) for row, code, name in rows]
    return [v for v in views if v.ends_at > now]


async def store_bookings(
    ctx: Context, store: str, day: date, *, include_cancelled: bool = False
) -> list[BookingView]:
    """The staff's list for one local day of a store: who comes when, with how many."""
    since = datetime.combine(day, time(0), tzinfo=ctx.zone)
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ctx.zone)
    async with ctx.db.read() as s:
        sid = await store_id(s, store)
        query = _with_names().where(
            BookingRow.store_id == sid,
            BookingRow.starts_at >= since,
            BookingRow.starts_at < until,
        )
        if not include_cancelled:
            query = query.where(BookingRow.status != "cancelled")
        rows = await s.execute(query.order_by(BookingRow.starts_at, BookingRow.id))
        return [_view(ctx, row, code, name) for row, code, name in rows]


async def mark_booking(
    ctx: Context, booking_id: int, status: str, staff_id: int | None
) -> BookingView:
    """Staff record whether the member came. Possible once the slot has begun; a mark (also
    one made by ``close_past_bookings``) can be corrected, a cancelled booking not."""
    if status not in MARKS:
        raise InvalidInput(field="status", value=status)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await s.scalar(
            select(BookingRow).where(BookingRow.id == booking_id).with_for_update()
        )
        if row is None:
            raise UnknownBooking(booking=booking_id)
        if row.status == "cancelled":
            raise BookingNotActive(booking=booking_id, status=row.status)
        if now < row.starts_at:
            raise BookingNotStarted(booking=booking_id, starts_at=row.starts_at)
        if row.status != status:
            previous = row.status
            row.status = status
            row.marked_at = now
            row.marked_by_staff_id = staff_id
            audit.record(
                s,
                now,
                audit.staff_actor(staff_id),
                f"booking.{status}",
                row.member_id,
                booking_id=booking_id,
                previous=previous,
            )
            await s.flush()
        return await _load(s, ctx, booking_id)


async def close_past_bookings(ctx: Context) -> int:
    """Turn bookings still 'booked' a day after their slot ended into no-shows; returns how
    many. A scheduler job: safe to run any number of times, also concurrently."""
    now = ctx.now()
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(BookingRow.id, BookingRow.starts_at, StoreRow.code)
            .join(StoreRow, StoreRow.id == BookingRow.store_id)
            .where(BookingRow.status == "booked", BookingRow.starts_at <= now - NO_SHOW_GRACE)
            .order_by(BookingRow.id)
        )
        due = [
            booking_id
            for booking_id, starts_at, code in rows
            if starts_at + _slot_length(ctx, code) + NO_SHOW_GRACE <= now
        ]
    closed = 0
    for start in range(0, len(due), CLOSE_BATCH):
        async with ctx.db.transaction() as s:
            marked = await s.execute(
                update(BookingRow)
                .where(BookingRow.id.in_(due[start : start + CLOSE_BATCH]))
                .where(BookingRow.status == "booked")
                .values(status="no_show", marked_at=now)
                .returning(BookingRow.id, BookingRow.member_id)
                .execution_options(synchronize_session=False)
            )
            for booking_id, member_id in marked:
                closed += 1
                audit.record(
                    s, now, audit.SYSTEM, "booking.no_show", member_id, booking_id=booking_id
                )
    return closed


async def erase_member(session: Session, member_id: int, now: datetime) -> list[str]:
    """Erasing a member (``core.people.erasure``): their bookings to come are cancelled, so the
    places go to others, and every note is blanked; returns the notes, to find them
    elsewhere."""
    rows = await session.scalars(select(BookingRow).where(BookingRow.member_id == member_id))
    notes = []
    for booking in rows:
        if booking.note:
            notes.append(booking.note)
            booking.note = ""
        if booking.status == "booked" and booking.starts_at > now:
            booking.status, booking.cancelled_at = "cancelled", now
            await _give_back(session, booking.store_id, booking.starts_at, booking.party_size)
    return notes
