"""Who is talking and where their conversation stands.

Multi-step chat flows keep their state in the database (not in process memory), so a
restart or a second worker process continues the conversation; a conversation left
silent longer than the timeout is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from core import outbox
from core.context import Context
from core.errors import InvalidInput
from core.members import identity_row
from storage.db import dialect_of
from storage.models import ChoicesRow, ConversationRow, IdentityRow

TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Identity:
    id: int
    channel: str
    external_id: str
    member_id: int | None


@dataclass(frozen=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any]


async def arrive(ctx: Context, channel: str, external_id: str, *, event: bool = False) -> Identity:
    """Record that this chat account just wrote — or, with ``event``, clicked a menu,
    followed or scanned — and return it, created on first contact. That opens WeChat's reply
    window, shows the account is reachable again, and wakes the pushes that waited for it."""
    if not external_id:
        raise InvalidInput(field="channel", value=channel)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await identity_row(s, channel, external_id, now)
        row.last_inbound_at = now
        if event:
            row.last_event_at = now
        else:
            row.last_message_at = now
        row.reachable = True
        await s.flush()
        if row.member_id is not None:
            await outbox.wake(s, row.member_id, now)
        return Identity(row.id, channel, external_id, row.member_id)


async def identity_of(ctx: Context, identity_id: int) -> Identity:
    async with ctx.db.read() as s:
        row = await s.get(IdentityRow, identity_id)
        if row is None:
            raise InvalidInput(field="external_id", value=identity_id)
        return Identity(row.id, row.channel, row.external_id, row.member_id)


async def leave(ctx: Context, channel: str, external_id: str) -> None:
    """The chat account unfollowed or blocked us: no pushes until it writes again."""
    async with ctx.db.transaction() as s:
        await s.execute(
            update(IdentityRow)
            .where(IdentityRow.channel == channel, IdentityRow.external_id == external_id)
            .values(reachable=False)
        )


async def save_choices(
    ctx: Context, channel: str, external_id: str, choices: list[tuple[str, str]]
) -> None:
    """Remember the (label, payload) choices just shown as numbers, for the next message."""
    async with ctx.db.transaction() as s:
        row = await identity_row(s, channel, external_id, ctx.now())
        current = await s.get(ChoicesRow, row.id)
        if current is None:
            current = ChoicesRow(identity_id=row.id)
            s.add(current)
        current.choices, current.updated_at = [list(c) for c in choices], ctx.now()


async def load_choices(ctx: Context, channel: str, external_id: str) -> list[tuple[str, str]]:
    """The choices last shown to this chat account; none once they are older than the
    conversation timeout (a number typed tomorrow is just a number)."""
    async with ctx.db.read() as s:
        row = await s.scalar(
            select(ChoicesRow)
            .join(IdentityRow, IdentityRow.id == ChoicesRow.identity_id)
            .where(IdentityRow.channel == channel, IdentityRow.external_id == external_id)
        )
        if row is None or ctx.now() - row.updated_at > TIMEOUT:
            return []
        return [(str(label), str(payload)) for label, payload in row.choices]


async def load_conversation(ctx: Context, identity_id: int) -> Conversation | None:
    """The open conversation of this chat account, or None (none, or timed out)."""
    async with ctx.db.read() as s:
        row = await s.get(ConversationRow, identity_id)
        if row is None or ctx.now() - row.updated_at > TIMEOUT:
            return None
        return Conversation(row.flow, row.step, dict(row.data))


async def save_conversation(
    ctx: Context, identity_id: int, flow: str, step: str, data: dict[str, Any]
) -> None:
    """One statement (insert or update), so a concurrent end of the same conversation (two
    taps at once) cannot make it fail half-way."""
    values = {"flow": flow, "step": step, "data": dict(data), "updated_at": ctx.now()}
    async with ctx.db.transaction() as s:
        stmt = dialect_of(s).insert(ConversationRow).values(identity_id=identity_id, **values)
        await s.execute(
            stmt.on_conflict_do_update(index_elements=[ConversationRow.identity_id], set_=values)
        )


async def end_conversation(ctx: Context, identity_id: int) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(delete(ConversationRow).where(ConversationRow.identity_id == identity_id))


async def claim_step(ctx: Context, identity_id: int, flow: str, step: str) -> bool:
    """Move the conversation off ``step`` atomically; only one caller can win. This is how a
    double tap on "confirm" redeems, books or registers once."""
    async with ctx.db.transaction() as s:
        result = await s.execute(
            update(ConversationRow)
            .where(
                ConversationRow.identity_id == identity_id,
                ConversationRow.flow == flow,
                ConversationRow.step == step,
            )
            .values(step=f"{step}:claimed", updated_at=ctx.now())
        )
        return bool(result.rowcount)
