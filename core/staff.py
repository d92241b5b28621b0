"""Staff: which chat accounts may run the shop, with which role and in which store."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from core import audit
from core.context import Context
from core.errors import InvalidInput
from core.members import identity_row, store_id
from storage.models import IdentityRow, StaffRow, StoreRow


class Role(StrEnum):
    CLERK = "clerk"
    MANAGER = "manager"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


@dataclass(frozen=True)
class StaffView:
    id: int
    channel: str
    external_id: str
    role: Role
    store: str | None
    name: str


async def add_staff(
    ctx: Context,
    *,
    channel: str,
    external_id: str,
    role: str,
    store: str | None,
    name: str = "",
    actor: str = audit.SYSTEM,
) -> StaffView:
    """Give a chat account a staff role (or change it, when it already has one).
    A store is required for clerks and managers; an owner without one sees every store."""
    external_id = external_id.strip()
    if not external_id:
        raise InvalidInput(field="external_id")
    try:
        staff_role = Role(role)
    except ValueError:
        raise InvalidInput(field="role", value=role) from None
    if store is None and staff_role is not Role.OWNER:
        raise InvalidInput(field="store")
    now = ctx.now()
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store) if store else None
        identity = await identity_row(s, channel, external_id, now)
        row = await s.scalar(select(StaffRow).where(StaffRow.identity_id == identity.id))
        if row is None:
            row = StaffRow(identity_id=identity.id, created_at=now)
            s.add(row)
        row.role, row.store_id, row.name = staff_role.value, sid, name.strip()
        await s.flush()
        audit.record(
            s,
            now,
            actor,
            "staff.set",
            None,
            staff_id=row.id,
            role=row.role,
            store=store,
            channel=channel,
        )
        return StaffView(row.id, channel, external_id, staff_role, store, row.name)


async def list_staff(ctx: Context) -> list[StaffView]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(StaffRow, IdentityRow, StoreRow.code)
            .join(IdentityRow, IdentityRow.id == StaffRow.identity_id)
            .outerjoin(StoreRow, StoreRow.id == StaffRow.store_id)
            .order_by(StaffRow.id)
        )
        return [
            StaffView(st.id, ident.channel, ident.external_id, Role(st.role), code, st.name)
            for st, ident, code in rows
        ]
