"""Staff: members-only events — the list, who signed up and who came, and new events.

``/event`` lists the events of the staff member's store and those of every store (an owner
sees all), coming up or ended within a week; each is a button that shows who has a place,
with attended / no-show buttons once the event has begun (a mark can be corrected from the
reply that confirms it). Clerks and up.

``/event new`` (managers and up) asks for each piece in turn — the title in Chinese and in
English, the store (owners: any store or every store; a manager's event is at their own
store), start, end, places, the lowest tier and the stages who may join, the price in points
— then shows the event to confirm. ``/event new 2026-01-20 19:00-21:00 8 50 品鉴会 / Tasting``
gives date, times, places, points and titles at once; the rest is asked.

A mark button carries the sign-up, the mark and the event; the event must be in the staff
member's reach and the sign-up one of its own before it is marked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.member.events import (
    EventRef,
    event_line,
    event_price,
    event_title,
    event_when,
    event_where,
)
from bot.dialogs.staff.bookings import arguments, choose_again, find_store
from bot.dialogs.staff.event_input import (
    ANY,
    SPAN,
    find_stages,
    find_tier,
    minutes,
    read_day,
    read_moment,
    read_whole,
)
from bot.dialogs.staff.references import own_store, store_name
from bot.error_texts import STAGE_NAMES
from bot.i18n import N_, localized
from bot.names import joined
from core.engagement import event_organising, shop_events
from core.engagement.event_organising import CAPACITY_MAX, POINTS_MAX, TITLE_MAX, EventDraft
from core.errors import DomainError, NotAllowed, UnknownEvent
from core.insights.segments import Stage
from core.people.staff import Role, record_refusal

NAME = "desk_events"
NEW, PICK, MARK = "new", "pick", "mark"
TITLE, TITLE_EN, STORE, STARTS, ENDS = "title", "title_en", "store", "starts", "ends"
# An event has a Chinese and an English title; the usage line shows one of each, as typed.
EXAMPLE_TITLES = ("品鉴会", "Tasting evening")
CAPACITY, TIER, STAGES, POINTS, CONFIRM = "capacity", "tier", "stages", "points", "confirm"
YES, NO = "yes", "no"
NEW_WORDS = ("new", "新建", "创建")
SAME = "-"  # the English title: the same as the Chinese one
ATTENDED, NO_SHOW = event_organising.MARKS
STATUS_NAMES = {
    shop_events.JOINED: N_("signed up"),
    ATTENDED: N_("attended"),
    NO_SHOW: N_("no-show"),
}
MARK_ROWS_MAX = 20


# --- reach ---------------------------------------------------------------------------------


def _scope(turn: Turn) -> list[str] | None:
    """The stores whose events this staff member sees (None: all)."""
    assert turn.staff is not None
    store = turn.staff.store
    return None if turn.staff.role is Role.OWNER or store is None else [store]


async def _reachable(turn: Turn, event: shop_events.EventView) -> Step | None:
    """None when the event is in the staff member's reach, else the refusal (audited)."""
    scope = _scope(turn)
    if scope is None or event.store is None or event.store in scope:
        return None
    assert turn.staff is not None and turn.staff.store is not None
    await record_refusal(
        turn.ctx, turn.staff.actor, f"{NAME} {event.id}", turn.identity.channel, turn.member
    )
    text = turn._(
        "You can only see {store}, your own store.", store=store_name(turn, turn.staff.store)
    )
    return Step([Reply(text)])


def _may_create(turn: Turn) -> bool:
    return turn.staff is not None and turn.staff.role.allows(Role.MANAGER)


# --- the list and the sign-ups -------------------------------------------------------------


def _new_button(turn: Turn) -> list[Button]:
    return [Payload(NAME, NEW).button(turn._("New event"))] if _may_create(turn) else []


async def _list(turn: Turn) -> Step:
    found = await event_organising.staff_events(turn.ctx, _scope(turn))
    if not found:
        return Step([Reply(turn._("No events coming up."), buttons(_new_button(turn)))])
    lines = [turn._("Events:")]
    picks = []
    for number, event in enumerate(found, start=1):
        lines.append(f"{number}. {event_line(turn, event)}")
        lines.append(
            "   "
            + turn._(
                "{joined} of {capacity} places taken; {price}",
                joined=event.joined,
                capacity=event.capacity,
                price=event_price(turn, event.points),
            )
        )
        picks.append(Payload(NAME, PICK, EventRef(event.id).pack()).button(f"#{number}"))
    rows = [picks[i : i + 4] for i in range(0, len(picks), 4)]
    lines.append(turn._("Choose an event to see who signed up and who came."))
    return Step([Reply("\n".join(lines), buttons(*rows, _new_button(turn)))])


def who_may_join(turn: Turn, min_tier: str | None, stages: tuple[Stage, ...] | list[str]) -> str:
    parts = []
    if min_tier:
        tier = turn.ctx.shop.tier(min_tier)
        parts.append(turn._("{tier} and up", tier=localized(tier.name, tier.name_en, turn.locale)))
    if stages:
        parts.append(joined((turn._(STAGE_NAMES[str(s)]) for s in stages), turn.locale))
    return joined(parts, turn.locale, clauses=True) if parts else turn._("all members")


def _status(turn: Turn, status: str) -> str:
    return turn._(STATUS_NAMES.get(status, status))


@dataclass(frozen=True)
class SignupMark(ButtonValue):
    """A mark button's value: the sign-up, the mark, and the event it is a sign-up of."""

    signup_id: int
    status: str
    event_id: int

    def __post_init__(self) -> None:
        if self.status not in event_organising.MARKS:
            raise ValueError(self.status)


def _mark_button(turn: Turn, signup: shop_events.SignupView, status: str, label: str) -> Button:
    return Payload(NAME, MARK, SignupMark(signup.id, status, signup.event.id).pack()).button(label)


async def _signups(turn: Turn, event: shop_events.EventView, note: str = "") -> Step:
    """Who has a place, numbered, with mark buttons once the event has begun."""
    signups = await event_organising.event_signups(turn.ctx, event.id)
    began = turn.ctx.now() >= event.starts_at
    lines = [note] if note else []
    lines += [
        event_line(turn, event),
        turn._("Who may join: {who}", who=who_may_join(turn, event.min_tier, event.stages)),
        turn._(
            "{joined} of {capacity} places taken; {price}",
            joined=event.joined,
            capacity=event.capacity,
            price=event_price(turn, event.points),
        ),
    ]
    if not signups:
        lines.append(turn._("Nobody has signed up yet."))
    rows: list[list[Button]] = []
    for number, signup in enumerate(signups, start=1):
        lines.append(f"{number}. {signup.member_name} — {_status(turn, signup.status)}")
        if began and signup.status == shop_events.JOINED and len(rows) < MARK_ROWS_MAX:
            came = turn._("#{number} attended", number=number)
            missed = turn._("#{number} no-show", number=number)
            rows.append(
                [
                    _mark_button(turn, signup, ATTENDED, f"✓ {came}"),
                    _mark_button(turn, signup, NO_SHOW, f"✗ {missed}"),
                ]
            )
    if signups:
        attended = sum(s.status == ATTENDED for s in signups)
        lines.append(turn._("Attended: {count} of {total}", count=attended, total=len(signups)))
    return Step([Reply("\n".join(lines), buttons(*rows))])


async def pick(turn: Turn) -> Step:
    """An event of the list, also long after it was sent (a stateless step)."""
    tapped = turn.payload.read(EventRef) if turn.payload else None
    try:
        if tapped is None:
            raise UnknownEvent(event=turn.payload.value[:20] if turn.payload else "")
        event = await shop_events.get_event(turn.ctx, tapped.event_id)
    except DomainError as error:
        return Step([Reply(turn.describe(error))])
    refused = await _reachable(turn, event)
    return refused or await _signups(turn, event)


async def mark(turn: Turn) -> Step:
    """A mark button, also long after the list was sent (a stateless step)."""
    assert turn.staff is not None
    tapped = turn.payload.read(SignupMark) if turn.payload else None
    try:
        if tapped is None:
            raise UnknownEvent(signup=turn.payload.value[:40] if turn.payload else "")
        event = await shop_events.get_event(turn.ctx, tapped.event_id)
        refused = await _reachable(turn, event)
        if refused is not None:
            return refused
        listed = await event_organising.event_signups(turn.ctx, tapped.event_id)
        if not any(s.id == tapped.signup_id for s in listed):
            raise UnknownEvent(signup=tapped.signup_id)
        marked = await event_organising.mark_signup(
            turn.ctx, tapped.signup_id, tapped.status, turn.staff.id
        )
    except DomainError as error:
        return Step([Reply(turn.describe(error))])
    note = turn._(
        "Marked: {name} — {status}", name=marked.member_name, status=_status(turn, tapped.status)
    )
    step = await _signups(turn, marked.event, note)
    other = NO_SHOW if tapped.status == ATTENDED else ATTENDED
    label = turn._("Change to {status}", status=_status(turn, other))
    reply = step.replies[0]
    correction = (_mark_button(turn, marked, other, label),)
    step.replies[0] = Reply(reply.text, (correction, *reply.buttons))
    return step


# --- a new event: the one-line form ------------------------------------------------------


def _instant(turn: Turn, key: str) -> datetime:
    return datetime.fromtimestamp(int(turn.data[key]) * 60, turn.ctx.zone)


def _slash_form(turn: Turn, words: list[str]) -> bool:
    """``<date> <HH:MM-HH:MM> <places> <points> <title> [/ <English title>]`` into the
    draft; False when it does not read so."""
    if len(words) < 5:
        return False
    day, span = read_day(words[0]), SPAN.match(words[1])
    capacity, points = read_whole(words[2], 1, CAPACITY_MAX), read_whole(words[3], 0, POINTS_MAX)
    if day is None or span is None or capacity is None or points is None:
        return False
    starts, ends = read_moment(turn, span.group(1), day), read_moment(turn, span.group(2), day)
    zh, _slash, en = " ".join(words[4:]).partition("/")
    if starts is None or ends is None or ends <= starts or starts <= turn.ctx.now():
        return False
    if not 1 <= len(zh.strip()) <= TITLE_MAX or len(en.strip()) > TITLE_MAX:
        return False
    turn.data.update(
        title=zh.strip(),
        title_en=en.strip() or zh.strip(),
        starts=minutes(starts),
        ends=minutes(ends),
        capacity=capacity,
        points=points,
    )
    return True


# --- a new event: the questions ------------------------------------------------------------


def _ask(turn: Turn, step: str, text: str, choices: tuple[tuple[Button, ...], ...] = ()) -> Step:
    return Step([Reply(text, choices)], next=step)


def _again(turn: Turn, step: str, note: str) -> Step:
    asked = _question(turn, step)
    first = asked.replies[0]
    asked.replies[0] = Reply(f"{note}\n{first.text}", first.buttons)
    return asked


def _question(turn: Turn, step: str) -> Step:
    if step == TITLE:
        return _ask(turn, TITLE, turn._("The event's title in Chinese:"))
    if step == TITLE_EN:
        return _ask(turn, TITLE_EN, turn._("The title in English (or - for the same):"))
    if step == STORE:
        stores = [
            Payload(NAME, STORE, s.code).button(store_name(turn, s.code))
            for s in turn.ctx.shop.stores
        ]
        every = [Payload(NAME, STORE, ANY).button(turn._("Every store"))]
        return _ask(turn, STORE, turn._("At which store?"), buttons(stores, every))
    if step == STARTS:
        text = turn._("When does it start? YYYY-MM-DD HH:MM, e.g. 2026-01-20 19:00")
        return _ask(turn, STARTS, text)
    if step == ENDS:
        text = turn._("When does it end? HH:MM on the same day, or YYYY-MM-DD HH:MM")
        return _ask(turn, ENDS, text)
    if step == CAPACITY:
        return _ask(turn, CAPACITY, turn._("How many places?"))
    if step == TIER:
        tiers = [
            Payload(NAME, TIER, t.code).button(
                turn._("{tier} and up", tier=localized(t.name, t.name_en, turn.locale))
            )
            for t in turn.ctx.shop.tiers.levels[1:]
        ]
        everyone = [Payload(NAME, TIER, ANY).button(turn._("All members"))]
        rows = [tiers[i : i + 3] for i in range(0, len(tiers), 3)]
        return _ask(turn, TIER, turn._("Which tiers may join?"), buttons(everyone, *rows))
    if step == STAGES:
        stages = [
            Payload(NAME, STAGES, s.value).button(turn._(STAGE_NAMES[s.value])) for s in Stage
        ]
        anyone = [Payload(NAME, STAGES, ANY).button(turn._("Any stage"))]
        rows = [stages[i : i + 2] for i in range(0, len(stages), 2)]
        text = turn._("Which members, by stage? Choose one, or type several, e.g. loyal, active.")
        return _ask(turn, STAGES, text, buttons(anyone, *rows))
    if step == POINTS:
        free = [Payload(NAME, POINTS, "0").button(turn._("Free"))]
        text = turn._("How many points does a place cost? (0 = free)")
        return _ask(turn, POINTS, text, buttons(free))
    raise AssertionError(step)


ORDER = (TITLE, TITLE_EN, STORE, STARTS, ENDS, CAPACITY, TIER, STAGES, POINTS)


async def _next(turn: Turn) -> Step:
    """Ask for what is still missing; with everything known, the event to confirm."""
    for step in ORDER:
        if step not in turn.data:
            return _question(turn, step)
    return _summary(turn)


def _draft(turn: Turn) -> EventDraft:
    data = turn.data
    tier = str(data[TIER])
    return EventDraft(
        title=str(data[TITLE]),
        title_en=str(data[TITLE_EN]),
        store=None if data[STORE] == ANY else str(data[STORE]),
        starts_at=_instant(turn, STARTS),
        ends_at=_instant(turn, ENDS),
        capacity=int(data[CAPACITY]),
        min_tier=None if tier == ANY else tier,
        stages=frozenset(Stage(s) for s in data[STAGES]),
        points=int(data[POINTS]),
    )


def _summary(turn: Turn) -> Step:
    draft = _draft(turn)
    lines = [
        turn._("Please check the event:"),
        turn._("Title: {title} / {title_en}", title=draft.title, title_en=draft.title_en),
        turn._("When: {when}", when=event_when(turn, draft.starts_at, draft.ends_at)),
        turn._("Where: {where}", where=event_where(turn, draft.store)),
        turn._("Places: {count}", count=draft.capacity),
        turn._(
            "Who may join: {who}",
            who=who_may_join(turn, draft.min_tier, [s for s in Stage if s in draft.stages]),
        ),
        turn._("Price: {price}", price=event_price(turn, draft.points)),
    ]
    answers = buttons(
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Create")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    )
    return Step([Reply("\n".join(lines), answers)], next=CONFIRM)


async def _begin_new(turn: Turn, words: list[str]) -> Step:
    """Start a new event (managers and up), with the slash form's values if given."""
    assert turn.staff is not None
    if not _may_create(turn):
        await record_refusal(
            turn.ctx, turn.staff.actor, f"{NAME} new", turn.identity.channel, turn.member
        )
        return Step([Reply(turn.describe(NotAllowed(needed=Role.MANAGER.value)))])
    turn.data.clear()
    turn.data["locale"] = turn.locale  # staff who are not members keep their language
    if words and not _slash_form(turn, words):
        return _usage(turn)
    if turn.staff.role is not Role.OWNER and turn.staff.store is not None:
        turn.data[STORE] = turn.staff.store
    elif len(turn.ctx.shop.stores) == 1:
        turn.data[STORE] = own_store(turn) or ANY
    return await _next(turn)


def _usage(turn: Turn) -> Step:
    text = turn._(
        "Usage: /event, or /event new, or /event new 2026-01-20 19:00-21:00 8 50 "
        "{title} / {title_en} (date, times, places, points, titles)",
        title=EXAMPLE_TITLES[0],
        title_en=EXAMPLE_TITLES[1],
    )
    return Step([Reply(text)])


async def start(turn: Turn) -> Step:
    words = arguments(turn)
    if not words:
        return await _list(turn)
    if words[0].casefold() in NEW_WORDS:
        return await _begin_new(turn, words[1:])
    return _usage(turn)


async def new(turn: Turn) -> Step:
    """The New event button of the list."""
    return await _begin_new(turn, [])


async def title(turn: Turn) -> Step:
    if not 1 <= len(turn.text) <= TITLE_MAX:
        note = turn._("A title has 1 to {max} characters.", max=TITLE_MAX)
        return _again(turn, TITLE, note)
    turn.data[TITLE] = turn.text
    return await _next(turn)


async def title_en(turn: Turn) -> Step:
    text = turn.text
    if text == SAME:
        text = str(turn.data[TITLE])
    if not 1 <= len(text) <= TITLE_MAX:
        note = turn._("A title has 1 to {max} characters.", max=TITLE_MAX)
        return _again(turn, TITLE_EN, note)
    turn.data[TITLE_EN] = text
    return await _next(turn)


async def choose_store(turn: Turn) -> Step:
    value = turn.payload.value if turn.payload else turn.text
    store = None if value == ANY else find_store(turn, value)
    if value != ANY and store is None:
        return _again(turn, STORE, choose_again(turn))
    turn.data[STORE] = store.code if store else ANY
    return await _next(turn)


def _bad_time(turn: Turn, text: str) -> str:
    return turn._("“{value}” is not a time I understand.", value=text[:40])


async def starts(turn: Turn) -> Step:
    at = read_moment(turn, turn.text)
    if at is None:
        return _again(turn, STARTS, _bad_time(turn, turn.text))
    if at <= turn.ctx.now():
        return _again(turn, STARTS, turn._("That time has passed."))
    turn.data[STARTS] = minutes(at)
    return await _next(turn)


async def ends(turn: Turn) -> Step:
    begins = _instant(turn, STARTS)
    at = read_moment(turn, turn.text, begins.astimezone(turn.ctx.zone).date())
    if at is None:
        return _again(turn, ENDS, _bad_time(turn, turn.text))
    if at <= begins:
        return _again(turn, ENDS, turn._("The end must be after the start."))
    turn.data[ENDS] = minutes(at)
    return await _next(turn)


async def capacity(turn: Turn) -> Step:
    places = read_whole(turn.text, 1, CAPACITY_MAX)
    if places is None:
        note = turn._("Please type a number from 1 to {max}.", max=CAPACITY_MAX)
        return _again(turn, CAPACITY, note)
    turn.data[CAPACITY] = places
    return await _next(turn)


async def choose_tier(turn: Turn) -> Step:
    tier = find_tier(turn, turn.payload.value if turn.payload else turn.text)
    if tier is None:
        return _again(turn, TIER, choose_again(turn))
    turn.data[TIER] = tier
    return await _next(turn)


async def choose_stages(turn: Turn) -> Step:
    stages = find_stages(turn, turn.payload.value if turn.payload else turn.text)
    if stages is None:
        return _again(turn, STAGES, choose_again(turn))
    turn.data[STAGES] = stages
    return await _next(turn)


async def points(turn: Turn) -> Step:
    price = read_whole(turn.payload.value if turn.payload else turn.text, 0, POINTS_MAX)
    if price is None:
        note = turn._("Please type a number from 0 to {max}.", max=POINTS_MAX)
        return _again(turn, POINTS, note)
    turn.data[POINTS] = price
    return await _next(turn)


async def confirm(turn: Turn) -> Step:
    """Create (once, however often it is tapped) or cancel."""
    assert turn.staff is not None
    if turn.payload is None:  # typed text instead of a button: show the summary again
        return _summary(turn)
    if turn.payload.value != YES:
        return Step([Reply(turn._("Cancelled; no event was created."))])
    made = await event_organising.create_event(turn.ctx, turn.staff, _draft(turn))
    text = "\n".join(
        (
            turn._("Event created: {event}", event=event_line(turn, made)),
            turn._("Members who may join see it under “Events” now."),
        )
    )
    listing = Payload(NAME, PICK, EventRef(made.id).pack()).button(event_title(turn, made))
    return Step([Reply(text, buttons([listing]))])


flow = Flow(
    name=NAME,
    start=start,
    steps={
        NEW: new,
        PICK: pick,
        MARK: mark,
        TITLE: title,
        TITLE_EN: title_en,
        STORE: choose_store,
        STARTS: starts,
        ENDS: ends,
        CAPACITY: capacity,
        TIER: choose_tier,
        STAGES: choose_stages,
        POINTS: points,
        CONFIRM: confirm,
    },
    commands=("/event",),
    once=frozenset({CONFIRM}),
    stateless=frozenset({NEW, PICK, MARK}),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("events: sign-ups, attendance, new events"), order=60),
)
FLOWS = (flow,)
