"""Staff: members' chats with staff (``core.service.handoff``), answered from chat.

A member's message reaches staff as a push (``handoff_reply``) with Answer and Close
buttons; ``/handoff`` lists the open chats within the staff member's reach, each with a
button. Answer asks for the text, shows it back and sends it only when confirmed, so no
message typed for something else reaches a member. Close ends the chat and tells the
member. Show, Answer and Close are stateless: their buttons work under any earlier message,
and each checks again that the chat is within the staff member's reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogs.engine.dialogs import START, Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.member.feedback import too_long
from bot.dialogs.staff.references import store_name
from bot.i18n import N_
from core.audit import staff_actor
from core.errors import DomainError, HandoffClosed, UnknownHandoff
from core.people.staff import Role
from core.service import handoff
from core.service.handoff import MEMBER, TEXT_MAX, HandoffView
from core.text import blank

NAME = "desk_handoff"
SHOW, ANSWER, TYPED, SEND, CLOSE = "show", "answer", "typed", "send", "close"
YES = "yes"
LISTED = 10  # open chats listed at once
EXCERPT = 40  # characters of the member's last message in the list


@dataclass(frozen=True)
class HandoffRef(ButtonValue):
    """A Show, Answer or Close button's value: the chat it is about."""

    handoff_id: int


def _in_reach(turn: Turn, view: HandoffView) -> bool:
    staff = turn.staff
    return staff is not None and (staff.store is None or view.store in (None, staff.store))


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _to_list(turn: Turn) -> Button:
    return Payload(NAME, START).button(turn._("Open chats"))


def _actions(turn: Turn, handoff_id: int) -> list[Button]:
    ref = HandoffRef(handoff_id).pack()
    return [
        Payload(NAME, ANSWER, ref).button(turn._("Answer")),
        Payload(NAME, CLOSE, ref).button(turn._("Close chat")),
    ]


def open_chat(turn: Turn, view: HandoffView) -> tuple[str, list[Button]]:
    """An open chat as ``/member`` shows it: since when, the member's last words, and a
    button to read and answer it (none for a chat beyond this staff member's reach)."""
    said = [m.text for m in view.messages if m.author == MEMBER and m.text]
    line = turn._(
        "Waiting to chat with staff since {moment}: {last}",
        moment=turn.moment(view.opened_at),
        last=_excerpt(said[-1]) if said else turn._("(no message yet)"),
    )
    shown = Payload(NAME, SHOW, HandoffRef(view.id).pack()).button(turn._("Open chat"))
    return line, [shown] if _in_reach(turn, view) else []


def _who(view: HandoffView) -> str:
    return f"{view.member_name} ({view.member_no})"


def handoff_reply(turn: Turn, view: HandoffView, message_id: int) -> Reply:
    """A member's message as pushed to staff, with Answer and Close (also for a pushed
    ``staff_handoff`` outbox row: only ``turn._`` and the shop are used). A message no
    longer there (the member erased their data) or a chat closed meanwhile is not sent."""
    message = next((m for m in view.messages if m.id == message_id), None)
    if message is None or not message.text:
        raise UnknownHandoff(handoff=view.id)
    if not view.is_open:
        raise HandoffClosed(handoff=view.id)
    head = turn._("Chat #{id}: {member} writes:", id=view.id, member=_who(view))
    if view.store:
        head += "\n" + turn._("Store: {store}", store=store_name(turn, view.store))
    text = "\n".join((head, message.text))
    return Reply(text, buttons(_actions(turn, view.id)))


def _handoff_id(turn: Turn) -> int:
    tapped = turn.payload.read(HandoffRef) if turn.payload else None
    if tapped is None:
        raise UnknownHandoff(handoff=turn.payload.value[:40] if turn.payload else "")
    return tapped.handoff_id


async def _reachable(turn: Turn, handoff_id: int) -> HandoffView:
    """The chat, if this staff member may see it (otherwise it reads as unknown)."""
    view = await handoff.get_handoff(turn.ctx, handoff_id)
    if not _in_reach(turn, view):
        raise UnknownHandoff(handoff=handoff_id)
    return view


async def start(turn: Turn) -> Step:
    """The open chats, oldest first."""
    assert turn.staff is not None
    found = await handoff.open_handoffs(turn.ctx, turn.staff.store)
    if not found:
        return Step([Reply(turn._("No member is waiting to chat with staff."))])
    lines = [turn._("Members waiting to chat with staff ({count}):", count=len(found))]
    choices = []
    for number, view in enumerate(found[:LISTED], start=1):
        said = [m.text for m in view.messages if m.author == MEMBER and m.text]
        last = _excerpt(said[-1]) if said else turn._("(no message yet)")
        lines.append(f"{number}. {_who(view)}, {turn.moment(view.opened_at)}: {last}")
        ref = HandoffRef(view.id).pack()
        choices.append([Payload(NAME, SHOW, ref).button(f"#{number} {view.member_name}")])
    lines.append(turn._("Choose one to read it and answer."))
    return Step([Reply("\n".join(lines), buttons(*choices))])


def _transcript(turn: Turn, view: HandoffView) -> list[str]:
    lines = [turn._("Chat #{id} with {member}", id=view.id, member=_who(view))]
    for m in view.messages:
        who = view.member_name if m.author == MEMBER else m.staff_name or turn._("Staff")
        lines.append(f"{turn.moment(m.created_at)} {who}: {m.text}")
    return lines


async def show(turn: Turn) -> Step:
    """The chat's latest messages, with Answer and Close."""
    try:
        view = await _reachable(turn, _handoff_id(turn))
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_to_list(turn)]))])
    lines = _transcript(turn, view)
    if not view.is_open:
        lines.append(turn._("This chat is closed."))
        return Step([Reply("\n".join(lines), buttons([_to_list(turn)]))])
    return Step([Reply("\n".join(lines), buttons(_actions(turn, view.id), [_to_list(turn)]))])


async def answer(turn: Turn) -> Step:
    """Answer tapped: the next message is the answer (shown back before it goes)."""
    try:
        view = await _reachable(turn, _handoff_id(turn))
        if not view.is_open:
            raise HandoffClosed(handoff=view.id)
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_to_list(turn)]))])
    turn.data.clear()  # the button may come from an old push, inside another conversation
    turn.data["handoff"] = view.id
    turn.data["member"] = view.member_name  # so erasing the member finds a draft answer
    text = turn._(
        "Type your answer to {member} (at most {max} characters). You will see it again "
        "before it is sent.",
        member=view.member_name,
        max=TEXT_MAX,
    )
    return Step([Reply(text)], next=TYPED)


async def typed(turn: Turn) -> Step:
    """The typed answer, shown back with Send and Cancel (the raw message: one over the
    limit is refused, never cut)."""
    text = turn.event.text.strip()
    if turn.payload is not None or blank(text) or "\x00" in text:
        return Step([Reply(turn._("Please type your answer as a message."))], next=TYPED)
    if (refusal := too_long(turn, text, TEXT_MAX)) is not None:
        return Step([refusal], next=TYPED)
    view = await _reachable(turn, int(turn.data["handoff"]))
    turn.data["answer"] = text
    question = turn._("Send this to {member}?", member=view.member_name)
    choices = [
        Payload(NAME, SEND, YES).button(turn._("Send")),
        Payload(NAME, SEND).button(turn._("Cancel")),
    ]
    return Step([Reply(f"{question}\n\n{text}", buttons(choices))], next=SEND)


async def send(turn: Turn) -> Step:
    """Send or cancel the shown answer (once, however often Send is tapped)."""
    assert turn.staff is not None
    handoff_id = int(turn.data["handoff"])
    if turn.payload is None or turn.payload.value != YES:
        if turn.payload is None:  # typed again: the new text is the answer to confirm
            return await typed(turn)
        ref = HandoffRef(handoff_id).pack()
        again = [Payload(NAME, ANSWER, ref).button(turn._("Answer")), _to_list(turn)]
        return Step([Reply(turn._("Not sent."), buttons(again))])
    try:
        view = await _reachable(turn, handoff_id)
        view = await handoff.answer_handoff(
            turn.ctx, view.id, str(turn.data["answer"]), staff_id=turn.staff.id
        )
    except DomainError as error:  # e.g. the member ended the chat meanwhile
        return Step([Reply(turn.describe(error), buttons([_to_list(turn)]))])
    text = turn._("Your answer was sent to {member}.", member=view.member_name)
    return Step([Reply(text, buttons(_actions(turn, view.id), [_to_list(turn)]))])


async def close(turn: Turn) -> Step:
    """Close a chat (closing a closed one changes nothing); the member is told."""
    assert turn.staff is not None
    try:
        view = await _reachable(turn, _handoff_id(turn))
        actor = staff_actor(turn.staff.id)
        view = await handoff.close_handoff(turn.ctx, view.id, actor=actor, staff_id=turn.staff.id)
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_to_list(turn)]))])
    text = turn._("The chat with {member} is closed.", member=view.member_name)
    return Step([Reply(text, buttons([_to_list(turn)]))])


flow = Flow(
    name=NAME,
    start=start,
    steps={SHOW: show, ANSWER: answer, TYPED: typed, SEND: send, CLOSE: close},
    stateless=frozenset({SHOW, ANSWER, CLOSE}),
    once=frozenset({SEND}),
    commands=("/handoff",),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("chats members asked for"), order=45),
)
FLOWS = (flow,)
