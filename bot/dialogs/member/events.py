"""Members-only events: the events this member may join → sign up (price, balance after,
cut-off; confirm) → their place; and my events, each cancellable (after asking) up to the
cut-off, the points coming back.

Only events the member may join are listed; a button for any other event (an old list, a
forged payload) is refused by ``core.engagement.shop_events``. Confirm and Cancel are
``once`` steps, so a double tap signs up or cancels once. Buttons carry only the event's or
sign-up's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.dialogs.engine.dialogs import START, Flow, Menu, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.i18n import N_, format_time, localized
from core.engagement import shop_events
from core.errors import (
    AlreadySignedUp,
    DomainError,
    EventCancelTooLate,
    EventFull,
    NotEnoughPoints,
    UnknownEvent,
)
from core.ledger import statement

NAME = "events"
ASK, CONFIRM, MINE, ASK_CANCEL, CANCEL = "ask", "confirm", "mine", "ask_cancel", "cancel"
YES, NO = "yes", "no"
MINE_WORDS = ("我的活动", "my event")
PER_ROW = 3


# --- what an event reads like (shared with the staff's /event) ----------------------------


def event_title(turn: Turn, event: shop_events.EventView) -> str:
    return localized(event.title, event.title_en, turn.locale)


def event_when(turn: Turn, starts_at: datetime, ends_at: datetime) -> str:
    """``Jan 10, 2026 19:00–21:00``, or both moments when it ends on another day."""
    zone = turn.ctx.zone
    if starts_at.astimezone(zone).date() == ends_at.astimezone(zone).date():
        begins, ends = (format_time(at, turn.locale, zone) for at in (starts_at, ends_at))
        return f"{turn.day(starts_at)} {begins}–{ends}"
    return f"{turn.moment(starts_at)} – {turn.moment(ends_at)}"


def event_where(turn: Turn, store: str | None) -> str:
    if store is None:
        return turn._("every store")
    found = turn.ctx.shop.store(store)
    return localized(found.name, found.name_en, turn.locale) if found else store


def event_price(turn: Turn, points: int) -> str:
    return turn._("{points} points", points=points) if points else turn._("free")


def event_line(turn: Turn, event: shop_events.EventView) -> str:
    return turn._(
        "{title} — {when}, {where}",
        title=event_title(turn, event),
        when=event_when(turn, event.starts_at, event.ends_at),
        where=event_where(turn, event.store),
    )


def _rows(items: list[Button]) -> tuple[tuple[Button, ...], ...]:
    return buttons(*(items[i : i + PER_ROW] for i in range(0, len(items), PER_ROW)))


def _mine_button(turn: Turn) -> Button:
    return Payload(NAME, MINE).button(turn._("My events"))


@dataclass(frozen=True)
class EventRef(ButtonValue):
    """The value of a button about one event (the staff's /event lists use it too)."""

    event_id: int


@dataclass(frozen=True)
class SignupRef(ButtonValue):
    """A cancel button's value: the member's place at an event."""

    signup_id: int


async def _balance(turn: Turn) -> int:
    assert turn.member is not None
    return (await statement.points_summary(turn.ctx, turn.member.id)).balance


# --- the list and signing up --------------------------------------------------------------


async def show(turn: Turn) -> Step:
    """The events this member may join, each with its price and the places left."""
    assert turn.member is not None
    lowered = turn.text.lower()
    if any(word in lowered for word in MINE_WORDS):
        return await mine(turn)
    found = await shop_events.open_events(turn.ctx, turn.member.id)
    if not found:
        # The promise holds for members who accept news: a new event tells them
        # (core.engagement.shop_events).
        text = (
            turn._("There are no events for you at the moment. We will let you know!")
            if turn.member.marketing_consent
            else turn._(
                "There are no events for you at the moment. To hear of new ones, turn on "
                "offers and news under \u201cMy profile\u201d."
            )
        )
        return Step([Reply(text, buttons([_mine_button(turn)]))])
    lines = [turn._("Events for you:")]
    choices = []
    for number, item in enumerate(found, start=1):
        event = item.event
        lines.append(f"{number}. {event_line(turn, event)}")
        if item.signup_id is not None:
            state = turn._("you have a place")
        elif event.free:
            state = turn._(
                "{free} of {capacity} places left", free=event.free, capacity=event.capacity
            )
            label = turn._("Sign up #{number}", number=number)
            choices.append(Payload(NAME, ASK, EventRef(event.id).pack()).button(label))
        else:
            state = turn._("full")
        lines.append(f"   {event_price(turn, event.points)}; {state}")
    return Step([Reply("\n".join(lines), _rows(choices) + buttons([_mine_button(turn)]))])


async def _confirm_screen(turn: Turn, event_id: int) -> Step:
    assert turn.member is not None
    item = await shop_events.event_for_member(turn.ctx, turn.member.id, event_id)
    event = item.event
    if item.signup_id is not None:
        raise AlreadySignedUp(event=event.id)
    if not event.free:
        raise EventFull(event=event.id)
    points = await _balance(turn)
    if points < event.points:
        raise NotEnoughPoints(balance=points, needed=event.points)
    turn.data["event"] = event.id
    lines = [
        turn._("Sign up for {title}?", title=event_title(turn, event)),
        turn._(
            "{when}, {where}",
            when=event_when(turn, event.starts_at, event.ends_at),
            where=event_where(turn, event.store),
        ),
    ]
    if event.points:
        lines.append(
            turn._(
                "It costs {points} points; points left afterwards: {balance}.",
                points=event.points,
                balance=points - event.points,
            )
        )
    else:
        lines.append(turn._("It is free of charge."))
    cutoff = shop_events.cancel_cutoff(turn.ctx, event.starts_at)
    lines.append(
        turn._("You can cancel until {cutoff}.", cutoff=turn.moment(cutoff))
        if not event.points
        else turn._(
            "You can cancel until {cutoff} and get the points back.", cutoff=turn.moment(cutoff)
        )
    )
    answers = buttons(
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Confirm")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    )
    return Step([Reply("\n".join(lines), answers)], next=CONFIRM)


async def ask(turn: Turn) -> Step:
    """A Sign up button, also from an old list: may this member join it? Nothing is taken
    yet."""
    turn.data.clear()  # a button from an old list may arrive inside another conversation
    tapped = turn.payload.read(EventRef) if turn.payload else None
    try:
        if tapped is None:
            raise UnknownEvent(event=turn.payload.value[:20] if turn.payload else "")
        return await _confirm_screen(turn, tapped.event_id)
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_mine_button(turn)]))])


async def confirm(turn: Turn) -> Step:
    """The one step that signs up. A ``once`` step: a second tap is told it was done."""
    assert turn.member is not None
    event_id = int(turn.data["event"])
    if turn.payload is None:  # typed text instead of a button: ask again
        return await _confirm_screen(turn, event_id)
    if turn.payload.value != YES:
        return Step([Reply(turn._("All right, you did not sign up."))])
    try:
        signup = await shop_events.sign_up(turn.ctx, turn.member.id, event_id)
    except EventFull:
        text = turn._("Sorry, the last place has just been taken; no points were spent.")
        return Step([Reply(text)])
    event = signup.event
    lines = [
        turn._("You have a place: {event}", event=event_line(turn, event)),
    ]
    if signup.points:
        lines.append(
            turn._(
                "{points} points spent; points left: {balance}.",
                points=signup.points,
                balance=await _balance(turn),
            )
        )
    cutoff = shop_events.cancel_cutoff(turn.ctx, event.starts_at)
    lines.append(
        turn._(
            "You can cancel under “My events” until {cutoff}. We will remind you the day before.",
            cutoff=turn.moment(cutoff),
        )
    )
    return Step([Reply("\n".join(lines), buttons([_mine_button(turn)]))])


# --- my events and cancelling -------------------------------------------------------------


async def mine(turn: Turn) -> Step:
    """The member's places at events to come, each with a cancel button while it can."""
    assert turn.member is not None
    signups = await shop_events.member_signups(turn.ctx, turn.member.id)
    more = Payload(NAME, START).button(turn._("Events"))
    if not signups:
        return Step([Reply(turn._("You have no places at events."), buttons([more]))])
    lines = [turn._("Your events:")]
    cancels = []
    now = turn.ctx.now()
    for number, signup in enumerate(signups, start=1):
        lines.append(f"{number}. {event_line(turn, signup.event)}")
        if now <= shop_events.cancel_cutoff(turn.ctx, signup.event.starts_at):
            label = turn._("Cancel #{number}", number=number)
            cancels.append(Payload(NAME, ASK_CANCEL, SignupRef(signup.id).pack()).button(label))
        else:
            lines.append(turn._("   (too late to cancel; see you there!)"))
    return Step([Reply("\n".join(lines), _rows(cancels) + buttons([more]))])


async def ask_cancel(turn: Turn) -> Step:
    """Which place, and are you sure? Nothing is cancelled yet."""
    assert turn.member is not None
    tapped = turn.payload.read(SignupRef) if turn.payload else None
    signup_id = tapped.signup_id if tapped else None
    signups = await shop_events.member_signups(turn.ctx, turn.member.id)
    signup = next((s for s in signups if s.id == signup_id), None)
    turn.data.clear()
    try:
        if signup is None:
            raise UnknownEvent(signup=signup_id)
        if turn.ctx.now() > shop_events.cancel_cutoff(turn.ctx, signup.event.starts_at):
            raise EventCancelTooLate(hours=turn.ctx.shop.event_rules.cancel_cutoff_hours)
    except DomainError as error:
        return Step([Reply(turn.describe(error))])
    turn.data["signup"] = signup.id
    lines = [turn._("Give up your place?"), event_line(turn, signup.event)]
    if signup.points:
        lines.append(turn._("Your {points} points come back.", points=signup.points))
    choices = [
        Payload(NAME, CANCEL, YES).button(turn._("Yes, cancel it")),
        Payload(NAME, CANCEL, NO).button(turn._("No, keep it")),
    ]
    return Step([Reply("\n".join(lines), buttons(choices))], next=CANCEL)


async def cancel(turn: Turn) -> Step:
    """A ``once`` step: cancels in core, which refuses after the cut-off."""
    assert turn.member is not None
    if turn.payload is None:
        text = turn._("Please choose one of the buttons, or send /help to leave.")
        return Step([Reply(text)], next=CANCEL)
    if turn.payload.value != YES:
        return Step([Reply(turn._("All right, your place stays."))])
    signup = await shop_events.cancel_signup(turn.ctx, turn.member.id, int(turn.data["signup"]))
    lines = [turn._("Cancelled: {event}", event=event_line(turn, signup.event))]
    if signup.points:
        lines.append(
            turn._(
                "{points} points are back; balance: {balance}.",
                points=signup.points,
                balance=await _balance(turn),
            )
        )
    return Step([Reply("\n".join(lines))])


flow = Flow(
    name=NAME,
    start=show,
    steps={
        ASK: ask,
        CONFIRM: confirm,
        MINE: mine,
        ASK_CANCEL: ask_cancel,
        CANCEL: cancel,
    },
    once=frozenset({CONFIRM, CANCEL}),
    shown_again=frozenset({CONFIRM, CANCEL}),
    stateless=frozenset({ASK, MINE, ASK_CANCEL}),
    commands=("/events",),
    intents=(
        Intents(
            zh=(
                "活动",
                "最近有什么活动",
                "有活动吗",
                "报名活动",
                "会员活动",
                "活动报名",
                "近期活动",
                "有什么活动",
            ),
            en=(
                "events",
                "event",
                "any events",
                "upcoming events",
                "what's on",
                "sign up for an event",
                "member events",
                "workshop",
                "tasting",
            ),
        ),
    ),
    precedence=100,
    menu=Menu(N_("Events"), order=70),
)
FLOWS = (flow,)
