"""A person when asked: a member's chat with the shop's staff.

A member opens a handoff; each of their messages is kept and pushed to the staff of their
home store (and staff of every store; every staff member when the member has no home
store), each push in the staff member's own chat, through the outbox in the transaction
that keeps the message. A staff answer is kept and pushed to the member. The handoff stays
open for more messages both ways until a staff member or the member closes it; a member
has at most one open (asking again continues it). Texts are stored as typed; erasing the
member keeps the dates and who wrote, not the words (``erase_member``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from core import audit
from core.context import Context
from core.errors import HandoffClosed, InvalidInput, UnknownHandoff, UnknownMember
from core.people.members import format_member_no, lock_member, store_id
from core.pushes import outbox
from core.service.store_hours import open_now
from core.shop import Shop, Store
from core.text import blank
from storage.models import HandoffMessageRow, HandoffRow, MemberRow, StaffRow, StoreRow
from storage.session import Session

OPEN, CLOSED = "open", "closed"
MEMBER, STAFF = "member", "staff"  # who wrote a message
TEXT_MAX = 1000  # one message either way; fits one chat message in any channel
SHOWN = 10  # the latest messages a view holds
LIMIT_MAX = 50  # open handoffs listed at once
STAFF_PUSH = "staff_handoff"  # outbox kind: a member's message, to a staff member
ANSWER_PUSH = "handoff_answer"  # outbox kind: a staff answer, to the member
CLOSED_PUSH = "handoff_closed"  # outbox kind: staff closed the chat, to the member


@dataclass(frozen=True)
class MessageView:
    id: int
    author: str  # MEMBER or STAFF
    staff_name: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class HandoffView:
    id: int
    member_id: int
    member_name: str
    member_no: str
    store: str | None  # the member's home store's code; None: every store's staff
    status: str
    opened_at: datetime
    closed_at: datetime | None
    messages: tuple[MessageView, ...]  # the latest SHOWN, oldest first

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


def check_text(text: str) -> str:
    """Trimmed, 1..TEXT_MAX characters, otherwise as typed. NUL is refused: PostgreSQL
    cannot store it and no person types it."""
    text = text.strip()
    if blank(text) or len(text) > TEXT_MAX or "\x00" in text:
        raise InvalidInput(field="text", max=TEXT_MAX)
    return text


def reply_after(
    shop: Shop, stores: Sequence[Store], at: datetime, zone: ZoneInfo
) -> tuple[Store, datetime] | None:
    """When staff of ``stores`` can reply to a message sent at ``at``: None while one of
    them is open, else the store that opens first and when (``core.service.store_hours``:
    holidays and closed days count)."""
    states = [(store, open_now(shop, store, at, zone)) for store in stores]
    if any(state.open for _, state in states):
        return None
    found = [(s.opens_at, n, store) for n, (store, s) in enumerate(states) if s.opens_at]
    if not found:
        return None
    opens, _, store = min(found, key=lambda item: (item[0], item[1]))
    return store, opens


def stores_of(ctx: Context, handoff: HandoffView) -> list[Store]:
    """The stores whose staff answer this handoff: its own, or every store."""
    own = ctx.shop.store(handoff.store) if handoff.store else None
    return [own] if own is not None else list(ctx.shop.stores)


async def _view(s: Session, row: HandoffRow) -> HandoffView:
    await s.flush()
    member = await s.get(MemberRow, row.member_id)
    if member is None:  # pragma: no cover - the foreign key forbids it
        raise UnknownMember(member=row.member_id)
    store = await s.scalar(select(StoreRow.code).where(StoreRow.id == row.store_id))
    found = await s.execute(
        select(HandoffMessageRow, StaffRow.name)
        .outerjoin(StaffRow, StaffRow.id == HandoffMessageRow.staff_id)
        .where(HandoffMessageRow.handoff_id == row.id)
        .order_by(HandoffMessageRow.id.desc())
        .limit(SHOWN)
    )
    messages = [
        MessageView(m.id, m.author, name or None, m.text, m.created_at) for m, name in found
    ]
    return HandoffView(
        id=row.id,
        member_id=row.member_id,
        member_name=member.name,
        member_no=format_member_no(member.id),
        store=store,
        status=row.status,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        messages=tuple(reversed(messages)),
    )


async def _open_row(s: Session, member_id: int) -> HandoffRow | None:
    return await s.scalar(
        select(HandoffRow)
        .where(HandoffRow.member_id == member_id, HandoffRow.status == OPEN)
        .order_by(HandoffRow.id.desc())
        .limit(1)
    )


async def _lock(s: Session, handoff_id: int) -> HandoffRow:
    """Serialise staff acting on one handoff (two clerks answering at once)."""
    row = await s.scalar(select(HandoffRow).where(HandoffRow.id == handoff_id).with_for_update())
    if row is None:
        raise UnknownHandoff(handoff=handoff_id)
    return row


async def open_handoff(ctx: Context, member_id: int) -> tuple[HandoffView, bool]:
    """The member's open handoff, opened now if there is none; True when opened now."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        member = await lock_member(s, member_id)
        row = await _open_row(s, member_id)
        if row is not None:
            return await _view(s, row), False
        row = HandoffRow(
            member_id=member_id, store_id=member.home_store_id, status=OPEN, opened_at=now
        )
        s.add(row)
        await s.flush()
        audit.record(
            s, now, audit.member_actor(member_id), "handoff.opened", member_id, handoff_id=row.id
        )
        return await _view(s, row), True


async def open_handoff_of(ctx: Context, member_id: int) -> HandoffView | None:
    """The member's open handoff, if any (``/member`` shows it)."""
    async with ctx.db.read() as s:
        row = await _open_row(s, member_id)
        return await _view(s, row) if row is not None else None


async def get_handoff(ctx: Context, handoff_id: int) -> HandoffView:
    async with ctx.db.read() as s:
        row = await s.get(HandoffRow, handoff_id)
        if row is None:
            raise UnknownHandoff(handoff=handoff_id)
        return await _view(s, row)


async def open_handoffs(ctx: Context, store: str | None) -> list[HandoffView]:
    """Open handoffs, oldest first, that staff of ``store`` answer (``None``: every store's
    staff, who see them all); a handoff of no store is everyone's."""
    async with ctx.db.read() as s:
        query = select(HandoffRow).where(HandoffRow.status == OPEN)
        if store is not None:
            sid = await store_id(s, store)
            query = query.where(or_(HandoffRow.store_id == sid, HandoffRow.store_id.is_(None)))
        rows = await s.scalars(query.order_by(HandoffRow.opened_at, HandoffRow.id).limit(LIMIT_MAX))
        return [await _view(s, row) for row in rows]


async def _staff_of(s: Session, store: int | None) -> list[int]:
    """Who gets a member's messages: staff of the store and of every store (all staff
    when the handoff is of no store) who have a chat account."""
    query = select(StaffRow.id).where(
        StaffRow.removed_at.is_(None), StaffRow.identity_id.is_not(None)
    )
    if store is not None:
        query = query.where(or_(StaffRow.store_id == store, StaffRow.store_id.is_(None)))
    return list(await s.scalars(query.order_by(StaffRow.id)))


async def member_says(ctx: Context, member_id: int, text: str) -> HandoffView:
    """Keep a member's message in their open handoff and push it to its staff."""
    text = check_text(text)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        await lock_member(s, member_id)
        row = await _open_row(s, member_id)
        if row is None:
            raise HandoffClosed()
        message = HandoffMessageRow(handoff_id=row.id, author=MEMBER, text=text, created_at=now)
        s.add(message)
        await s.flush()
        for staff_id in await _staff_of(s, row.store_id):
            await outbox.enqueue_for_staff(
                s,
                now=now,
                staff_id=staff_id,
                kind=STAFF_PUSH,
                dedup_key=f"handoff:{message.id}:{staff_id}",
                params={"handoff_id": row.id, "message_id": message.id},
            )
        return await _view(s, row)


async def answer_handoff(ctx: Context, handoff_id: int, text: str, *, staff_id: int) -> HandoffView:
    """Keep a staff answer and push it to the member (a service message: it goes also to
    members who refused marketing). Refused once the handoff is closed."""
    text = check_text(text)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await _lock(s, handoff_id)
        if row.status != OPEN:
            raise HandoffClosed(handoff=handoff_id)
        if await s.get(StaffRow, staff_id) is None:
            raise InvalidInput(field="staff_id", value=staff_id)
        message = HandoffMessageRow(
            handoff_id=row.id, author=STAFF, staff_id=staff_id, text=text, created_at=now
        )
        s.add(message)
        await s.flush()
        await outbox.enqueue(
            s,
            now=now,
            member_id=row.member_id,
            marketing_consent=False,
            kind=ANSWER_PUSH,
            dedup_key=f"handoff-answer:{message.id}",
            params={"handoff_id": row.id, "message_id": message.id, "answer": text},
        )
        audit.record(
            s,
            now,
            audit.staff_actor(staff_id),
            "handoff.answered",
            row.member_id,
            handoff_id=row.id,
            message_id=message.id,
        )
        return await _view(s, row)


async def close_handoff(
    ctx: Context, handoff_id: int, *, actor: str, staff_id: int | None = None
) -> HandoffView:
    """Close a handoff (idempotent: closing a closed one changes nothing). When staff close
    it the member is told, so they know their next message goes to no one."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await _lock(s, handoff_id)
        if row.status != OPEN:
            return await _view(s, row)
        row.status, row.closed_at, row.closed_by = CLOSED, now, actor
        if staff_id is not None:
            await outbox.enqueue(
                s,
                now=now,
                member_id=row.member_id,
                marketing_consent=False,
                kind=CLOSED_PUSH,
                dedup_key=f"handoff-closed:{row.id}",
                params={"handoff_id": row.id},
            )
        audit.record(s, now, actor, "handoff.closed", row.member_id, handoff_id=row.id)
        return await _view(s, row)


async def erase_member(session: Session, member_id: int) -> list[str]:
    """Erasing a member (``core.people.erasure``): their handoffs keep their dates and who
    wrote when, not the words either way; returns the words, to find them elsewhere."""
    handoffs = select(HandoffRow.id).where(HandoffRow.member_id == member_id)
    where = HandoffMessageRow.handoff_id.in_(handoffs.scalar_subquery())
    words = list(await session.scalars(select(HandoffMessageRow.text).where(where)))
    await session.execute(update(HandoffMessageRow).where(where).values(text=""))
    return [word for word in words if word]
