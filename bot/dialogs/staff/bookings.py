"""Staff: the day's bookings of a store, and who came.

``/bookings [day] [store]`` lists one local day (default today) of one store (default the
staff member's own; an owner of every store is asked, or names one or ``all``). Each
booking shows time, member, party size and status; a booking whose time has begun and
that nobody marked yet gets two buttons, attended and no-show. A mark can be corrected
from the reply that confirms it.

Clerks and managers see only their own store: naming another one is refused and audited,
and so is a forged button for another store's booking. A button carries the booking, the
mark, the store and the day, and the booking must be in that store's list of that day
(``core.service.bookings.store_bookings``) before it is marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.staff.references import store_name
from bot.i18n import N_, format_time
from core.errors import DomainError, UnknownBooking, UnknownStore
from core.people.staff import Role, record_refusal
from core.service import bookings
from core.shop import Store
from core.typed import read_date

NAME = "desk_bookings"
STORE, MARK = "store", "mark"
ALL = "*"  # the store-choice value for every store
ALL_WORDS = ("all", "全部")
DAY_WORDS = {"today": 0, "今天": 0, "tomorrow": 1, "明天": 1, "yesterday": -1, "昨天": -1}
ATTENDED, NO_SHOW = bookings.MARKS
STATUS_NAMES = {
    "booked": N_("booked"),
    ATTENDED: N_("attended"),
    NO_SHOW: N_("no-show"),
}
MARK_ROWS_MAX = 20  # bookings with mark buttons in one reply (the rest once these are marked)


# --- stores in reach (shared with the other staff commands) -------------------------------


def find_store(turn: Turn, word: str) -> Store | None:
    """The store a typed word names: its code or its Chinese or English name."""
    word = word.strip().casefold()
    for store in turn.ctx.shop.stores:
        if word in (store.code.casefold(), store.name.casefold(), store.name_en.casefold()):
            return store
    return None


def is_store_word(turn: Turn, word: str) -> bool:
    return word.casefold() in ALL_WORDS or find_store(turn, word) is not None


async def stores_in_reach(turn: Turn, flow: str, word: str) -> list[str] | Step:
    """The store codes ``word`` asks for (one, or every store for ``all``) — or, for a
    clerk or manager asking beyond their own store, a refusal (audited). Owners reach
    every store. An unknown store is an ``UnknownStore`` error."""
    staff = turn.staff
    assert staff is not None
    wants_all = word.casefold() in ALL_WORDS
    store = None if wants_all else find_store(turn, word)
    if not wants_all and store is None:
        raise UnknownStore(store=word[:40])
    if (
        staff.role is Role.OWNER
        or staff.store is None
        or (store is not None and store.code == staff.store)
    ):
        return [s.code for s in turn.ctx.shop.stores] if store is None else [store.code]
    await record_refusal(
        turn.ctx, staff.actor, f"{flow} {word[:40]}", turn.identity.channel, turn.member
    )
    text = turn._("You can only see {store}, your own store.", store=store_name(turn, staff.store))
    return Step([Reply(text)])


def store_choice(turn: Turn, flow: str, step: str, note: str = "") -> Step:
    """Ask an owner of every store which store (or all of them)."""
    choices = [
        Payload(flow, step, store.code).button(store_name(turn, store.code))
        for store in turn.ctx.shop.stores
    ]
    everything = [Payload(flow, step, ALL).button(turn._("All stores"))]
    text = "\n".join(filter(None, (note, turn._("For which store?"))))
    return Step([Reply(text, buttons(choices, everything))], next=step)


def own_stores(turn: Turn) -> list[str] | None:
    """The staff member's store; for an owner of every store the only store if there is
    one, else None (ask)."""
    assert turn.staff is not None
    if turn.staff.store is not None:
        return [turn.staff.store]
    stores = turn.ctx.shop.stores
    return [stores[0].code] if len(stores) == 1 else None


def arguments(turn: Turn) -> list[str]:
    """What was typed after the command (nothing when the flow began with a button)."""
    return turn.text.split()[1:] if turn.text.startswith("/") else []


def choose_again(turn: Turn) -> str:
    return turn._("Please choose one of the buttons, or send /help to leave.")


# --- days -----------------------------------------------------------------------------------


def parse_day(text: str, today: date) -> date | None:
    """A date as people write it (``core.typed.read_date``: ``2026-01-05``, ``2026/1/5``,
    ``2026年1月5日``…), ``today`` / ``今天``, ``tomorrow`` / ``明天``, ``yesterday`` / ``昨天``."""
    text = text.strip().casefold()
    if text in DAY_WORDS:
        return today + timedelta(days=DAY_WORDS[text])
    return read_date(text)


def _bad_day(turn: Turn, text: str) -> Step:
    return Step(
        [
            Reply(
                turn._(
                    "“{value}” is not a day I understand: use YYYY-MM-DD, today or tomorrow.",
                    value=text[:40],
                )
            )
        ]
    )


def _usage(turn: Turn) -> Step:
    example = turn.ctx.shop.stores[0].code
    text = turn._("Usage: /bookings [day] [store], e.g. /bookings tomorrow {store}", store=example)
    return Step([Reply(text)])


@dataclass(frozen=True)
class BookingMark(ButtonValue):
    """A mark button's value: the booking, the mark, and the store and day of the list."""

    booking_id: int
    status: str
    store: str
    day: date

    def __post_init__(self) -> None:
        if self.status not in bookings.MARKS:
            raise ValueError(self.status)


# --- what a step shows ----------------------------------------------------------------------


def _line(turn: Turn, view: bookings.BookingView) -> str:
    return turn._(
        "{time} {name}, party of {people} — {status}",
        time=format_time(view.starts_at, turn.locale, turn.ctx.zone),
        name=view.member_name,
        people=view.party_size,
        status=turn._(STATUS_NAMES.get(view.status, view.status)),
    )


def _mark_button(
    turn: Turn, view: bookings.BookingView, status: str, day: date, label: str
) -> Button:
    return Payload(NAME, MARK, BookingMark(view.id, status, view.store, day).pack()).button(label)


async def _listing(turn: Turn, day: date, codes: list[str], note: str = "") -> Step:
    """The bookings of ``day`` in each store of ``codes``, numbered, with mark buttons for
    those that have begun and are not marked yet."""
    now = turn.ctx.now()
    lines = [note] if note else []
    rows: list[list[Button]] = []
    number = 0
    for code in codes:
        views = await bookings.store_bookings(turn.ctx, code, day)
        where = {"store": store_name(turn, code), "day": turn.day(day)}
        if not views:
            lines.append(turn._("No bookings at {store} on {day}.", **where))
            continue
        lines.append(turn._("Bookings at {store} on {day}:", **where))
        for view in views:
            number += 1
            lines.append(f"{number}. {_line(turn, view)}")
            if view.status == "booked" and view.starts_at <= now and len(rows) < MARK_ROWS_MAX:
                came = turn._("#{number} attended", number=number)
                missed = turn._("#{number} no-show", number=number)
                rows.append(
                    [
                        _mark_button(turn, view, ATTENDED, day, f"✓ {came}"),
                        _mark_button(turn, view, NO_SHOW, day, f"✗ {missed}"),
                    ]
                )
        lines.append(
            turn._(
                "Bookings: {count}, people: {people}",
                count=len(views),
                people=sum(v.party_size for v in views),
            )
        )
    return Step([Reply("\n".join(lines), buttons(*rows))])


# --- what a step does -----------------------------------------------------------------------


async def start(turn: Turn) -> Step:
    args = arguments(turn)
    if len(args) > 2:
        return _usage(turn)
    day = turn.ctx.today()
    store_word = None
    if len(args) == 1 and is_store_word(turn, args[0]):
        store_word = args[0]
    elif args:
        parsed = parse_day(args[0], day)
        if parsed is None:
            return _bad_day(turn, args[0])
        day = parsed
        store_word = args[1] if len(args) == 2 else None
    turn.data["day"] = day.isoformat()
    if store_word is not None:
        codes = await stores_in_reach(turn, NAME, store_word)
        return codes if isinstance(codes, Step) else await _listing(turn, day, codes)
    own = own_stores(turn)
    if own is None:
        return store_choice(turn, NAME, STORE)
    return await _listing(turn, day, own)


async def choose_store(turn: Turn) -> Step:
    """An owner's answer to "which store?": a button, or a typed code or name."""
    word = turn.payload.value if turn.payload else turn.text
    word = "all" if word == ALL else word
    if not word or not is_store_word(turn, word):
        return store_choice(turn, NAME, STORE, choose_again(turn))
    codes = await stores_in_reach(turn, NAME, word)
    if isinstance(codes, Step):
        return codes
    return await _listing(turn, date.fromisoformat(str(turn.data["day"])), codes)


async def mark(turn: Turn) -> Step:
    """A mark button, also long after the list was sent (a stateless step)."""
    assert turn.staff is not None
    tapped = turn.payload.read(BookingMark) if turn.payload else None
    try:
        if tapped is None:
            raise UnknownBooking(booking=turn.payload.value[:40] if turn.payload else "")
        codes = await stores_in_reach(turn, NAME, tapped.store)
        if isinstance(codes, Step):
            return codes
        listed = await bookings.store_bookings(turn.ctx, tapped.store, tapped.day)
        if not any(view.id == tapped.booking_id for view in listed):
            raise UnknownBooking(booking=tapped.booking_id)
        view = await bookings.mark_booking(
            turn.ctx, tapped.booking_id, tapped.status, turn.staff.id
        )
    except DomainError as error:
        return Step([Reply(turn.describe(error))])
    other = NO_SHOW if tapped.status == ATTENDED else ATTENDED
    note = turn._("Marked: {booking}", booking=_line(turn, view))
    step = await _listing(turn, tapped.day, [tapped.store], note)
    label = turn._("Change to {status}", status=turn._(STATUS_NAMES[other]))
    reply = step.replies[0]
    correction = (_mark_button(turn, view, other, tapped.day, label),)
    step.replies[0] = Reply(reply.text, (correction, *reply.buttons))
    return step


flow = Flow(
    name=NAME,
    start=start,
    steps={STORE: choose_store, MARK: mark},
    stateless=frozenset({MARK}),
    commands=("/bookings",),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("today's bookings"), order=40),
)
FLOWS = (flow,)
