"""The audit log: who changed points, coupons or roles, and why. Written in the same
transaction as the change it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditRow

SYSTEM = "system"


def staff_actor(staff_id: int | None) -> str:
    """The actor of a change made by staff, or by the system when no staff member did it."""
    return f"staff:{staff_id}" if staff_id else SYSTEM


def member_actor(member_id: int) -> str:
    return f"member:{member_id}"


def record(
    session: AsyncSession,
    at: datetime,
    actor: str,
    action: str,
    member_id: int | None = None,
    **details: Any,
) -> None:
    session.add(AuditRow(at=at, actor=actor, action=action, member_id=member_id, details=details))
