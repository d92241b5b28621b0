"""The dialog engine: one event in, replies out, for every channel.

Routing, in order: a slash command or menu click starts its flow (leaving any other); a
button continues the flow it belongs to; text continues the open conversation; otherwise the
intents it matches start a flow (or are offered: "Did you mean …?"); otherwise the help menu —
never silence. A first contact (follow, deep link, QR scan) is ``/start``; a menu click
names its flow. Someone not yet a member is taken through registration first. Domain errors
become a translated reply and the flow stays on its step, so bad input never loses the
conversation. Every refusal — a command
beyond the sender's role, or a step of one (another store's campaign) — is audited.

A command that was tapped, not typed (a WeChat link that is not one of memberbot's, say in
a member's text shown to a clerk), is shown and asked about first: it runs only when the
person confirms, so one tap never records a sale or changes points. Anything else tapped
that is not ours is no longer valid.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from bot.dialogs.engine import waiting
from bot.dialogs.engine.intents import Intents, Matcher, Target
from bot.dialogs.engine.menus import Menu, MenuCommand, StaffHelp
from bot.dialogs.engine.types import Button, Event, Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import CHOICES, Expects
from bot.error_texts import describe
from bot.i18n import (
    LOCALES,
    N_,
    format_day,
    format_moment,
    format_money,
    gettext,
    locale_for_hint,
)
from core.audit import member_actor
from core.context import Context
from core.errors import DomainError, NotAllowed
from core.people import conversations
from core.people.members import MemberView
from core.people.staff import Role, StaffView, record_refusal, set_locale
from core.shop import ShopFileError

log = logging.getLogger(__name__)
START = "start"
TAPPED, CONFIRM, YES = "tapped", "confirm", "yes"  # the question of a tapped command
STAMP = "_stamp"  # in a conversation's data: the turn that showed its buttons (Payload.stamp)
NO_LONGER_VALID = N_("This button is no longer valid; nothing more was done.")
TEXT_MAX = 2000  # longer messages are cut before any flow sees them
MEDIA_REPLY = N_("Sorry, I can only read text. Please type, or use the menu.")
MEDIA_REPLIES = {
    # A contact that is not the sender's own: a phone number is only taken from its owner.
    "contact": N_("Please share your own phone number with the button, or type it."),
}


@dataclass
class Turn:
    """Everything a step needs about this event; ``data`` is the flow's saved state."""

    ctx: Context
    event: Event
    identity: conversations.Identity
    member: MemberView | None
    locale: str
    data: dict[str, Any] = field(default_factory=dict)
    payload: Payload | None = None
    staff: StaffView | None = None  # the staff role of this chat account, if it has one
    flows: tuple[Flow, ...] = ()  # every flow served, for the menus made of them
    suggestions: tuple[Target, ...] = ()  # free text that came close to these: "Did you mean"

    @property
    def text(self) -> str:
        """What was typed, as the steps read it. NUL is dropped: no person types it, and
        PostgreSQL refuses it in any statement (a member search for it failed)."""
        return self.event.text.replace("\x00", "").strip()[:TEXT_MAX]

    def _(self, message: str, /, **params: object) -> str:
        return gettext(self.locale, message, **params)

    def describe(self, error: DomainError) -> str:
        """The error's sentence for this reader, stores named by name."""
        return describe(error, self.locale, self.ctx.shop)

    def money(self, fen: int) -> str:
        return format_money(fen, self.locale, self.ctx.shop.shop.currency)

    def day(self, value: date | datetime) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.ctx.zone)
        return format_day(value, self.locale)

    def moment(self, value: datetime) -> str:
        return format_moment(value, self.locale, self.ctx.zone)


Handler = Callable[[Turn], Awaitable[Step]]


@dataclass(frozen=True)
class Flow:
    """One user journey, declared once: everything about it is here, and the menus, help
    and channels' command menus are made from the flows (a WeChat menu click names a flow).

    ``steps`` are entered by a button or by the next message while the conversation waits
    in them; ``once`` steps act (redeem, book, …) and run at most once per conversation
    step, however often the button is tapped; ``stateless`` steps may be run by a button
    long after the conversation moved on (e.g. "why?"). Free text reaches a flow by its
    ``intents`` (``keywords`` are phrases too); ``expects`` names what a waiting step takes
    (a step not named takes free text; see ``waiting``)."""

    name: str
    start: Handler
    steps: dict[str, Handler] = field(default_factory=dict)
    commands: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    intents: tuple[Intents, ...] = ()
    once: frozenset[str] = frozenset()
    shown_again: frozenset[str] = frozenset()  # once steps whose answer a repeated tap gets
    stateless: frozenset[str] = frozenset()
    media_steps: frozenset[str] = frozenset()  # steps a picture, voice… goes to (``media``)
    needs_member: bool = True
    role: Role | None = None  # staff flows: the lowest role allowed (and no membership needed)
    precedence: int = 0
    menu: Menu | None = None
    staff_help: StaffHelp | None = None
    command_menu: tuple[MenuCommand, ...] = ()
    expects: dict[str, Expects] = field(default_factory=dict)

    def expecting(self, step: str) -> Expects:
        return self.expects.get(step.removesuffix(conversations.CLAIMED), Expects.TEXT)


class Dialogs:
    """The engine over a set of flows; ``registration`` and ``help`` are flow names it
    falls back on."""

    def __init__(
        self, ctx: Context, flows: Sequence[Flow], *, registration: str, help: str
    ) -> None:
        self.ctx = ctx
        self.served = tuple(flows)
        self.flows = {flow.name: flow for flow in flows}
        self.registration = self.flows[registration]
        self.help = self.flows[help]
        self.matcher = Matcher(intent_phrases(self.served, ctx.shop.intents))

    async def handle(
        self, event: Event, sender: conversations.Arrival | None = None
    ) -> list[Reply]:
        """The replies to ``event``; ``sender`` when the channel has read it already."""
        ctx = self.ctx
        if sender is None:
            sender = await conversations.arrival(
                ctx,
                event.sender.channel,
                event.sender.user_id,
                event=event.menu is not None or event.start is not None,
            )
        identity, member, current, staff = (
            sender.identity,
            sender.member,
            sender.conversation,
            sender.staff,
        )
        finished = current if current is not None and current.done else None
        if finished is not None:  # over: only its answer is kept, for a repeated tap
            current = None
        if event.media is not None and not self._takes_media(current):
            # Leave any conversation where it is: the next text continues it.
            locale = self._locale(member, current, event)
            return [Reply(gettext(locale, MEDIA_REPLIES.get(event.media, MEDIA_REPLY)))]
        payload = Payload.unpack(event.payload) if event.payload is not None else None
        turn = Turn(
            ctx=ctx,
            event=event,
            identity=identity,
            member=member,
            locale=self._locale(member, current, event),
            data=dict(current.data) if current else {},
            payload=payload,
            staff=staff,
            flows=self.served,
        )
        replies = await self._replies(turn, sender, current, finished)
        if staff is not None and turn.locale != staff.locale:
            # What they read now is what their alerts and digests are worded in.
            await set_locale(ctx, staff.id, turn.locale)
        return replies

    async def _replies(
        self,
        turn: Turn,
        sender: conversations.Arrival,
        current: conversations.Conversation | None,
        finished: conversations.Conversation | None,
    ) -> list[Reply]:
        """A repeated tap's kept answer, a tapped command's question, or the turn itself."""
        payload = turn.payload
        if finished is not None and _repeats(payload, finished):
            return _answer(finished.data)
        if self._outdated(payload, current):
            return [Reply(turn._(NO_LONGER_VALID))]
        flows = (payload.flow if payload else "", current.flow if current else "")
        if turn.event.tapped or TAPPED in flows:
            outcome = await self._tapped(turn, current)
            if isinstance(outcome, Event):  # confirmed: run as if typed, in no conversation
                return await self.handle(outcome, replace(sender, conversation=None))
            if outcome is not None:
                return outcome
            current, turn.data = None, {}  # the question was left: this event goes on as usual
        return await self._turn(turn, current)

    async def _turn(self, turn: Turn, current: conversations.Conversation | None) -> list[Reply]:
        """The replies of a turn: a word that leaves the waiting step, else its flow and
        step, run."""
        member, staff = turn.member, turn.staff
        if member is None and staff is not None and self._is_spent(turn, current):
            # A confirm button tapped again after its conversation ended: a member gets the
            # menu (below), but staff who are no members must not land in registration.
            return [Reply(turn._(NO_LONGER_VALID))]
        left = await self._left(turn, current)
        if left == waiting.CANCEL and member is None and staff is None:
            return [Reply(turn._(waiting.CANCELLED))]  # no menu before registration
        if left is not None:
            current, turn.data = None, {}
        flow, step_name = (self.help, START) if left else self._route(turn, current)
        replies = await self._run(turn, current, flow, step_name)
        if left == waiting.CANCEL:
            return [Reply(turn._(waiting.CANCELLED)), *replies]
        return replies

    async def _left(self, turn: Turn, current: conversations.Conversation | None) -> str | None:
        """For typed text in a waiting step: the button it picks becomes the turn's payload;
        a word that leaves any step ends the conversation (``waiting.CANCEL`` or
        ``waiting.MENU``, else None)."""
        flow = self.flows.get(current.flow) if current is not None else None
        event = turn.event
        if current is None or flow is None or turn.payload is not None or event.menu:
            return None
        if event.start is not None or turn.text.startswith("/"):
            return None
        picked = waiting.typed_choice(turn.text, turn.data, flow.expecting(current.step))
        if picked is not None:
            turn.payload = Payload.unpack(picked)
            return None
        left = waiting.leaving(turn.text)
        if left is not None:
            await conversations.end_conversation(self.ctx, turn.identity.id)
        return left

    async def _run(
        self,
        turn: Turn,
        current: conversations.Conversation | None,
        flow: Flow,
        step_name: str,
    ) -> list[Reply]:
        """The step run; the conversation saved (buttons kept, how to leave said) or ended."""
        ctx, identity, member, staff = self.ctx, turn.identity, turn.member, turn.staff
        if flow.role is not None and (staff is None or not staff.role.allows(flow.role)):
            await self._audit_refusal(turn, flow)
            return [Reply(turn.describe(NotAllowed(needed=flow.role.value)))]
        staff_help = flow is self.help and staff is not None  # staff need no membership
        if flow.role is None and flow.needs_member and member is None and not staff_help:
            flow, step_name, turn.data = self.registration, START, {}
        if step_name == START and (current is None or current.flow != flow.name):
            turn.data = {}
        claimed = step_name in flow.once
        if claimed and not await conversations.claim_step(ctx, identity.id, flow.name, step_name):
            return [Reply(turn._("This was already done."))]
        handler = flow.start if step_name == START else flow.steps[step_name]
        try:
            result = await handler(turn)
        except DomainError as error:
            if isinstance(error, NotAllowed):  # a step beyond the role (another store, …)
                await self._audit_refusal(turn, flow)
            # Stay where we were: the person can correct the input and go on.
            result = Step([Reply(turn.describe(error))], next=step_name)
            if step_name in flow.stateless:
                # A button of an old message: the conversation stays where it was (waiting
                # in the stateless step, the next text would run it again without a button).
                return result.replies
            if step_name == START or step_name in flow.once:
                result.next = None
        kept = _kept(result.replies) if claimed and step_name in flow.shown_again else None
        if kept is not None:  # a repeat of the tap that finished it shows this answer
            kept[STAMP] = turn.data.get(STAMP, "")
        if result.next is None and kept is not None:
            await conversations.finish_step(ctx, identity.id, flow.name, step_name, kept)
        elif result.next is None:
            if current is not None or claimed:  # a write only when there is one to end
                await conversations.end_conversation(ctx, identity.id)
        else:
            if _asked_again(current, flow, step_name, result.next, turn.data):
                result.replies = waiting.shown_again(result.replies, turn.data)
            if flow.expecting(result.next) is not Expects.CHAT:  # a chat says how to end it
                result.replies = waiting.with_hint(result.replies, turn.locale)
            if _stateful(result.replies, flow):  # buttons of another state are outdated
                turn.data[STAMP] = _stamp(flow.name, result.next, turn.data)
                result.replies = _stamped(result.replies, flow, turn.data[STAMP])
            turn.data[CHOICES] = waiting.kept(result.replies)
            await conversations.save_conversation(
                ctx, identity.id, flow.name, result.next, turn.data
            )
        return result.replies

    def _takes_media(self, current: conversations.Conversation | None) -> bool:
        """Whether the conversation waits in a step that takes what the bot cannot read
        (a member's chat with staff forwards a picture as "[image]")."""
        flow = self.flows.get(current.flow) if current is not None else None
        return flow is not None and current is not None and current.step in flow.media_steps

    def _outdated(
        self, payload: Payload | None, current: conversations.Conversation | None
    ) -> bool:
        """A button acting on the conversation's state, shown under an older message than
        its newest buttons: it must not act on what the newest ones show."""
        flow = self.flows.get(payload.flow) if payload else None
        if payload is None or flow is None or not _acts_on_state(payload, flow):
            return False
        return (
            current is not None
            and current.flow == flow.name
            and payload.stamp != current.data.get(STAMP, "")
        )

    async def _tapped(
        self, turn: Turn, current: conversations.Conversation | None
    ) -> list[Reply] | Event | None:
        """A tapped command's question, its answer (the command to run: an Event), or
        None when the question is left for something else."""
        ctx, identity = self.ctx, turn.identity
        if turn.event.tapped:
            if not turn.text.startswith("/"):
                return [Reply(turn._(NO_LONGER_VALID))]
            stamp = _stamp(TAPPED, CONFIRM, {"command": turn.text})
            data = {"command": turn.text, STAMP: stamp}
            await conversations.save_conversation(ctx, identity.id, TAPPED, CONFIRM, data)
            text = turn._(
                "A link you tapped sends this command:\n{command}\nRun it?", command=turn.text
            )
            answers = [
                Payload(TAPPED, CONFIRM, YES, stamp).button(turn._("Run it")),
                Payload(TAPPED, CONFIRM, stamp=stamp).button(turn._("Cancel")),
            ]
            return [Reply(text, buttons(answers))]
        if turn.payload is None or turn.payload.flow != TAPPED:
            await conversations.end_conversation(ctx, identity.id)
            return None
        # Once, however often it is tapped; and only while its own question is open.
        asked = current.data.get(STAMP) if current and current.flow == TAPPED else None
        if turn.payload.stamp != asked:
            return [Reply(turn._(NO_LONGER_VALID))]
        if not await conversations.claim_step(ctx, identity.id, TAPPED, CONFIRM):
            return [Reply(turn._(NO_LONGER_VALID))]
        await conversations.end_conversation(ctx, identity.id)
        command = str(current.data.get("command", "")) if current else ""
        if turn.payload.value != YES or not command:
            return [Reply(turn._("Cancelled; nothing was changed."))]
        return Event(turn.event.sender, text=command, delivery=turn.event.delivery)

    async def _audit_refusal(self, turn: Turn, flow: Flow) -> None:
        """Every refusal is audited: the command refused outright, or a step of it."""
        staff, member = turn.staff, turn.member
        actor = staff.actor if staff else member_actor(member.id) if member else "stranger"
        await record_refusal(self.ctx, actor, flow.name, turn.identity.channel, member)

    def _locale(
        self, member: MemberView | None, current: conversations.Conversation | None, event: Event
    ) -> str:
        if member is not None:
            return member.locale
        chosen = current.data.get("locale") if current else None
        if chosen in LOCALES:
            return str(chosen)
        return locale_for_hint(event.sender.locale_hint)

    def _is_spent(self, turn: Turn, current: conversations.Conversation | None) -> bool:
        payload = turn.payload
        flow = self.flows.get(payload.flow) if payload else None
        if payload is None or flow is None or payload.action not in flow.once:
            return False
        return not (current and current.flow == flow.name and current.step == payload.action)

    @staticmethod
    def _for_sender(turn: Turn, claimants: list[Flow]) -> Flow:
        """Of several flows sharing a command (``/bookings``: a member's own, or the
        staff's list of the day), the staff flow the sender's role allows, else the
        member flow, else the first (which then refuses)."""
        staff = turn.staff
        for flow in claimants:
            if flow.role is not None and staff is not None and staff.role.allows(flow.role):
                return flow
        return next((flow for flow in claimants if flow.role is None), claimants[0])

    def _route(self, turn: Turn, current: conversations.Conversation | None) -> tuple[Flow, str]:
        text = turn.text
        if turn.event.menu:
            return self.flows.get(turn.event.menu, self.help), START
        if turn.event.start is not None or text.startswith("/"):
            key = "/start" if turn.event.start is not None else text.split()[0].lower()
            claimants = [flow for flow in self.flows.values() if key in flow.commands]
            return (self._for_sender(turn, claimants) if claimants else self.help), START
        payload = turn.payload
        if payload is not None:
            flow = self.flows.get(payload.flow)
            if flow is None:
                return self.help, START
            if payload.action == START:
                return flow, START
            if payload.action in flow.stateless:
                return flow, payload.action
            if (
                current
                and current.flow == flow.name
                and current.step
                in (
                    payload.action,
                    payload.action + conversations.CLAIMED,  # being done: "already done"
                )
            ):
                return flow, payload.action
            log.info("stale button %s:%s", payload.flow, payload.action)
            return self.help, START
        if current is not None:
            flow = self.flows[current.flow]
            if not flow.expecting(current.step).free:
                # Not free text: a message that clearly means another flow starts it.
                other = self._meant_flow(text)
                if other is not None and other is not flow:
                    return other, START
            return flow, current.step
        verdict = self.matcher.match(text)
        if verdict.start is not None:  # only ever a start or an asking step: nothing is done
            target = verdict.start
            if target.step != START:
                turn.payload = Payload(target.flow, target.step, target.value)
            return self.flows[target.flow], target.step
        turn.suggestions = verdict.suggestions
        return self.help, START

    def _meant_flow(self, text: str) -> Flow | None:
        """The flow whose start a text confidently means, if any."""
        verdict = self.matcher.match(text) if text else None
        if verdict is None or verdict.start is None or verdict.start.step != START:
            return None
        return self.flows[verdict.start.flow]


def _asked_again(
    current: conversations.Conversation | None,
    flow: Flow,
    step: str,
    following: str,
    data: dict[str, Any],
) -> bool:
    """A step that waited and waits again about the same things: its answer was refused
    (or empty). A step that asks its next question in itself has new data."""
    if current is None or current.flow != flow.name or flow.expecting(step) is Expects.CHAT:
        return False
    waited = current.step.removesuffix(conversations.CLAIMED)
    return waited == step == following and _state(current.data) == _state(data)


def _state(data: dict[str, Any]) -> dict[str, Any]:
    """A conversation's data without what the engine keeps in it."""
    return {k: v for k, v in data.items() if k not in (STAMP, CHOICES)}


def intent_phrases(
    flows: Sequence[Flow], extra: Mapping[str, Sequence[str]]
) -> dict[Target, list[str]]:
    """Every flow's phrases by where they lead, with the shop file's ``[intents]`` (flow
    name → phrases, which start the flow); an unknown flow name there is a shop-file error."""
    named = {flow.name: flow for flow in flows}
    unknown = sorted(set(extra) - set(named))
    if unknown:
        known = ", ".join(sorted(name for name, f in named.items() if f.role is None))
        raise ShopFileError(f"intents.{unknown[0]}: no flow named {unknown[0]!r} (known: {known})")
    phrases: dict[Target, list[str]] = {}
    for flow in flows:
        label = flow.menu.label if flow.menu else ""
        if not label and flow.command_menu:
            label = flow.command_menu[0].description
        start = Target(flow.name, label=label)
        phrases.setdefault(start, []).extend((*flow.keywords, *extra.get(flow.name, ())))
        for intent in flow.intents:
            if intent.step != START and intent.step not in flow.stateless:
                raise ValueError(f"{flow.name}: intents may lead only to stateless steps")
            target = replace(start, step=intent.step, value=intent.value)
            target = replace(target, label=intent.label or label)
            phrases.setdefault(target, []).extend((*intent.zh, *intent.en))
    return {target: found for target, found in phrases.items() if found}


def _kept(replies: list[Reply]) -> dict[str, Any] | None:
    """Replies as a conversation keeps them (texts and buttons; None with an image)."""
    if any(reply.image is not None or reply.phone_button for reply in replies):
        return None
    return {
        "replies": [
            {"text": r.text, "buttons": [[[b.label, b.payload] for b in row] for row in r.buttons]}
            for r in replies
        ]
    }


def _repeats(payload: Payload | None, finished: conversations.Conversation) -> bool:
    """The button of the step that ``finished`` the conversation, tapped again (under the
    same message: the same stamp)."""
    return (
        payload is not None
        and finished.flow == payload.flow
        and finished.step == payload.action + conversations.DONE
        and payload.stamp == finished.data.get(STAMP, "")
    )


def _stamp(flow: str, step: str, data: dict[str, Any]) -> str:
    """The stamp of a conversation's state: the same question about the same things, shown
    again, keeps its older buttons valid; any other state outdates them."""
    named = json.dumps([flow, step, _state(data)], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(named.encode()).hexdigest()[:8]


def _acts_on_state(payload: Payload | None, flow: Flow) -> bool:
    """Whether a button is one of ``flow``'s whose step reads the conversation's state
    (stateless steps and starts carry all they act on in their value)."""
    return (
        payload is not None
        and payload.flow == flow.name
        and payload.action != START
        and payload.action not in flow.stateless
    )


def _stateful(replies: list[Reply], flow: Flow) -> bool:
    return any(
        _acts_on_state(Payload.unpack(b.payload), flow) for reply in replies for b in reply.choices
    )


def _stamped(replies: list[Reply], flow: Flow, stamp: str) -> list[Reply]:
    """The replies, their buttons acting on ``flow``'s state stamped with this turn."""

    def one(button: Button) -> Button:
        p = Payload.unpack(button.payload)
        if p is None or not _acts_on_state(p, flow):
            return button
        return Button(button.label, replace(p, stamp=stamp).pack())

    return [
        replace(reply, buttons=tuple(tuple(one(b) for b in row) for row in reply.buttons))
        for reply in replies
    ]


def _answer(kept: dict[str, Any]) -> list[Reply]:
    """The replies ``_kept`` kept."""
    return [
        Reply(
            str(reply["text"]),
            tuple(
                tuple(Button(str(label), str(payload)) for label, payload in row)
                for row in reply["buttons"]
            ),
        )
        for reply in kept.get("replies", [])
    ]
