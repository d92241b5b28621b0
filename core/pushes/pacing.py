"""A channel's rate limits, kept for the whole deployment: every dispatcher (several
``memberbot scheduler``s on one PostgreSQL, or ``serve`` and one of them) takes its send
slots from one row per channel, and the one-per-chat spacing from the chat account's row.

A slot is reserved in a transaction that locks the channel's row (``FOR UPDATE``; SQLite
has one writer anyway): the next free slot, ``now`` at the earliest, moved on by one
message's share of the window; the chat's next free moment moved past the slot. Slots are
evenly spaced, ``WINDOW`` / limit apart, so no window of a second holds more than the limit
however many dispatchers share it. A 429 pauses the channel for every dispatcher for the
``retry_after`` asked, and halves the rate for ``SLOW_FOR`` after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.context import Context
from storage.db import insert_ignore
from storage.models import IdentityRow, PacingRow
from storage.session import Session

SLOW_FOR = timedelta(minutes=1)  # after a 429, the rate stays halved this long
# The one-second window, with a margin: a request reaches the platform a little after we
# count it, and two that left 0.99 s apart may arrive 1.01 s apart — or the other way round.
# 2% was enough for no 429 from a fake Bot API in a process of its own, even with both
# cores busy (`bench pushes`: 29.4/s); 5% held the rate at 28.6/s.
WINDOW = timedelta(seconds=1.02)
# A slot used later than this is given up for the next one: sends late by up to LATE still
# put no more than the limit in any second (WINDOW - 1 s would be the most), and keep half
# the margin for the network.
LATE = timedelta(seconds=0.01)


@dataclass(frozen=True)
class Limits:
    per_second: float  # messages in any one second, for the whole channel
    chat_seconds: float  # between two messages to one chat


@dataclass(frozen=True)
class Slot:
    """Send at ``at`` (``busy`` False), or the chat is not free before ``at`` (``busy``)."""

    at: datetime
    busy: bool = False


async def reserve(
    ctx: Context, channel: str, identity_id: int, limits: Limits, *, chat_held: bool = False
) -> Slot:
    """The channel's next send slot for this chat account. ``chat_held``: the chat's turn
    was reserved already (by the slot a pause voided), so it only moves."""
    async with ctx.db.transaction() as s:
        pace = await _locked(s, channel, ctx.now())
        now = ctx.now()  # once the row is ours: waiting for it is no lateness of the slot
        at = max(pace.next_at, now)
        if not chat_held:
            free_at = await s.scalar(
                select(IdentityRow.next_push_at).where(IdentityRow.id == identity_id)
            )
            if free_at is not None and free_at > at:
                return Slot(free_at, busy=True)  # nothing taken: the transaction wrote nothing
        per_second = limits.per_second
        if pace.slow_until is not None and at < pace.slow_until:
            per_second /= 2
        pace.next_at = at + WINDOW / max(1, int(per_second))
        await s.execute(
            update(IdentityRow)
            .where(IdentityRow.id == identity_id)
            .values(next_push_at=at + timedelta(seconds=limits.chat_seconds))
        )
        return Slot(at)


async def paused_until(ctx: Context, channel: str) -> datetime | None:
    """The end of a pause a 429 asked for, if one is on now."""
    async with ctx.db.read() as s:
        until = await s.scalar(select(PacingRow.paused_until).where(PacingRow.channel == channel))
    return until if until is not None and until > ctx.now() else None


async def pause(ctx: Context, channel: str, seconds: float) -> None:
    """The platform answered 429: no slot before ``seconds`` from now, for any dispatcher,
    and half the rate for ``SLOW_FOR`` after that."""
    now = ctx.now()
    until = now + timedelta(seconds=seconds)
    async with ctx.db.transaction() as s:
        pace = await _locked(s, channel, now)
        pace.paused_until = max(pace.paused_until or until, until)
        pace.slow_until = pace.paused_until + SLOW_FOR
        pace.next_at = max(pace.next_at, pace.paused_until)


async def _locked(s: Session, channel: str, now: datetime) -> PacingRow:
    """The channel's row, locked until the transaction ends (made on first use)."""
    query = select(PacingRow).where(PacingRow.channel == channel).with_for_update()
    pace = await s.scalar(query)
    if pace is None:
        await insert_ignore(
            s, PacingRow.__table__, {"channel": channel, "next_at": now}, ["channel"]
        )
        pace = await s.scalar(query)
        assert pace is not None
    return pace
