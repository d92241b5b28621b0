"""Points lots and the balance: the primitives every change of points is made of.

The ledger is append-only. Every earning (and every positive adjustment) is a *lot* with
an expiry and the points still left in it; spending takes from the lots that expire first.
A member's balance is the sum of what is left in the lots that have not expired. Every
change to a member's points first locks that member, so concurrent redemptions, refunds
and sales of one member happen one after another and the balance never goes below zero.
Sales, refunds, coupons, adjustments and the features that give or take points (check-ins,
referrals, events) build on this module; it builds on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, select, update

from core import audit
from core.clock import add_months
from core.context import Context
from core.errors import NotEnoughPoints
from core.integrations import webhooks
from core.people.members import lock_member
from storage.db import run
from storage.models import LedgerRow
from storage.session import Session

EXPIRY_BATCH = 200


def _lot_expiry(ctx: Context, earned_at: datetime) -> datetime:
    local = earned_at.astimezone(ctx.zone)
    return add_months(local, ctx.shop.points.lifetime_months).astimezone(earned_at.tzinfo)


# Values or bind parameters: the queries of the reads members do most are built once.
Param = ColumnElement[Any]


def live_lot(now: datetime | Param) -> ColumnElement[bool]:
    """A ledger row whose points still count at ``now``: a lot with points left, not expired.
    The one rule of the balance, also for queries over many members (expiry reminders)."""
    return and_(LedgerRow.remaining > 0, LedgerRow.expires_at > now)


def live_lots(member_id: int | Param, now: datetime | Param, *columns: Any) -> Select[Any]:
    """The live lots of a member, the soonest to expire first (whole rows, or ``columns``)."""
    return (
        select(*(columns or (LedgerRow,)))
        .where(LedgerRow.member_id == member_id, live_lot(now))
        .order_by(LedgerRow.expires_at, LedgerRow.id)
    )


def balance_query(member_id: int | Param, now: datetime | Param) -> Select[int | None]:
    return select(func.coalesce(func.sum(LedgerRow.remaining), 0)).where(
        LedgerRow.member_id == member_id, live_lot(now)
    )


async def balance_in(s: Session, member_id: int, now: datetime) -> int:
    """The member's balance inside the caller's transaction."""
    return int(await s.scalar(balance_query(member_id, now)) or 0)


async def consume(s: Session, member_id: int, points: int, now: datetime) -> int:
    """Take up to ``points`` from the live lots, the soonest to expire first; returns taken."""
    return sum(take for _lot, take in await _consume_lots(s, member_id, points, now))


async def _consume_lots(
    s: Session, member_id: int, points: int, now: datetime
) -> list[tuple[int, int]]:
    """:func:`consume`, saying which lots gave how many: (lot id, points) pairs."""
    taken: list[tuple[int, int]] = []
    total = 0
    for lot in await s.scalars(live_lots(member_id, now)):
        if total == points:
            break
        take = min(lot.remaining or 0, points - total)
        lot.remaining = (lot.remaining or 0) - take
        total += take
        if take:
            taken.append((lot.id, take))
    return taken


def grant_points(
    s: Session,
    ctx: Context,
    member_id: int,
    kind: str,
    points: int,
    *,
    expires_at: datetime | None = None,
    **columns: object,
) -> LedgerRow:
    """A lot of ``points`` of its own ``kind`` (a sale's ``earn``, a positive ``adjust``, a
    check-in, …) that expires after the shop file's lifetime (or at ``expires_at``: points
    brought from an old system keep the expiry they had). Points the shop gives are not
    spending, so they never count toward a tier."""
    row = LedgerRow(**_lot(ctx, member_id, kind, points, expires_at, columns))
    s.add(row)
    return row


_INSERT_LOT = insert(LedgerRow.__table__)  # built once, run prebuilt (storage.db.run)


async def write_lot(
    s: Session, ctx: Context, member_id: int, kind: str, points: int, **columns: object
) -> None:
    """``grant_points`` by a statement built once, run at once: for a sale's lot, so the
    sale's unit of work writes no ORM object."""
    await run(s, _INSERT_LOT, _lot(ctx, member_id, kind, points, None, columns))


def _lot(
    ctx: Context,
    member_id: int,
    kind: str,
    points: int,
    expires_at: datetime | None,
    columns: dict[str, object],
) -> dict[str, object]:
    now = ctx.now()
    return {
        "member_id": member_id,
        "kind": kind,
        "points": points,
        "remaining": points,
        "created_at": now,
        "expires_at": expires_at or _lot_expiry(ctx, now),
        "detail": {},
    } | columns


async def spend_points(
    s: Session,
    ctx: Context,
    member_id: int,
    points: int,
    kind: str,
    detail: dict[str, object],
) -> LedgerRow:
    """Spend ``points`` on something other than a reward (an event's sign-up): the lots
    that expire first, written as a ``kind`` row whose detail keeps which lots gave them, so
    :func:`return_points` can give them back. NotEnoughPoints when the balance is short."""
    now = ctx.now()
    balance = await balance_in(s, member_id, now)
    if balance < points:
        raise NotEnoughPoints(balance=balance, needed=points)
    lots = await _consume_lots(s, member_id, points, now)
    row = LedgerRow(
        member_id=member_id,
        kind=kind,
        points=-points,
        created_at=now,
        detail={**detail, "lots": [list(lot) for lot in lots]},
    )
    s.add(row)
    await s.flush()
    return row


async def return_points(
    s: Session, ctx: Context, spent: LedgerRow, kind: str, detail: dict[str, object]
) -> LedgerRow:
    """Give back what :func:`spend_points` took, into the lots it came from: they keep their
    expiry (a cancelled sign-up never makes points live longer; a lot that expired meanwhile
    is expired again by the nightly job). One ``kind`` row with the points, not a lot."""
    lots = [(int(lot_id), int(points)) for lot_id, points in spent.detail.get("lots", [])]
    for lot_id, points in lots:
        await s.execute(
            update(LedgerRow)
            .where(LedgerRow.id == lot_id)
            .values(remaining=LedgerRow.remaining + points)
        )
    row = LedgerRow(
        member_id=spent.member_id,
        kind=kind,
        points=sum(points for _lot, points in lots),
        created_at=ctx.now(),
        detail={**detail, "spent": spent.id},
    )
    s.add(row)
    await s.flush()
    return row


@dataclass(frozen=True)
class ExpiryReport:
    members: int
    points: int


async def expire_points(ctx: Context) -> ExpiryReport:
    """Write an ``expire`` row for every lot past its expiry that still holds points.
    Safe to run any number of times; members are processed in small locked batches."""
    now = ctx.now()
    async with ctx.db.read() as s:
        member_ids = list(
            await s.scalars(
                select(LedgerRow.member_id)
                .where(LedgerRow.remaining > 0, LedgerRow.expires_at <= now)
                .distinct()
                .order_by(LedgerRow.member_id)
            )
        )
    expired = 0
    for start in range(0, len(member_ids), EXPIRY_BATCH):
        async with ctx.db.transaction() as s:
            lost: dict[int, int] = {}
            for member_id in member_ids[start : start + EXPIRY_BATCH]:
                await lock_member(s, member_id)
                lots = await s.scalars(
                    select(LedgerRow).where(
                        LedgerRow.member_id == member_id,
                        LedgerRow.remaining > 0,
                        LedgerRow.expires_at <= now,
                    )
                )
                for lot in lots:
                    points = lot.remaining or 0
                    lot.remaining = 0
                    expired += points
                    lost[member_id] = lost.get(member_id, 0) + points
                    s.add(
                        LedgerRow(
                            member_id=member_id,
                            kind="expire",
                            points=-points,
                            created_at=now,
                            lot_id=lot.id,
                        )
                    )
                    audit.record(
                        s,
                        now,
                        audit.SYSTEM,
                        "points.expired",
                        member_id,
                        lot_id=lot.id,
                        points=points,
                    )
            if lost and await webhooks.listened(s, "points.expired"):
                await s.flush()
                told = [
                    webhooks.Happening(
                        m, None, {"points": n, "balance": await balance_in(s, m, now)}
                    )
                    for m, n in lost.items()
                ]
                await webhooks.emit_many(s, now, "points.expired", told)
    return ExpiryReport(members=len(member_ids), points=expired)
