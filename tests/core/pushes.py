"""Shared by the tests of the scheduled push jobs: purchases in the past, members who block
the bot, and the outbox rows a job queued (members a push can reach: ``tests.factories``)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count as numbers
from typing import Any

from sqlalchemy import select

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.people import conversations
from storage.models import CouponRow, IdentityRow, OutboxRow

_receipts = numbers(1)


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


async def buy(
    ctx: Context, clock: FixedClock, member_id: int, days_ago: float = 0, yuan: int = 100
) -> None:
    """A purchase ``days_ago`` days before the clock's now (the clock put back after)."""
    now = clock.now()
    clock.set(now - timedelta(days=days_ago))
    await loyalty.record_sale(
        ctx,
        store="main",
        receipt_no=f"R-{next(_receipts)}",
        member_id=member_id,
        amount_fen=yuan * 100,
        notify=False,
    )
    clock.set(now)


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
