"""Staff: which chat accounts may run the shop, with which role and in which store."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, select, update

from core import audit
from core.context import Context
from core.errors import InvalidInput, InviteInvalid, NotAllowed, UnknownStaff
from core.people.members import (
    LINK_CODE_ALPHABET,
    LOCALES,
    MemberView,
    clean_name,
    identity_row,
    store_id,
)
from storage.models import IdentityRow, StaffInviteRow, StaffRow, StoreRow
from storage.session import Session

INVITE_LENGTH = 8


class Role(StrEnum):
    CLERK = "clerk"
    MANAGER = "manager"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class StaffView:
    id: int
    channel: str
    external_id: str
    role: Role
    store: str | None
    name: str
    locale: str  # the language their chat and their pushes are in

    def require(self, needed: Role) -> None:
        if not self.role.allows(needed):
            raise NotAllowed(needed=needed.value)

    @property
    def actor(self) -> str:
        return audit.staff_actor(self.id)


# What an account id looks like on each channel: Telegram's user ids are numbers, WeChat's
# openids letters, digits, - and _ (28 of them); the terminal's are a word.
_ACCOUNT_IDS = {
    "telegram": re.compile(r"[0-9]{1,20}"),
    "wechat": re.compile(r"[A-Za-z0-9_-]{1,64}"),
    "console": re.compile(r"[^\s\x00-\x1f]{1,64}"),
}


async def add_staff(
    ctx: Context,
    *,
    channel: str,
    external_id: str,
    role: str,
    store: str | None,
    name: str = "",
    locale: str | None = None,
    actor: str = audit.SYSTEM,
) -> StaffView:
    """Give a chat account a staff role (or change it, when it already has one).
    A store is required for clerks and managers; an owner without one sees every store.
    The account id is typed by a person: it must look like the channel's ids. ``locale``
    is the language of their pushes until they write (None: as it was, or the shop's first)."""
    external_id = external_id.strip()
    if locale is not None and locale not in LOCALES:
        raise InvalidInput(field="locale", value=locale)
    form = _ACCOUNT_IDS.get(channel)
    if form is None or not form.fullmatch(external_id):
        raise InvalidInput(field="external_id", value=external_id[:40])
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
        row.role, row.store_id = staff_role.value, sid
        row.name = clean_name(name) if name.strip() else ""
        row.locale = locale or row.locale or LOCALES[0]
        row.removed_at = None
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
        return StaffView(row.id, channel, external_id, staff_role, store, row.name, row.locale)


async def list_staff(ctx: Context) -> list[StaffView]:
    async with ctx.db.read() as s:
        rows = await s.execute(_with_identity().order_by(StaffRow.id))
        return [staff_view(*row) for row in rows]


def staff_view(
    staff_id: int,
    channel: str,
    external_id: str,
    role: str,
    store: str | None,
    name: str,
    locale: str,
) -> StaffView:
    """A staff role as callers see it, from the columns of ``_with_identity``."""
    return StaffView(staff_id, channel, external_id, Role(role), store, name, locale)


def is_current() -> ColumnElement[bool]:
    """A staff row that still counts: not removed."""
    return StaffRow.removed_at.is_(None)


def _with_identity() -> Select[int, str, str, str, str | None, str, str]:
    """Current staff: the columns of ``staff_view``, with the chat account and store code."""
    return (
        select(
            StaffRow.id,
            IdentityRow.channel,
            IdentityRow.external_id,
            StaffRow.role,
            StoreRow.code,
            StaffRow.name,
            StaffRow.locale,
        )
        .join(IdentityRow, IdentityRow.id == StaffRow.identity_id)
        .outerjoin(StoreRow, StoreRow.id == StaffRow.store_id)
        .where(is_current())
    )


async def staff_of(session: Session, identity_id: int) -> StaffView | None:
    """The staff role of a chat account, or None, read in the caller's transaction."""
    row = (
        await session.execute(_with_identity().where(StaffRow.identity_id == identity_id))
    ).first()
    return staff_view(*row) if row else None


async def staff_for_identity(ctx: Context, identity_id: int) -> StaffView | None:
    """The staff role of a chat account, or None for members and strangers."""
    async with ctx.db.read() as s:
        return await staff_of(s, identity_id)


async def get_staff(ctx: Context, staff_id: int) -> StaffView:
    async with ctx.db.read() as s:
        row = (await s.execute(_with_identity().where(StaffRow.id == staff_id))).first()
        if row is None:
            raise UnknownStaff(staff=staff_id)
        return staff_view(*row)


async def owners(ctx: Context) -> list[StaffView]:
    """Who is alerted about anomalies."""
    return [s for s in await list_staff(ctx) if s.role is Role.OWNER]


@dataclass(frozen=True)
class Invite:
    code: str
    role: Role
    store: str | None
    expires_at: datetime


async def create_invite(ctx: Context, by: StaffView, role: str, store: str | None) -> Invite:
    """A one-time code for a new colleague. Managers invite clerks of their own store;
    owners invite anyone."""
    try:
        wanted = Role(role)
    except ValueError:
        raise InvalidInput(field="role", value=role) from None
    by.require(Role.MANAGER)
    if by.role is not Role.OWNER:
        if wanted is not Role.CLERK:
            raise NotAllowed(needed=Role.OWNER.value)
        store = by.store
    if store is None and wanted is not Role.OWNER:
        raise InvalidInput(field="store")
    now = ctx.now()
    expires = now + timedelta(hours=ctx.shop.staff.invite_hours)
    code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(INVITE_LENGTH))
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store) if store else None
        s.add(
            StaffInviteRow(
                code=code,
                role=wanted.value,
                store_id=sid,
                created_by=by.id,
                created_at=now,
                expires_at=expires,
            )
        )
        audit.record(s, now, by.actor, "staff.invited", None, role=wanted.value, store=store)
    return Invite(code, wanted, store, expires)


async def accept_invite(
    ctx: Context, code: str, channel: str, external_id: str, locale: str
) -> StaffView:
    """Join as staff with an invite code (in the language of the chat it was sent from);
    the code works once, before it expires."""
    now = ctx.now()
    code = code.strip().upper()
    async with ctx.db.transaction() as s:
        identity = await identity_row(s, channel, external_id, now)
        claimed = await s.execute(
            update(StaffInviteRow)
            .where(
                StaffInviteRow.code == code,
                StaffInviteRow.used_at.is_(None),
                StaffInviteRow.expires_at > now,
            )
            .values(used_at=now, used_by_identity_id=identity.id)
            .returning(StaffInviteRow.role, StaffInviteRow.store_id, StaffInviteRow.created_by)
        )
        found = claimed.first()
        if found is None:
            raise InviteInvalid()
        role, sid, inviter = found
        row = await s.scalar(select(StaffRow).where(StaffRow.identity_id == identity.id))
        if row is None:
            row = StaffRow(identity_id=identity.id, created_at=now, name="")
            s.add(row)
        row.role, row.store_id, row.removed_at, row.locale = role, sid, None, locale
        await s.flush()
        audit.record(
            s, now, audit.staff_actor(inviter), "staff.joined", None, staff_id=row.id, role=role
        )
        store = await s.scalar(select(StoreRow.code).where(StoreRow.id == sid)) if sid else None
        return StaffView(row.id, channel, external_id, Role(role), store, row.name, locale)


async def set_locale(ctx: Context, staff_id: int, locale: str) -> None:
    """The staff member now reads the chat in ``locale``: their next pushes are in it."""
    async with ctx.db.transaction() as s:
        await s.execute(update(StaffRow).where(StaffRow.id == staff_id).values(locale=locale))


async def check_removal(ctx: Context, by: StaffView, staff_id: int) -> StaffView:
    """Owners remove staff; the last owner cannot remove themselves. The one to remove.
    (``core.people.erasure.remove_staff`` removes them.)"""
    by.require(Role.OWNER)
    target = await get_staff(ctx, staff_id)
    if target.role is Role.OWNER and len(await owners(ctx)) == 1:
        raise NotAllowed(needed=Role.OWNER.value)
    return target


async def mark_removed(session: Session, by: StaffView, staff_id: int, now: datetime) -> int | None:
    """The staff row stays (sales and the audit log name them) but no longer counts;
    returns its chat account."""
    account = await session.scalar(
        update(StaffRow)
        .where(StaffRow.id == staff_id)
        .values(removed_at=now)
        .returning(StaffRow.identity_id)
    )
    audit.record(session, now, by.actor, "staff.removed", None, staff_id=staff_id)
    return account


async def record_refusal(
    ctx: Context, actor: str, what: str, channel: str, member: MemberView | None
) -> None:
    """Someone tried a staff command their role does not allow: the owner can see it."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        member_id = member.id if member else None
        audit.record(s, now, actor, "staff.refused", member_id, command=what, channel=channel)
