"""Who is talking and where their conversation stands.

Multi-step chat flows keep their state in the database (not in process memory), so a
restart or a second worker process continues the conversation; a conversation left
silent longer than the timeout is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update

from core.context import Context
from core.errors import InvalidInput
from core.members import identity_row
from storage.models import ConversationRow

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


async def arrive(ctx: Context, channel: str, external_id: str) -> Identity:
    """Record that this chat account just wrote (the start of WeChat's reply window, and a
    sign it is reachable again) and return it, created on first contact."""
    if not external_id:
        raise InvalidInput(field="channel", value=channel)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await identity_row(s, channel, external_id, now)
        row.last_inbound_at = now
        row.reachable = True
        await s.flush()
        return Identity(row.id, channel, external_id, row.member_id)


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
    async with ctx.db.transaction() as s:
        row = await s.get(ConversationRow, identity_id)
        if row is None:
            row = ConversationRow(identity_id=identity_id)
            s.add(row)
        row.flow, row.step, row.data, row.updated_at = flow, step, dict(data), ctx.now()


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
