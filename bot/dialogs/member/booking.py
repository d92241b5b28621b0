"""Book a store visit: store → day → free time → party size → confirm; and my bookings,
each cancellable (after asking) up to the cut-off.

A request that names a day or a time ("明天下午两点预约", "Saturday afternoon") fills those
steps (``core.service.when`` reads them) and the flow asks only what is still missing; a
time that is not free is said so, with the nearest free times. "取消预约" lists the bookings
to cancel (the ``booking_cancel`` flow, or cancel words in a booking request).

Nothing is booked before Confirm, and Confirm is a ``once`` step: a double tap books once.
The choices travel in the conversation's data; buttons carry only compact values (store
code, ISO date, slot start in epoch minutes) so payloads stay far below 64 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from bot.dialogs.engine.dialogs import START, Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import Expects
from bot.i18n import N_, format_time, localized
from core.errors import CancelTooLate, DomainError, SlotFull, UnknownBooking
from core.service import bookings, when
from core.shop import Store

NAME = "booking"
CANCEL_NAME = "booking_cancel"
STORE, DAY, SLOT, PARTY, CONFIRM, ALTERNATIVE = "store", "day", "slot", "party", "confirm", "alt"
MINE, ASK_CANCEL, CANCEL = "mine", "ask", "cancel"
YES, NO = "yes", "no"
DAYS_MAX = 15  # day buttons at most: today and two weeks (the soonest days with room)
PARTY_BUTTONS_MAX = 10  # larger parties (if the shop allows them) are typed as a number
PER_ROW = 3
NEAREST = 3  # free times offered when the one asked for is not free
MINE_WORDS = ("我的预约", "my booking", "/bookings")
CANCEL_WORDS = ("取消", "不去了", "cancel")  # in a booking request: which one to cancel
ASKED = "asked"  # the request's text while the store is chosen, when it named a day or time
PARTS = {
    "morning": N_("in the morning"),
    "noon": N_("around noon"),
    "afternoon": N_("in the afternoon"),
    "evening": N_("in the evening"),
}


# --- compact values -----------------------------------------------------------------------


def _minutes(at: datetime) -> int:
    return int(at.timestamp()) // 60


def _instant(minutes: int) -> datetime:
    return datetime.fromtimestamp(minutes * 60, UTC)


@dataclass(frozen=True)
class SlotRef(ButtonValue):
    """A time button's value: when the slot starts, in epoch minutes."""

    minutes: int


@dataclass(frozen=True)
class DayRef(ButtonValue):
    """A day button's value."""

    day: date


@dataclass(frozen=True)
class PartyRef(ButtonValue):
    """A party size button's value: how many people come."""

    people: int


@dataclass(frozen=True)
class BookingRef(ButtonValue):
    """A cancel button's value: the booking it cancels."""

    booking_id: int


def _int(value: str) -> int | None:
    """A typed whole number."""
    value = value.strip()
    return int(value) if value.isdigit() and len(value) <= 12 else None


def _rows(items: list[Button]) -> tuple[tuple[Button, ...], ...]:
    return buttons(*(items[i : i + PER_ROW] for i in range(0, len(items), PER_ROW)))


# --- what a step shows --------------------------------------------------------------------


def _time(turn: Turn, at: datetime) -> str:
    return format_time(at, turn.locale, turn.ctx.zone)


def _store_name(turn: Turn, code: str) -> str:
    store = turn.ctx.shop.store(code)
    return localized(store.name, store.name_en, turn.locale) if store else code


def _choose_again(turn: Turn) -> str:
    return turn._("Please choose one of the buttons, or send /help to leave.")


def _store_choice(turn: Turn) -> Step:
    stores = [
        Payload(NAME, STORE, s.code).button(localized(s.name, s.name_en, turn.locale))
        for s in turn.ctx.shop.stores
    ]
    mine = [Payload(NAME, MINE).button(turn._("My bookings"))]
    text = turn._("Which store would you like to visit?")
    return Step([Reply(text, _rows(stores) + buttons(mine))], next=STORE)


async def _day_choice(turn: Turn, store: Store) -> Step:
    first, last = bookings.bookable_days(turn.ctx)
    days: list[date] = []
    day = first
    while day <= last and len(days) < DAYS_MAX:
        if await bookings.free_slots(turn.ctx, store.code, day):
            days.append(day)
        day += timedelta(days=1)
    name = localized(store.name, store.name_en, turn.locale)
    if not days:
        text = turn._(
            "{store} has no free times in the next {days} days. Please try again later.",
            store=name,
            days=(last - first).days,
        )
        return Step([Reply(text)])
    turn.data["store"] = store.code
    items = [Payload(NAME, DAY, DayRef(d).pack()).button(turn.day(d)) for d in days]
    return Step([Reply(turn._("{store}: which day?", store=name), _rows(items))], next=DAY)


async def _slot_choice(
    turn: Turn, day: date, note: str = "", only: list[bookings.SlotView] | None = None
) -> Step:
    """The free times of ``day`` (or ``only`` these) as buttons, ``note`` above."""
    store = str(turn.data["store"])
    slots = only or await bookings.free_slots(turn.ctx, store, day)
    if not slots:
        text = turn._("There are no free times left on {day}.", day=turn.day(day))
        return await _with_note(turn, text, _current_store(turn))
    turn.data["day"] = day.isoformat()
    items = [
        Payload(NAME, SLOT, SlotRef(_minutes(v.starts_at)).pack()).button(
            turn._("{time} ({free} free)", time=_time(turn, v.starts_at), free=v.free)
        )
        for v in slots
    ]
    text = turn._("{store}, {day}: which time?", store=_store_name(turn, store), day=turn.day(day))
    return Step([Reply("\n".join(filter(None, (note, text))), _rows(items))], next=SLOT)


def _current_store(turn: Turn) -> Store | None:
    return turn.ctx.shop.store(str(turn.data.get("store", "")))


async def _with_note(turn: Turn, note: str, store: Store | None) -> Step:
    """``note`` above the day choice of ``store`` (or alone when the store is gone)."""
    if store is None:
        return Step([Reply(note)])
    step = await _day_choice(turn, store)
    first = step.replies[0]
    step.replies[0] = Reply(f"{note}\n{first.text}", first.buttons)
    return step


def _party_choice(turn: Turn, bound: int, note: str = "") -> Step:
    items = [
        Payload(NAME, PARTY, PartyRef(n).pack()).button(str(n))
        for n in range(1, min(bound, PARTY_BUTTONS_MAX) + 1)
    ]
    text = turn._("How many people are coming? (1 to {max})", max=bound)
    return Step([Reply("\n".join(filter(None, (note, text))), _rows(items))], next=PARTY)


def _summary(turn: Turn) -> Step:
    store = str(turn.data["store"])
    starts_at = _instant(int(turn.data["slot"]))
    text = "\n".join(
        (
            turn._("Please check your booking:"),
            turn._("Store: {store}", store=_store_name(turn, store)),
            turn._("Day: {day}", day=turn.day(starts_at)),
            turn._("Time: {time}", time=_time(turn, starts_at)),
            turn._("People: {people}", people=turn.data["party"]),
        )
    )
    choices = [
        Payload(NAME, CONFIRM, YES).button(turn._("Confirm")),
        Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
    ]
    return Step([Reply(text, buttons(choices))], next=CONFIRM)


def _booking_line(turn: Turn, view: bookings.BookingView) -> str:
    return turn._(
        "{store}, {day} {time}, people: {people}",
        store=_store_name(turn, view.store),
        day=turn.day(view.starts_at),
        time=_time(turn, view.starts_at),
        people=view.party_size,
    )


# --- what a step does ---------------------------------------------------------------------


async def start(turn: Turn) -> Step:
    lowered = turn.text.lower()
    if any(word in lowered for word in CANCEL_WORDS):
        return await cancel_request(turn)
    if any(word in lowered for word in MINE_WORDS):
        return await mine(turn)
    wanted = when.read(turn.text, turn.ctx.today())
    store = _named_store(turn) or (_home_store(turn) if wanted else None)
    if len(turn.ctx.shop.stores) == 1:
        store = turn.ctx.shop.stores[0]
    if store is None:
        if wanted:
            turn.data[ASKED] = turn.text
        return _store_choice(turn)
    return await _store_chosen(turn, store, wanted)


def _named_store(turn: Turn) -> Store | None:
    """The store the request names ("滨江店明天下午", "riverside store")."""
    lowered = turn.text.lower()
    return next(
        (s for s in turn.ctx.shop.stores if s.name in turn.text or s.name_en.lower() in lowered),
        None,
    )


def _home_store(turn: Turn) -> Store | None:
    home = turn.member.home_store if turn.member else None
    return turn.ctx.shop.store(home) if home else None


async def _store_chosen(turn: Turn, store: Store, wanted: when.When) -> Step:
    if wanted:
        return await _wanted(turn, store, wanted)
    return await _day_choice(turn, store)


async def _wanted(turn: Turn, store: Store, wanted: when.When) -> Step:
    """The day and time the member named, at ``store``: taken when free, else the reason
    and what is free instead."""
    turn.data["store"] = store.code
    day = wanted.day or turn.ctx.today()
    first, last = bookings.bookable_days(turn.ctx)
    if not first <= day <= last:
        note = turn._(
            "Bookings are open from {first} to {last}.", first=turn.day(first), last=turn.day(last)
        )
        return await _with_note(turn, note, store)
    if bookings.is_closed(turn.ctx.shop, store, day):
        note = turn._(
            "{store} is closed on {day}.", store=_store_name(turn, store.code), day=turn.day(day)
        )
        return await _with_note(turn, note, store)
    slots = await bookings.free_slots(turn.ctx, store.code, day, include_full=True)
    free = [v for v in slots if v.free > 0]
    if not free or not (wanted.at or wanted.part):
        return await _slot_choice(turn, day)
    if wanted.part and not wanted.at:
        inside = [v for v in free if when.in_part(wanted.part, _local(turn, v.starts_at))]
        if inside:
            return await _slot_choice(turn, day, only=inside)
        note = turn._(
            "There are no free times on {day} {part}.",
            day=turn.day(day),
            part=turn._(PARTS[wanted.part]),
        )
        return await _slot_choice(turn, day, note)
    return await _at_time(turn, day, wanted.times(), slots)


def _local(turn: Turn, at: datetime) -> time:
    return at.astimezone(turn.ctx.zone).time()


async def _at_time(
    turn: Turn, day: date, times: list[time], slots: list[bookings.SlotView]
) -> Step:
    """The slot starting at one of ``times`` when it is free; else why not, and the
    nearest free times of the day."""
    by_time = {_local(turn, v.starts_at): v for v in slots}
    for at in times:
        found = by_time.get(at)
        if found is not None and found.free > 0:
            return _take(turn, found)
    meant = next((at for at in times if at in by_time), times[0])
    wanted_at = datetime.combine(day, meant, tzinfo=turn.ctx.zone)
    label = f"{turn.day(day)} {_time(turn, wanted_at)}"
    if meant in by_time:
        note = turn._("{time} is fully booked.", time=label)
    elif wanted_at <= turn.ctx.now():
        note = turn._("{time} has already passed.", time=label)
    else:
        store = _store_name(turn, str(turn.data["store"]))
        note = turn._("{store} takes no bookings at {time}.", store=store, time=label)
    free = [v for v in slots if v.free > 0]
    nearest = sorted(free, key=lambda v: abs(v.starts_at - wanted_at))[:NEAREST]
    nearest.sort(key=lambda v: v.starts_at)
    more = turn._("The nearest free times are below; you can also type another time.")
    return await _slot_choice(turn, day, f"{note}\n{more}", only=nearest)


def _take(turn: Turn, slot: bookings.SlotView) -> Step:
    """A free slot chosen: on to the party size."""
    turn.data["day"] = slot.starts_at.astimezone(turn.ctx.zone).date().isoformat()
    turn.data["slot"] = _minutes(slot.starts_at)
    turn.data["bound"] = min(slot.free, turn.ctx.shop.bookings.max_party)
    return _party_choice(turn, int(turn.data["bound"]))


async def _typed(turn: Turn, day: date | None) -> Step | None:
    """A day or time typed where a button is awaited ("14:00", "明天", "下午2点"), read as
    the request's own were; None when the text names neither."""
    wanted = when.read(turn.text, turn.ctx.today())
    store = _current_store(turn)
    if not wanted or store is None:
        return None
    return await _wanted(turn, store, replace(wanted, day=wanted.day or day))


async def choose_store(turn: Turn) -> Step:
    store = turn.ctx.shop.store(turn.payload.value) if turn.payload else None
    if store is None:
        step = _store_choice(turn)
        step.replies.insert(0, Reply(_choose_again(turn)))
        return step
    asked = str(turn.data.pop(ASKED, ""))
    return await _store_chosen(turn, store, when.read(asked, turn.ctx.today()))


async def choose_day(turn: Turn) -> Step:
    tapped = turn.payload.read(DayRef) if turn.payload else None
    if tapped is None:
        typed = await _typed(turn, None) if turn.payload is None else None
        return typed or await _with_note(turn, _choose_again(turn), _current_store(turn))
    return await _slot_choice(turn, tapped.day)


async def choose_slot(turn: Turn) -> Step:
    tapped = turn.payload.read(SlotRef) if turn.payload else None
    day = date.fromisoformat(str(turn.data["day"]))
    if tapped is None:
        typed = await _typed(turn, day) if turn.payload is None else None
        return typed or await _slot_choice(turn, day, _choose_again(turn))
    starts_at = _instant(tapped.minutes)
    slots = await bookings.free_slots(turn.ctx, str(turn.data["store"]), day)
    slot = next((v for v in slots if v.starts_at == starts_at), None)
    if slot is None:
        note = turn._("This time is no longer free; please choose another one.")
        return await _slot_choice(turn, day, note)
    return _take(turn, slot)


async def choose_party(turn: Turn) -> Step:
    bound = int(turn.data["bound"])
    if turn.payload is None:
        party = _int(turn.text)
    else:
        tapped = turn.payload.read(PartyRef)
        party = tapped.people if tapped else None
    if party is None or not 1 <= party <= bound:
        note = turn._("Please choose a number from 1 to {max}.", max=bound)
        return _party_choice(turn, bound, note)
    turn.data["party"] = party
    return _summary(turn)


async def confirm(turn: Turn) -> Step:
    """The one step that books. A ``once`` step: a second tap is told it was done."""
    assert turn.member is not None
    if turn.payload is None:
        step = _summary(turn)  # typed text: ask again (the step is open again)
        step.replies.insert(0, Reply(_choose_again(turn)))
        return step
    if turn.payload.value != YES:
        return Step([Reply(turn._("All right, nothing was booked."))])
    store = str(turn.data["store"])
    starts_at = _instant(int(turn.data["slot"]))
    try:
        view = await bookings.book(
            turn.ctx, turn.member.id, store, starts_at, int(turn.data["party"])
        )
    except SlotFull as full:
        return _full(turn, full)
    cutoff = bookings.cancel_cutoff(turn.ctx, view.starts_at)
    if cutoff > turn.ctx.now():
        cancel = turn._("You can cancel here until {cutoff}.", cutoff=turn.moment(cutoff))
    else:  # booked inside the notice the shop asks for: no deadline to promise
        cancel = turn._("This booking can no longer be cancelled here; please call the store.")
    text = "\n".join((turn._("Booked! See you soon."), _booking_line(turn, view), cancel))
    return Step([Reply(text, buttons([Payload(NAME, MINE).button(turn._("My bookings"))]))])


def _full(turn: Turn, full: SlotFull) -> Step:
    text = turn._("Sorry, this time has just been fully booked.")
    later = full.next_free
    if not isinstance(later, datetime):
        more = turn._("There is no other free time in the coming days.")
        return Step([Reply(f"{text}\n{more}")])
    label = f"{turn.day(later)} {_time(turn, later)}"
    offer = turn._("The next free time is {time}. Would you like that instead?", time=label)
    choice = [
        Payload(NAME, ALTERNATIVE, SlotRef(_minutes(later)).pack()).button(
            turn._("Take {time}", time=label)
        )
    ]
    return Step([Reply(f"{text}\n{offer}", buttons(choice))], next=ALTERNATIVE)


async def alternative(turn: Turn) -> Step:
    """The offered next free time: straight to the summary with the same party."""
    tapped = turn.payload.read(SlotRef) if turn.payload else None
    if tapped is None:
        return Step([Reply(turn._("All right, nothing was booked."))])
    turn.data["slot"] = tapped.minutes
    return _summary(turn)


async def mine(turn: Turn) -> Step:
    """The member's upcoming bookings, each with a cancel button while still cancellable."""
    book_again = Payload(NAME, START).button(turn._("Book a visit"))
    return await _listing(
        turn, turn._("Your bookings:"), turn._("You have no upcoming bookings."), [book_again]
    )


async def cancel_request(turn: Turn) -> Step:
    """ "取消预约": the bookings to cancel, each with its button (which still asks)."""
    return await _listing(
        turn,
        turn._("Which booking would you like to cancel?"),
        turn._("You have no upcoming bookings to cancel."),
        [],
    )


async def _listing(turn: Turn, title: str, empty: str, more: list[Button]) -> Step:
    assert turn.member is not None
    upcoming = await bookings.upcoming_bookings(turn.ctx, turn.member.id)
    if not upcoming:
        return Step([Reply(empty, buttons(more))])
    lines = [title]
    cancels = []
    now = turn.ctx.now()
    for number, view in enumerate(upcoming, start=1):
        lines.append(f"{number}. {_booking_line(turn, view)}")
        if now <= bookings.cancel_cutoff(turn.ctx, view.starts_at):
            label = turn._("Cancel #{number}", number=number)
            cancels.append(Payload(NAME, ASK_CANCEL, BookingRef(view.id).pack()).button(label))
        else:
            lines.append(turn._("   (too late to cancel here; please call the store)"))
    return Step([Reply("\n".join(lines), _rows(cancels) + buttons(more))])


async def ask_cancel(turn: Turn) -> Step:
    """Which booking, and are you sure? Nothing is cancelled yet."""
    assert turn.member is not None
    tapped = turn.payload.read(BookingRef) if turn.payload else None
    booking_id = tapped.booking_id if tapped else None
    upcoming = await bookings.upcoming_bookings(turn.ctx, turn.member.id)
    view = next((v for v in upcoming if v.id == booking_id), None)
    turn.data.clear()  # a button from an old list may arrive inside another conversation
    try:
        if view is None:
            raise UnknownBooking(booking=booking_id)
        if turn.ctx.now() > bookings.cancel_cutoff(turn.ctx, view.starts_at):
            raise CancelTooLate(booking=view.id, hours=turn.ctx.shop.bookings.cancel_cutoff_hours)
    except DomainError as error:
        return Step([Reply(turn.describe(error))])
    turn.data["booking"] = view.id
    text = "\n".join((turn._("Cancel this booking?"), _booking_line(turn, view)))
    choices = [
        Payload(NAME, CANCEL, YES).button(turn._("Yes, cancel it")),
        Payload(NAME, CANCEL, NO).button(turn._("No, keep it")),
    ]
    return Step([Reply(text, buttons(choices))], next=CANCEL)


async def cancel(turn: Turn) -> Step:
    """A ``once`` step: cancels in core, which refuses after the cut-off."""
    assert turn.member is not None
    if turn.payload is None:
        return Step([Reply(_choose_again(turn))], next=CANCEL)
    if turn.payload.value != YES:
        return Step([Reply(turn._("All right, the booking stays."))])
    view = await bookings.cancel(turn.ctx, turn.member.id, int(turn.data["booking"]))
    text = turn._("Cancelled: {booking}", booking=_booking_line(turn, view))
    return Step([Reply(text)])


flow = Flow(
    name=NAME,
    start=start,
    steps={
        STORE: choose_store,
        DAY: choose_day,
        SLOT: choose_slot,
        PARTY: choose_party,
        CONFIRM: confirm,
        ALTERNATIVE: alternative,
        MINE: mine,
        ASK_CANCEL: ask_cancel,
        CANCEL: cancel,
    },
    once=frozenset({CONFIRM, CANCEL}),
    expects={
        **dict.fromkeys((STORE, DAY, SLOT, CONFIRM, ALTERNATIVE, CANCEL), Expects.CHOICE),
        PARTY: Expects.NUMBER,
    },
    shown_again=frozenset({CONFIRM, CANCEL}),
    stateless=frozenset({MINE, ASK_CANCEL}),
    commands=("/book", "/bookings"),
    intents=(
        Intents(
            zh=(
                "预约",
                "我要预约",
                "订个位",
                "订位",
                "订座",
                "预订",
                "预定",
                "周六还有位置吗",
                "明天有位吗",
                "还有空位吗",
                "想约个时间",
                "预约到店",
                "订桌",
                "有位子吗",
                "订两个位",
                "我想预约",
                "帮我订个位置",
                "订个座",
            ),
            en=(
                "book",
                "book a visit",
                "booking",
                "make a reservation",
                "reservation",
                "reserve",
                "reserve a table",
                "appointment",
                "make an appointment",
                "book a table for two",
                "any free slots on saturday",
                "free table",
                "can i come in tomorrow",
                "is there a table",
                "book a seat",
            ),
        ),
        Intents(
            zh=("我的预约", "查看预约", "预约记录", "改约"),
            en=("my bookings", "my booking", "my reservations", "change my booking"),
            step=MINE,
            label=N_("My bookings"),
        ),
    ),
    precedence=60,
    menu=Menu(N_("Book a visit"), order=60),
    command_menu=(MenuCommand("book", N_("Book a visit"), order=60),),
)
cancel_flow = Flow(
    name=CANCEL_NAME,
    start=cancel_request,
    intents=(
        Intents(
            zh=("取消预约", "取消我的预约", "取消订位", "不去了取消", "预约取消"),
            en=(
                "cancel my booking",
                "cancel booking",
                "cancel a booking",
                "cancel my reservation",
                "cancel reservation",
            ),
        ),
    ),
    precedence=59,  # before the booking flow, whose "预约" / "booking" it contains
)
FLOWS = (flow, cancel_flow)
