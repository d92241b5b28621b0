"""Shared by the tests of the scheduled push jobs: members who block the bot, and the outbox
rows a job queued (members a push can reach and their purchases: ``tests.factories``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.context import Context
from core.people import conversations
from storage.models import CouponRow, IdentityRow, OutboxRow


async def block(ctx: Context, member_id: int) -> None:
    """The member blocks the bot on every chat app they use."""
    async with ctx.db.read() as s:
        accounts = (
            await s.execute(
                select(IdentityRow.channel, IdentityRow.external_id).where(
                    IdentityRow.member_id == member_id
                )
            )
        ).all()
    for channel, external_id in accounts:
        await conversations.leave(ctx, channel, external_id)


async def queued(ctx: Context, kind: str) -> list[tuple[int, str, dict[str, Any]]]:
    """(member, dedup key, params) of the outbox rows of ``kind``, oldest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(OutboxRow.member_id, OutboxRow.dedup_key, OutboxRow.params)
            .where(OutboxRow.kind == kind)
            .order_by(OutboxRow.id)
        )
        return [(m, key, params) for m, key, params in rows]


async def coupons_of(ctx: Context, member_id: int) -> list[CouponRow]:
    async with ctx.db.read() as s:
        return list(
            await s.scalars(
                select(CouponRow).where(CouponRow.member_id == member_id).order_by(CouponRow.id)
            )
        )
