"""``/adjust <member> <±points> <reason>``: a manager corrects a member's points, with a
reason, after confirming; bare ``/adjust`` asks for the member, the points and the reason in
turn. Beyond the shop's cap (``staff.adjust_alert_points``) a manager's adjustment is not
applied but waits for the owner's approval (see ``core.oversight.approvals``);
an owner's applies at once.

Confirm is a ``once`` step: a double tap adjusts once.
"""

from __future__ import annotations

import re

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.member.feedback import too_long
from bot.dialogs.staff.references import find_member, member_line, split_reference
from bot.i18n import N_
from core.errors import InvalidAmount
from core.ledger.adjustments import REASON_MAX
from core.oversight import approvals
from core.people.members import get_member
from core.people.staff import Role
from core.text import blank

NAME = "adjust"
MEMBER, POINTS, REASON, CONFIRM = "member", "points", "reason", "confirm"
YES, NO = "yes", "no"
_POINTS = re.compile(r"^[+-]?\d{1,7}$")


def parse_points(text: str) -> int:
    """``+50``, ``50`` or ``-20``: a whole number other than zero."""
    cleaned = text.strip().replace("＋", "+").replace("－", "-").replace(" ", "")
    if not _POINTS.match(cleaned) or int(cleaned) == 0:
        raise InvalidAmount(value=text.strip()[:20])
    return int(cleaned)


def split_arguments(text: str) -> dict[str, str]:
    """``/adjust Li Lei +50 goodwill gesture``: the member reference is everything before
    the first number after it (a name may have spaces), then the points, then the reason."""
    reference, rest = split_reference(text.split()[1:], lambda word: bool(_POINTS.match(word)))
    found = {"reference": reference} if reference else {}
    if rest:
        found["points"] = rest[0]
    if reason := " ".join(rest[1:]):
        found["reason"] = reason
    return found


async def start(turn: Turn) -> Step:
    turn.data.clear()
    turn.data.update(split_arguments(turn.text))
    return await _next(turn)


async def _next(turn: Turn) -> Step:
    """Ask for what is still missing; confirm once everything is there."""
    data = turn.data
    if "member_id" not in data:
        if "reference" not in data:
            text = turn._("Which member? Type a phone number, member number or name.")
            return Step([Reply(text)], next=MEMBER)
        found = await find_member(turn, NAME, MEMBER, str(data.pop("reference")))
        if isinstance(found, Step):
            return found
        data["member_id"] = found.id
    if "points" not in data:
        text = turn._("How many points? For example +50 to add or -20 to take away.")
        return Step([Reply(text)], next=POINTS)
    if not isinstance(data["points"], int):
        data["points"] = parse_points(str(data.pop("points")))
    if "reason" not in data:
        return Step([Reply(turn._("Why? The reason is kept in the audit log."))], next=REASON)
    if (refusal := too_long(turn, str(data["reason"]), REASON_MAX)) is not None:
        del data["reason"]  # typed again at the question
        return Step([refusal], next=REASON)
    return await _confirm_screen(turn)


async def member(turn: Turn) -> Step:
    turn.data["reference"] = turn.text  # a candidate's button is read by find_member
    return await _next(turn)


async def points(turn: Turn) -> Step:
    # Checked before it is kept, so a typo is answered here and the question stays.
    turn.data["points"] = parse_points(turn.text)
    return await _next(turn)


async def reason(turn: Turn) -> Step:
    text = " ".join(turn.text.split())
    if not blank(text):
        turn.data["reason"] = text
    return await _next(turn)


async def _confirm_screen(turn: Turn) -> Step:
    assert turn.staff is not None
    data = turn.data
    found = await get_member(turn.ctx, int(data["member_id"]))
    lines = [
        turn._(
            "Adjust {points} points for {member}?",
            points=f"{int(data['points']):+d}",
            member=member_line(turn, found),
        ),
        turn._("Reason: {reason}", reason=data["reason"]),
    ]
    if approvals.needs_approval(turn.ctx, turn.staff, int(data["points"])):
        lines.append(
            turn._(
                "This is more than {cap} points, so it waits for the owner's approval.",
                cap=turn.ctx.shop.staff.adjust_alert_points,
            )
        )
    answers = buttons(
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Confirm")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    )
    return Step([Reply("\n".join(lines), answers)], next=CONFIRM)


async def confirm(turn: Turn) -> Step:
    """Adjust (once, however often Confirm is tapped), hold for the owner, or cancel."""
    assert turn.staff is not None
    if turn.payload is None:  # typed text instead of a button: ask again
        return await _confirm_screen(turn)
    if turn.payload.value != YES:
        return Step([Reply(turn._("Cancelled; nothing was changed."))])
    data = turn.data
    found = await get_member(turn.ctx, int(data["member_id"]))
    points = int(data["points"])
    result = await approvals.request_adjustment(
        turn.ctx, turn.staff, found.id, points, str(data["reason"])
    )
    if not result.applied:
        text = turn._(
            "Adjustment of {points} points for {member} waits for the owner's approval (#{alert}).",
            points=f"{points:+d}",
            member=member_line(turn, found),
            alert=result.alert_id,
        )
        return Step([Reply(text)])
    text = turn._(
        "Done: {points} points for {member}. New balance: {balance}.",
        points=f"{points:+d}",
        member=member_line(turn, found),
        balance=result.balance,
    )
    return Step([Reply(text)])


flow = Flow(
    name=NAME,
    start=start,
    steps={MEMBER: member, POINTS: points, REASON: reason, CONFIRM: confirm},
    commands=("/adjust",),
    once=frozenset({CONFIRM}),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("adjust points by hand"), order=80),
)
FLOWS = (flow,)
