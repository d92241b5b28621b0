"""``/alerts``: the owner's open alerts (``core.oversight.alerts``), each with Approve and Reject.

The buttons are ``stateless`` and carry the alert's id, so the same buttons work under an
alert pushed to the owner's chat long before (``alert_reply`` renders both). A second tap,
or a second owner, is told the alert was already decided; nothing happens twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, ButtonValue, Payload, Reply, Step, buttons
from bot.i18n import N_
from bot.names import store_label
from core.errors import UnknownAlert
from core.ledger import statement
from core.oversight import alerts, approvals
from core.oversight.alerts import AlertView
from core.people.staff import Role

NAME = "alerts"
APPROVE, REJECT = "approve", "reject"
SHOWN_MAX = 10  # alerts listed at once; the rest after deciding these


@dataclass(frozen=True)
class AlertRef(ButtonValue):
    """An Approve or Reject button's value: the alert it decides."""

    alert_id: int


def _store(turn: Turn, code: object) -> str:
    return store_label(turn.ctx.shop, str(code), turn.locale)


def _member(alert: AlertView) -> str:
    if alert.member_id is None:
        return "-"
    return f"{alert.member_name} ({alert.member_no})"


def _staff(turn: Turn, alert: AlertView) -> str:
    if alert.staff_id is None:
        return turn._("the system")
    return alert.staff_name or turn._("staff #{id}", id=alert.staff_id)


def alert_text(turn: Turn, alert: AlertView) -> str:
    """What an owner reads about an alert, in their language (also for a pushed
    ``staff_alert`` outbox row). Only ``turn._``, ``turn.money``, ``turn.moment`` and the
    shop are used."""
    details = alert.details
    head = turn._("Alert #{id}, {moment}", id=alert.id, moment=turn.moment(alert.created_at))
    if alert.kind == alerts.ADJUSTMENT:
        body = turn._(
            "{staff} asks to adjust {points} points for {member}. Reason: {reason}",
            staff=_staff(turn, alert),
            points=f"{int(details['points']):+d}",
            member=_member(alert),
            reason=details.get("reason", ""),
        )
        if alert.is_open:
            body += "\n" + turn._("It is not applied until you approve it.")
    elif alert.kind == alerts.REFUND_SHORTFALL:
        body = turn._(
            "Refund of {amount} on receipt {receipt} ({store}) for {member}: {points} points "
            "had already been spent and could not be taken back.",
            amount=turn.money(int(details["amount_fen"])),
            receipt=details.get("receipt_no", ""),
            store=_store(turn, details.get("store", "")),
            member=_member(alert),
            points=details["shortfall"],
        )
    elif alert.kind == alerts.SALES_BURST:
        body = turn._(
            "{member} got {sales} sales within {minutes} minutes (the last one by {staff}).",
            member=_member(alert),
            sales=details["sales"],
            minutes=details["minutes"],
            staff=_staff(turn, alert),
        )
    elif alert.kind == alerts.PHONE_ELSEWHERE:
        body = turn._(
            "Someone tried to register {phone} at {store}; it belongs to {member} of {home}.",
            phone=details.get("phone", ""),
            store=_store(turn, details.get("store", "")),
            member=_member(alert),
            home=_store(turn, details.get("home_store", "")),
        )
    else:
        body = alert.kind
    lines = [head, body]
    if alert.status == alerts.APPROVED:
        lines.append(turn._("Approved."))
    elif alert.status == alerts.REJECTED:
        lines.append(turn._("Rejected."))
    return "\n".join(lines)


def alert_buttons(turn: Turn, alert: AlertView) -> tuple[tuple[Button, ...], ...]:
    """Approve / Reject for an open alert (none for a decided one)."""
    if not alert.is_open:
        return ()
    return buttons(
        [
            Payload(NAME, APPROVE, AlertRef(alert.id).pack()).button(turn._("Approve")),
            Payload(NAME, REJECT, AlertRef(alert.id).pack()).button(turn._("Reject")),
        ]
    )


def alert_reply(turn: Turn, alert: AlertView) -> Reply:
    """The alert with its buttons: for ``/alerts`` and for a pushed alert alike."""
    return Reply(alert_text(turn, alert), alert_buttons(turn, alert))


async def show(turn: Turn) -> Step:
    """Every open alert (the oldest first), each its own message with its buttons."""
    waiting = await alerts.open_alerts(turn.ctx)
    if not waiting:
        return Step([Reply(turn._("No open alerts."))])
    replies = [Reply(turn._("Open alerts: {count}", count=len(waiting)))]
    replies += [alert_reply(turn, alert) for alert in waiting[:SHOWN_MAX]]
    if len(waiting) > SHOWN_MAX:
        more = len(waiting) - SHOWN_MAX
        replies.append(Reply(turn._("{more} more after these: send /alerts again.", more=more)))
    return Step(replies)


async def approve(turn: Turn) -> Step:
    return await _decide(turn, approve=True)


async def reject(turn: Turn) -> Step:
    return await _decide(turn, approve=False)


async def _decide(turn: Turn, *, approve: bool) -> Step:
    assert turn.staff is not None and turn.payload is not None
    tapped = turn.payload.read(AlertRef)
    if tapped is None:
        raise UnknownAlert(alert=turn.payload.value[:20])
    alert = await approvals.decide(turn.ctx, tapped.alert_id, owner=turn.staff, approve=approve)
    return Step([Reply(await _outcome(turn, alert, approve=approve))])


async def _outcome(turn: Turn, alert: AlertView, *, approve: bool) -> str:
    if alert.kind == alerts.ADJUSTMENT and alert.member_id is not None:
        if not approve:
            return turn._(
                "Rejected: the adjustment for {member} was not applied.", member=_member(alert)
            )
        balance = (await statement.points_summary(turn.ctx, alert.member_id)).balance
        return turn._(
            "Approved: {points} points for {member}. New balance: {balance}.",
            points=f"{int(alert.details['points']):+d}",
            member=_member(alert),
            balance=balance,
        )
    if approve:
        return turn._("Alert #{id} marked as checked.", id=alert.id)
    return turn._("Alert #{id} flagged for follow-up.", id=alert.id)


flow = Flow(
    name=NAME,
    start=show,
    steps={APPROVE: approve, REJECT: reject},
    commands=("/alerts",),
    stateless=frozenset({APPROVE, REJECT}),
    role=Role.OWNER,
    staff_help=StaffHelp(N_("alerts to approve"), order=130),
)
FLOWS = (flow,)
