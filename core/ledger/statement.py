"""A member's points statement: balance and tier progress, the points about to expire and
the newest ledger entries, each explained.

Reads only: what "my points" and staff's member card show. Its queries are built once,
with bind parameters, as members read them most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from core.context import Context
from core.errors import UnknownMember
from core.ledger.points import balance_query, live_lots
from core.ledger.tiers import window_spend_query, window_start
from storage.db import run
from storage.models import LedgerRow, MemberRow
from storage.session import Session


@dataclass(frozen=True)
class PointsSummary:
    member_id: int
    balance: int
    tier: str
    window_spend_fen: int
    next_tier: str | None
    to_next_tier_fen: int | None


async def points_summary(ctx: Context, member_id: int) -> PointsSummary:
    async with ctx.db.read() as s:
        return await summary_in(s, ctx, member_id)


_SUMMARY = select(  # tier, balance and spending in one statement
    MemberRow.tier,
    balance_query(bindparam("member_id"), bindparam("now")).scalar_subquery(),
    window_spend_query(bindparam("member_id"), bindparam("since")).scalar_subquery(),
).where(MemberRow.id == bindparam("member_id"))


async def summary_in(s: Session, ctx: Context, member_id: int) -> PointsSummary:
    """The member's points summary inside the caller's transaction (one statement)."""
    params = {"member_id": member_id, "now": ctx.now(), "since": window_start(ctx)}
    found = (await run(s, _SUMMARY, params)).first()
    if found is None:
        raise UnknownMember(member=member_id)
    tier, balance, spend = found[0], int(found[1] or 0), int(found[2] or 0)
    following = ctx.shop.next_tier(tier)
    return PointsSummary(
        member_id=member_id,
        balance=balance,
        tier=tier,
        window_spend_fen=spend,
        next_tier=following.code if following else None,
        to_next_tier_fen=max(following.spend_fen - spend, 0) if following else None,
    )


@dataclass(frozen=True)
class ExpiringLot:
    points: int
    expires_at: datetime


async def expiring_points(ctx: Context, member_id: int, days: int = 30) -> list[ExpiringLot]:
    """Points that will expire within ``days``, soonest first."""
    async with ctx.db.read() as s:
        return await _expiring(s, member_id, ctx.now(), days)


_EXPIRING = live_lots(
    bindparam("member_id"), bindparam("now"), LedgerRow.remaining, LedgerRow.expires_at
).where(LedgerRow.expires_at <= bindparam("until"))


async def _expiring(s: Session, member_id: int, now: datetime, days: int) -> list[ExpiringLot]:
    params = {"member_id": member_id, "now": now, "until": now + timedelta(days=days)}
    lots = await run(s, _EXPIRING, params)
    return [
        ExpiringLot(points=lot.remaining or 0, expires_at=lot.expires_at)
        for lot in lots
        if lot.expires_at is not None
    ]


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    kind: str
    points: int
    at: datetime
    expires_at: datetime | None
    reason: str
    detail: dict[str, object]


async def ledger(
    ctx: Context, member_id: int, limit: int = 10, *, entry_id: int | None = None
) -> list[LedgerEntry]:
    """The newest entries of a member's points ledger (or the one ``entry_id``, if it is
    theirs), with what explains each one."""
    async with ctx.db.read() as s:
        return await _ledger(s, member_id, limit, entry_id)


_LEDGER = (
    select(
        LedgerRow.id,
        LedgerRow.kind,
        LedgerRow.points,
        LedgerRow.created_at,
        LedgerRow.expires_at,
        LedgerRow.reason,
        LedgerRow.detail,
    )
    .where(LedgerRow.member_id == bindparam("member_id"))
    .order_by(LedgerRow.created_at.desc(), LedgerRow.id.desc())
    .limit(bindparam("limit"))
)


_LEDGER_ENTRY = _LEDGER.where(LedgerRow.id == bindparam("entry_id"))


async def _ledger(
    s: Session, member_id: int, limit: int, entry_id: int | None = None
) -> list[LedgerEntry]:
    params = {"member_id": member_id, "limit": limit}
    if entry_id is None:
        rows = await run(s, _LEDGER, params)
    else:
        rows = await run(s, _LEDGER_ENTRY, {**params, "entry_id": entry_id})
    return [
        LedgerEntry(r.id, r.kind, r.points, r.created_at, r.expires_at, r.reason, r.detail)
        for r in rows
    ]


@dataclass(frozen=True)
class PointsOverview:
    """What a member's "my points" shows."""

    summary: PointsSummary
    expiring: list[ExpiringLot]  # soonest first
    latest: list[LedgerEntry]  # newest first


async def points_overview(
    ctx: Context, member_id: int, *, expiring_days: int = 30, entries: int = 10
) -> PointsOverview:
    """Balance and tier, the points expiring within ``expiring_days`` and the newest
    ``entries`` of the ledger, read in one transaction (so they also agree)."""
    async with ctx.db.read() as s:
        return PointsOverview(
            summary=await summary_in(s, ctx, member_id),
            expiring=await _expiring(s, member_id, ctx.now(), expiring_days),
            latest=await _ledger(s, member_id, entries),
        )
