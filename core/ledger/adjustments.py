"""Manual corrections of a member's points by staff, with a reason.

Apart because the owner's approval of a held adjustment (``core.oversight.approvals``)
applies it too: that module builds on this one, and this one needs nothing of oversight.
"""

from __future__ import annotations

from sqlalchemy import select, update

from core import audit
from core.context import Context
from core.errors import InvalidAmount, InvalidInput, NotEnoughPoints
from core.ledger.points import balance_in, consume, grant_points
from core.people.members import lock_member
from core.text import blank
from storage.models import LedgerRow
from storage.session import Session

REASON_MAX = 200  # an adjustment's reason


def clean_adjustment(points: int, reason: str) -> str:
    """An adjustment needs points other than zero and a reason (at most ``REASON_MAX``
    characters, for the audit log and the member's ledger); returns the reason trimmed."""
    reason = reason.strip()
    if blank(reason) or len(reason) > REASON_MAX:
        raise InvalidInput(field="reason", max=REASON_MAX)
    if points == 0:
        raise InvalidAmount(value=points)
    return reason


async def adjust_points(
    ctx: Context, member_id: int, points: int, reason: str, *, actor: str
) -> int:
    """A manual correction by staff, with a reason; returns the new balance. Added points
    form a lot that expires like earned points; removed points cannot exceed the balance."""
    reason = clean_adjustment(points, reason)
    async with ctx.db.transaction() as s:
        return await apply_adjustment(s, ctx, member_id, points, reason, actor=actor)


async def apply_adjustment(
    s: Session,
    ctx: Context,
    member_id: int,
    points: int,
    reason: str,
    *,
    actor: str,
    **details: object,
) -> int:
    """:func:`adjust_points` inside the caller's transaction, ``details`` added to its audit
    entry: an owner's approval of a held adjustment and the adjustment commit together."""
    reason = clean_adjustment(points, reason)
    now = ctx.now()
    await lock_member(s, member_id)
    if points > 0:
        grant_points(s, ctx, member_id, "adjust", points, reason=reason)
    else:
        balance = await balance_in(s, member_id, now)
        if balance < -points:
            raise NotEnoughPoints(balance=balance, needed=-points)
        await consume(s, member_id, -points, now)
        s.add(
            LedgerRow(
                member_id=member_id, kind="adjust", points=points, created_at=now, reason=reason
            )
        )
    audit.record(
        s, now, actor, "points.adjusted", member_id, points=points, reason=reason, **details
    )
    await s.flush()
    return await balance_in(s, member_id, now)


async def erase_member(session: Session, member_id: int) -> list[str]:
    """Erasing a member (``core.people.erasure``): the ledger keeps every points row (its detail
    holds ids, codes and figures), but no adjustment's reason; returns the reasons, to find
    them elsewhere."""
    rows = await session.scalars(
        select(LedgerRow.reason).where(LedgerRow.member_id == member_id, LedgerRow.reason != "")
    )
    reasons = list(rows)
    await session.execute(
        update(LedgerRow).where(LedgerRow.member_id == member_id).values(reason="")
    )
    return reasons
