"""Shared by the push tests: a dispatcher on the test's clock, whose waiting moves the clock
instead of taking time, and the outbox as the dispatcher left it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.pushes.dispatcher import PushChannel, PushDispatcher
from core.clock import FixedClock
from core.context import Context
from storage.models import OutboxRow


def virtual_sleep(clock: FixedClock) -> Any:
    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)  # let others run, as a real wait would

    return sleep


def dispatcher(
    ctx: Context,
    clock: FixedClock,
    channels: Mapping[str, PushChannel],
    **options: Any,
) -> PushDispatcher:
    """One send at a time unless told otherwise: then the fake server sees each call at the
    moment the dispatcher made it, and pacing is measured exactly."""
    options.setdefault("concurrency", 1)
    return PushDispatcher(ctx, channels, sleep=virtual_sleep(clock), **options)


async def outbox(ctx: Context, kind: str | None = None) -> list[OutboxRow]:
    async with ctx.db.read() as s:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        return list(await s.scalars(query))
