"""The audit log: who changed points, coupons or roles, and why. Written in the same
transaction as the change it records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, insert, literal, select, update

from storage.db import run
from storage.erasure import figures
from storage.models import AuditRow, IdentityRow, StaffRow
from storage.session import Session

if TYPE_CHECKING:
    from core.context import Context

SYSTEM = "system"


def staff_actor(staff_id: int | None) -> str:
    """The actor of a change made by staff, or by the system when no staff member did it."""
    return f"staff:{staff_id}" if staff_id else SYSTEM


def member_actor(member_id: int) -> str:
    return f"member:{member_id}"


def api_actor(key_name: str) -> str:
    """A call to the HTTP API, by the name of the key that made it (a till, another system)."""
    return f"api:{key_name}"


def record(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    member_id: int | None = None,
    **details: Any,
) -> None:
    session.add(AuditRow(at=at, actor=actor, action=action, member_id=member_id, details=details))


_INSERT = insert(AuditRow.__table__)  # built once, run prebuilt (storage.db.run)


async def write(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    member_id: int | None = None,
    **details: Any,
) -> None:
    """``record`` by a statement built once, run at once: for the sales every till sends,
    whose unit of work then writes no ORM object."""
    values = {"at": at, "actor": actor, "action": action, "member_id": member_id}
    await run(session, _INSERT, values | {"details": details})


async def record_many(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    entries: Sequence[tuple[int | None, dict[str, Any]]],
) -> None:
    """``record`` for many (member, details) at once, in one bulk INSERT: a job's batch of
    gifts is audited without building an object for each entry."""
    if entries:
        await session.execute(
            insert(AuditRow.__table__),
            [
                {"at": at, "actor": actor, "action": action, "member_id": m, "details": d}
                for m, d in entries
            ],
        )


@dataclass(frozen=True)
class Entry:
    at: datetime
    actor: str
    channel: str | None  # the chat app a staff actor used
    action: str
    details: dict[str, Any]


async def recent(ctx: Context, member_id: int, limit: int = 5) -> list[Entry]:
    """A member's latest audit entries, newest first, with the channel of staff actors
    (each staff account is one chat account, so its channel is where it acted)."""
    staff_channel = (
        select(IdentityRow.channel)
        .join(StaffRow, StaffRow.identity_id == IdentityRow.id)
        .where(AuditRow.actor == literal("staff:").concat(cast(StaffRow.id, String)))
        .scalar_subquery()
    )
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(AuditRow, staff_channel)
            .where(AuditRow.member_id == member_id)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(limit)
        )
        return [Entry(r.at, r.actor, channel, r.action, dict(r.details)) for r, channel in rows]


async def erase_member(session: Session, member_id: int) -> None:
    """Erasing a member (``core.people.erasure``): their entries keep who did what and when, and
    the figures (an answer's number, points), not the words (an answer, a reason)."""
    rows = await session.execute(
        select(AuditRow.id, AuditRow.details).where(AuditRow.member_id == member_id)
    )
    for row_id, details in rows.all():
        await session.execute(
            update(AuditRow).where(AuditRow.id == row_id).values(details=figures(details))
        )
