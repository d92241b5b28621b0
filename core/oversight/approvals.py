"""The owner's decisions on alerts, and the adjustments that wait for one.

Apart from raising alerts because deciding calls the ledger (approving a held adjustment
applies it), while the ledger raises alerts: this module builds on both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from core import audit
from core.context import Context
from core.errors import AlertDecided, InvalidAmount, NotEnoughPoints, UnknownAlert
from core.ledger import adjustments, statement
from core.oversight import alerts
from core.people.staff import Role, StaffView
from storage.models import AlertRow

POINTS_MAX = 1_000_000  # a typo guard for adjustments, far above any real correction


# --- asking for an adjustment -------------------------------------------------------------


@dataclass(frozen=True)
class Adjustment:
    """What became of an adjustment: applied (with the new balance), or held for an owner
    (with the alert's id)."""

    applied: bool
    balance: int | None = None
    alert_id: int | None = None


def needs_approval(ctx: Context, staff: StaffView, points: int) -> bool:
    """Whether an adjustment by ``staff`` waits for an owner (owners' never do)."""
    return staff.role is not Role.OWNER and abs(points) > ctx.shop.staff.adjust_alert_points


async def request_adjustment(
    ctx: Context, staff: StaffView, member_id: int, points: int, reason: str
) -> Adjustment:
    """A manager's or owner's manual correction of a member's points, with a reason.
    Within the shop's cap (or by an owner) it is applied at once; beyond it, it is held as
    an ``adjustment`` alert and applied only when an owner approves."""
    staff.require(Role.MANAGER)
    if abs(points) > POINTS_MAX:
        raise InvalidAmount(value=points)
    reason = adjustments.clean_adjustment(points, reason)
    if not needs_approval(ctx, staff, points):
        balance = await adjustments.adjust_points(ctx, member_id, points, reason, actor=staff.actor)
        return Adjustment(applied=True, balance=balance)
    # Checked now, so the manager hears at once (the approval checks again).
    balance = (await statement.points_summary(ctx, member_id)).balance
    if balance < -points:
        raise NotEnoughPoints(balance=balance, needed=-points)
    async with ctx.db.transaction() as s:
        alert_id = await alerts.raise_alert(
            s,
            ctx,
            kind=alerts.ADJUSTMENT,
            member_id=member_id,
            staff_id=staff.id,
            details={"points": points, "reason": reason, "requested_by": staff.actor},
        )
    return Adjustment(applied=False, alert_id=alert_id)


# --- deciding -----------------------------------------------------------------------------


async def decide(
    ctx: Context, alert_id: int, *, owner: StaffView, approve: bool
) -> alerts.AlertView:
    """An owner approves or rejects an open alert, once (a second decision, also by another
    owner at the same moment, raises AlertDecided). Approving a held adjustment applies it
    in the same transaction, with the approving owner as actor and the manager who asked
    in the audit details; if it cannot be applied (the member has spent the points
    meanwhile) nothing is decided. For the other kinds nothing is reversed either way."""
    owner.require(Role.OWNER)
    status = alerts.APPROVED if approve else alerts.REJECTED
    now = ctx.now()
    async with ctx.db.transaction() as s:
        claimed = await s.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id, AlertRow.status == alerts.OPEN)
            .values(status=status, decided_by=owner.id, decided_at=now)
            .returning(AlertRow.kind, AlertRow.member_id, AlertRow.details)
        )
        found = claimed.first()
        if found is None:
            current = await s.scalar(select(AlertRow.status).where(AlertRow.id == alert_id))
            if current is None:
                raise UnknownAlert(alert=alert_id)
            raise AlertDecided(alert=alert_id, status=current)
        kind, member_id, details = found
        if approve and kind == alerts.ADJUSTMENT and member_id is not None:
            await adjustments.apply_adjustment(
                s,
                ctx,
                member_id,
                int(details["points"]),
                str(details["reason"]),
                actor=owner.actor,
                requested_by=details.get("requested_by"),
                alert_id=alert_id,
            )
        audit.record(
            s, now, owner.actor, f"alert.{status}", member_id, alert_id=alert_id, kind=kind
        )
        views = await alerts.alert_views(s, AlertRow.id == alert_id)
        return views[0]
