"""Staff: the feedback queue, urgent first; read one in full, answer it or close it.

``/feedback`` lists open feedback (1–2 stars first, then oldest first), each with a
button. The button shows the feedback in full and waits for the answer: the next message is shown
back with Send / Edit / Cancel (a clerk's "积分" typed here must not reach the member), and
Send sends it (``core.service.feedback.answer_feedback`` queues it in the outbox, in the
same transaction). "Close without answering" closes it (``close_feedback``).

Clerks and managers see the feedback about their own store and the feedback about no
store in particular (what members send from the chat); an owner of every store sees all.
Showing and closing are stateless steps: their buttons work from any earlier message, and
each checks again that the feedback is within the staff member's reach.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogs.engine.dialogs import START, Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.engine.waiting import NO, YES, Expects
from bot.dialogs.member.feedback import too_long
from bot.dialogs.staff.bookings import store_name
from bot.error_texts import FEEDBACK_CATEGORY_NAMES
from bot.i18n import N_
from core.errors import DomainError, UnknownFeedback
from core.people.members import get_member, mask_phone
from core.people.staff import Role
from core.service import feedback
from core.service.feedback import CLOSED, LIMIT_MAX, RATING_MAX, TEXT_MAX, FeedbackView
from core.text import blank

NAME = "desk_feedback"
SHOW, ANSWER, SEND, CLOSE = "show", "answer", "send", "close"
EDIT = "edit"
STAR = "⭐"
URGENT = "❗"
LISTED = 10  # feedback shown in the queue at once (answered or closed ones make room)
EXCERPT = 40  # characters of each text in the queue


@dataclass(frozen=True)
class FeedbackRef(ButtonValue):
    """A Show or Close button's value: the feedback it is about."""

    feedback_id: int


def _in_reach(turn: Turn, item: FeedbackView) -> bool:
    assert turn.staff is not None
    return turn.staff.store is None or item.store in (None, turn.staff.store)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _to_queue(turn: Turn) -> Button:
    return Payload(NAME, START).button(turn._("Open feedback"))


async def _reachable(turn: Turn, feedback_id: int) -> FeedbackView:
    """The feedback, if this staff member may see it (otherwise it reads as unknown)."""
    item = await feedback.get_feedback(turn.ctx, feedback_id)
    if not _in_reach(turn, item):
        raise UnknownFeedback(feedback=feedback_id)
    return item


def _feedback_id(turn: Turn) -> int:
    tapped = turn.payload.read(FeedbackRef) if turn.payload else None
    if tapped is None:
        raise UnknownFeedback(feedback=turn.payload.value[:40] if turn.payload else "")
    return tapped.feedback_id


async def start(turn: Turn) -> Step:
    """The queue: urgent first, then oldest first."""
    queue = [
        item
        for item in await feedback.open_feedback(turn.ctx, None, LIMIT_MAX)
        if _in_reach(turn, item)
    ]
    if not queue:
        return Step([Reply(turn._("There is no open feedback."))])
    lines = [turn._("Open feedback, urgent first ({count}):", count=len(queue))]
    choices = []
    for number, item in enumerate(queue[:LISTED], start=1):
        mark = f"{URGENT} " if item.urgent else ""
        lines.append(
            f"{number}. {mark}{STAR * item.rating} {item.member_name}, "
            f"{turn.day(item.created_at)}: {_excerpt(item.text)}"
        )
        label = f"#{number} {item.member_name}"
        choices.append([Payload(NAME, SHOW, FeedbackRef(item.id).pack()).button(label)])
    lines.append(turn._("Choose one to read it in full and answer it."))
    return Step([Reply("\n".join(lines), buttons(*choices))])


async def _member_line(turn: Turn, item: FeedbackView) -> str:
    """Name, number and phone (masked for clerks), so staff can call back."""
    assert turn.staff is not None
    member = await get_member(turn.ctx, item.member_id)
    phone = member.phone or ""
    if not turn.staff.role.allows(Role.MANAGER):
        phone = mask_phone(member.phone)
    return f"{member.name} ({member.member_no}{', ' + phone if phone else ''})"


async def show(turn: Turn) -> Step:
    """One feedback in full; then the next message is the answer."""
    try:
        item = await _reachable(turn, _feedback_id(turn))
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_to_queue(turn)]))])
    category = FEEDBACK_CATEGORY_NAMES.get(item.category)
    lines = [
        turn._("Feedback #{id}", id=item.id),
        turn._("From: {member}", member=await _member_line(turn, item)),
        turn._("Sent: {moment}", moment=turn.moment(item.created_at)),
        turn._(
            "Rating: {stars} ({rating} of {max})",
            stars=STAR * item.rating,
            rating=item.rating,
            max=RATING_MAX,
        ),
        turn._("Topic: {topic}", topic=turn._(category) if category else item.category),
    ]
    if item.store:
        lines.append(turn._("Store: {store}", store=store_name(turn, item.store)))
    if item.receipt_no:
        lines.append(turn._("Receipt: {receipt_no}", receipt_no=item.receipt_no))
    lines += ["", item.text, ""]
    if item.answer:
        lines.append(turn._("Answer: {answer}", answer=item.answer))
    if item.status == CLOSED:
        lines.append(turn._("This feedback is closed."))
        return Step([Reply("\n".join(lines), buttons([_to_queue(turn)]))])
    lines.append(
        turn._(
            "Type your answer (at most {max} characters) to send it to {name}, "
            "or close the feedback without answering.",
            max=TEXT_MAX,
            name=item.member_name,
        )
    )
    choices = [
        Payload(NAME, CLOSE, FeedbackRef(item.id).pack()).button(turn._("Close without answering")),
        _to_queue(turn),
    ]
    turn.data.clear()  # the button may come from an old list, inside another conversation
    turn.data["feedback"] = item.id
    return Step([Reply("\n".join(lines), buttons(choices))], next=ANSWER)


async def answer(turn: Turn) -> Step:
    """The typed answer, kept as typed (the raw message: a text over the limit is refused,
    never cut) and shown back to be sent, edited or dropped."""
    assert turn.staff is not None
    if turn.payload is not None:
        return Step([Reply(turn._("Please type your answer as a message."))], next=ANSWER)
    text = turn.event.text.strip()
    if blank(text) or "\x00" in text:
        return Step([Reply(turn._("Please type your answer as a message."))], next=ANSWER)
    if (refusal := too_long(turn, text)) is not None:
        return Step([refusal], next=ANSWER)
    try:
        item = await _reachable(turn, int(turn.data["feedback"]))
    except DomainError as error:  # e.g. it is gone meanwhile: nothing to wait for
        return Step([Reply(turn.describe(error), buttons([_to_queue(turn)]))])
    turn.data["answer"] = text
    question = turn._("Send this answer to {name}?", name=item.member_name)
    choices = [
        Payload(NAME, SEND, YES).button(turn._("Send")),
        Payload(NAME, SEND, EDIT).button(turn._("Edit")),
        Payload(NAME, SEND, NO).button(turn._("Cancel")),
    ]
    return Step([Reply(f"{question}\n\n{text}", buttons(choices))], next=SEND)


async def send(turn: Turn) -> Step:
    """The answer shown back: sent (once, however often Send is tapped), typed again, or
    dropped. The member gets it through the outbox."""
    assert turn.staff is not None
    value = turn.payload.value if turn.payload else ""
    if value == EDIT:
        return Step([Reply(turn._("Type your answer again:"))], next=ANSWER)
    if value == NO:
        text = turn._("Cancelled; nothing was sent.")
        return Step([Reply(text, buttons([_to_queue(turn)]))])
    if value != YES:
        return Step([Reply(turn._("Please choose one of the buttons."))], next=SEND)
    text = str(turn.data["answer"])
    try:
        item = await _reachable(turn, int(turn.data["feedback"]))
        item = await feedback.answer_feedback(turn.ctx, item.id, text, staff_id=turn.staff.id)
    except DomainError as error:  # e.g. a colleague closed it meanwhile: nothing to wait for
        return Step([Reply(turn.describe(error), buttons([_to_queue(turn)]))])
    reply = turn._("Your answer was sent to {name}.", name=item.member_name)
    choices = [
        Payload(NAME, CLOSE, FeedbackRef(item.id).pack()).button(turn._("Close the feedback")),
        _to_queue(turn),
    ]
    return Step([Reply(reply, buttons(choices))])


async def close(turn: Turn) -> Step:
    """Close a feedback, answered or not (closing a closed one changes nothing)."""
    assert turn.staff is not None
    try:
        item = await _reachable(turn, _feedback_id(turn))
        item = await feedback.close_feedback(turn.ctx, item.id, staff_id=turn.staff.id)
    except DomainError as error:
        return Step([Reply(turn.describe(error), buttons([_to_queue(turn)]))])
    text = turn._("Feedback #{id} from {name} is closed.", id=item.id, name=item.member_name)
    return Step([Reply(text, buttons([_to_queue(turn)]))])


flow = Flow(
    name=NAME,
    start=start,
    steps={SHOW: show, ANSWER: answer, SEND: send, CLOSE: close},
    stateless=frozenset({SHOW, CLOSE}),
    once=frozenset({SEND}),
    expects={SEND: Expects.CHOICE},
    commands=("/feedback",),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("answer feedback"), order=50),
)
FLOWS = (flow,)
