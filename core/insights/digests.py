"""The owner's weekly digest: what moved in the shop, pushed to every owner (all stores) and
every manager (their store), each line with the action it calls for.

A weekly job (``bot.scheduler``) makes it for the week before the Monday of the week it runs
in — ``first_day`` is that Monday less 7 days, ``last_day`` the Sunday before it — so a job
that runs late or twice makes the same digest, and at most one per staff member and week
(unique ``(staff_id, week)``; outbox dedup key ``digest:{week}:{staff}``, kind
``staff_digest``). The digest and its lines are stored, so their buttons still work days
later.

Lines, by kind:

- ``dormant``: members who *became dormant* during the week, per home store and tier —
  their lifecycle stage (``core.insights.segments.lifecycle_stage``) was dormant on ``last_day`` but
  not the day before ``first_day``, and is dormant still when the digest is made. The
  member ids are kept with the line, so the win-back campaign its button starts goes to
  exactly the members counted (less those who since declined marketing or deleted their
  data; ``core.insights.campaigns.create_and_send(digest_item=…)``).
- ``urgent_feedback``: urgent feedback (rating 2 or less) still open, as far as the staff
  member sees it in ``/feedback`` (their store's and the feedback about no store; all of it
  for an owner). Only when there is some.
- ``best_store`` / ``worst_store`` (owners, when at least two stores had buyers and their
  rates differ): the stores with the highest and the lowest repeat rate — buyers with two
  purchases or more among the store's buyers (``core.insights.stats.repeat_rates``) over the
  ``[digest] repeat_days`` days up to ``last_day``; ``store_repeat`` for a manager: their
  own store's.

A digest with no line is not made (nothing moved, nothing to push).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.context import Context
from core.errors import UnknownDigest
from core.insights import stats
from core.insights.segments import Stage, compute_segments, lifecycle_stage
from core.people.staff import Role, StaffView, list_staff
from core.pushes import outbox
from core.service.feedback import OPEN
from storage.db import insert_ignore
from storage.models import DigestItemRow, DigestRow, FeedbackRow, StoreRow
from storage.session import Session

OUTBOX_KIND = "staff_digest"
DORMANT, URGENT_FEEDBACK = "dormant", "urgent_feedback"
BEST_STORE, WORST_STORE, STORE_REPEAT = "best_store", "worst_store", "store_repeat"


@dataclass(frozen=True)
class DigestItem:
    id: int
    kind: str
    store: str | None  # the store the line is about (dormant: the members' home store)
    tier: str | None  # dormant: the members' tier
    count: int  # members (dormant), open urgent feedback, or buyers (repeat lines)
    details: dict[str, Any]  # repeat lines: repeat_buyers and days

    @property
    def repeat_rate(self) -> float:
        return int(self.details.get("repeat_buyers", 0)) / self.count if self.count else 0.0


@dataclass(frozen=True)
class Digest:
    id: int
    staff_id: int
    week: date  # the Monday of the week it was made in
    first_day: date
    last_day: date
    store: str | None  # whose stores: None for an owner (all of them)
    created_at: datetime
    items: tuple[DigestItem, ...]


def digest_week(today: date) -> tuple[date, date, date]:
    """The Monday of ``today``'s week, and the first and last day of the week before it."""
    monday = today - timedelta(days=today.weekday())
    return monday, monday - timedelta(days=7), monday - timedelta(days=1)


@dataclass(frozen=True)
class _Line:
    kind: str
    store: str | None
    tier: str | None
    count: int
    members: tuple[int, ...] = ()
    details: dict[str, Any] | None = None


async def weekly_digests(ctx: Context) -> int:
    """Make this week's digest for every owner and manager who has none yet and queue it
    for their chat; returns how many were queued."""
    week, first_day, last_day = digest_week(ctx.today())
    team = [m for m in await list_staff(ctx) if m.role.allows(Role.MANAGER)]
    if not team:
        return 0
    shop = ctx.shop
    rules = shop.segments
    async with ctx.db.read() as s:
        segments = await compute_segments(s, ctx)
        urgent = {
            sid: int(n)
            for sid, n in await s.execute(
                select(FeedbackRow.store_id, func.count())
                .where(FeedbackRow.status == OPEN, FeedbackRow.urgent.is_(True))
                .group_by(FeedbackRow.store_id)
            )
        }
        store_ids = {code: sid for code, sid in await s.execute(select(StoreRow.code, StoreRow.id))}
    became_dormant: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    day_before = first_day - timedelta(days=1)
    for member in segments:
        if member.stage is not Stage.DORMANT:
            continue

        def stage_on(day: date, member: Any = member) -> Stage:
            return lifecycle_stage(
                rules,
                today=day,
                first_purchase=member.first_purchase,
                last_purchase=member.last_purchase,
            )

        if stage_on(last_day) is Stage.DORMANT and stage_on(day_before) is not Stage.DORMANT:
            became_dormant[(member.home_store, member.tier)].append(member.member_id)
    repeat_days = shop.digest.repeat_days
    rates = await stats.repeat_rates(
        ctx, start=last_day - timedelta(days=repeat_days - 1), end=last_day
    )
    store_order = [store.code for store in shop.stores]
    tier_order = [tier.code for tier in reversed(shop.tiers.levels)]  # the highest first

    def dormant_lines(store: str | None, everywhere: bool) -> list[_Line]:
        keys = sorted(
            (key for key in became_dormant if everywhere or key[0] == store),
            key=lambda key: (
                store_order.index(key[0]) if key[0] in store_order else len(store_order),
                tier_order.index(key[1]) if key[1] in tier_order else len(tier_order),
            ),
        )
        return [
            _Line(DORMANT, code, tier, len(ids), tuple(sorted(ids)))
            for code, tier in keys
            for ids in [became_dormant[(code, tier)]]
        ]

    def repeat_line(kind: str, code: str) -> _Line:
        buyers, repeaters = rates[code]
        details = {"repeat_buyers": repeaters, "days": repeat_days}
        return _Line(kind, code, None, buyers, details=details)

    def lines_for(member: StaffView) -> list[_Line]:
        everywhere = member.role is Role.OWNER
        lines = dormant_lines(member.store, everywhere)
        if everywhere:
            open_urgent = sum(urgent.values())
        else:
            open_urgent = urgent.get(store_ids.get(member.store or ""), 0) + urgent.get(None, 0)
        if open_urgent:
            lines.append(
                _Line(URGENT_FEEDBACK, None if everywhere else member.store, None, open_urgent)
            )
        if everywhere:
            ranked = sorted(
                (code for code in store_order if code in rates),
                key=lambda code: -rates[code][1] / rates[code][0],
            )
            if len(ranked) >= 2:
                best, worst = ranked[0], ranked[-1]
                rate = {code: rates[code][1] / rates[code][0] for code in (best, worst)}
                if rate[best] != rate[worst]:
                    lines += [repeat_line(BEST_STORE, best), repeat_line(WORST_STORE, worst)]
        elif member.store in rates:
            lines.append(repeat_line(STORE_REPEAT, str(member.store)))
        return lines

    queued = 0
    now = ctx.now()
    for staff in team:
        lines = lines_for(staff)
        if not lines:
            continue
        async with ctx.db.transaction() as s:
            scope = None if staff.role is Role.OWNER else staff.store
            made = await insert_ignore(
                s,
                DigestRow.__table__,
                {
                    "staff_id": staff.id,
                    "week": week,
                    "first_day": first_day,
                    "last_day": last_day,
                    "store_id": store_ids.get(scope) if scope else None,
                    "created_at": now,
                },
                conflict=["staff_id", "week"],
            )
            if not made:  # made already by an earlier run this week
                continue
            digest_id = await s.scalar(
                select(DigestRow.id).where(DigestRow.staff_id == staff.id, DigestRow.week == week)
            )
            for position, line in enumerate(lines):
                s.add(
                    DigestItemRow(
                        digest_id=digest_id,
                        position=position,
                        kind=line.kind,
                        store_id=store_ids.get(line.store) if line.store else None,
                        tier=line.tier,
                        count=line.count,
                        members=list(line.members),
                        details=line.details or {},
                    )
                )
            queued += await outbox.enqueue_for_staff(
                s,
                now=now,
                staff_id=staff.id,
                kind=OUTBOX_KIND,
                dedup_key=f"digest:{week.isoformat()}:{staff.id}",
                params={"digest_id": digest_id},
            )
    return queued


# --- reading ------------------------------------------------------------------------------


async def get_digest(ctx: Context, digest_id: int) -> Digest:
    async with ctx.db.read() as s:
        row = await s.get(DigestRow, digest_id)
        if row is None:
            raise UnknownDigest(digest=digest_id)
        codes = {sid: code for sid, code in await s.execute(select(StoreRow.id, StoreRow.code))}
        items = await s.scalars(
            select(DigestItemRow)
            .where(DigestItemRow.digest_id == digest_id)
            .order_by(DigestItemRow.position)
        )
        return Digest(
            id=row.id,
            staff_id=row.staff_id,
            week=row.week,
            first_day=row.first_day,
            last_day=row.last_day,
            store=codes.get(row.store_id) if row.store_id else None,
            created_at=row.created_at,
            items=tuple(_item(item, codes) for item in items),
        )


async def latest_digest(ctx: Context, staff_id: int) -> Digest | None:
    """The staff member's most recent digest, if any was made for them."""
    async with ctx.db.read() as s:
        digest_id = await s.scalar(
            select(DigestRow.id)
            .where(DigestRow.staff_id == staff_id)
            .order_by(DigestRow.week.desc())
            .limit(1)
        )
    return await get_digest(ctx, digest_id) if digest_id is not None else None


def _item(row: DigestItemRow, codes: dict[int, str]) -> DigestItem:
    return DigestItem(
        id=row.id,
        kind=row.kind,
        store=codes.get(row.store_id) if row.store_id else None,
        tier=row.tier,
        count=row.count,
        details=dict(row.details),
    )


async def _own_item(s: Session, item_id: int, staff: StaffView) -> DigestItemRow:
    """The line, if it is in this staff member's digest (an owner may use any)."""
    found = (
        await s.execute(
            select(DigestItemRow, DigestRow.staff_id)
            .join(DigestRow, DigestRow.id == DigestItemRow.digest_id)
            .where(DigestItemRow.id == item_id)
        )
    ).first()
    if found is None:
        raise UnknownDigest(digest=item_id)
    row, owner_id = found
    if owner_id != staff.id and staff.role is not Role.OWNER:
        raise UnknownDigest(digest=item_id)
    return row


async def winback_item(ctx: Context, item_id: int, staff: StaffView) -> DigestItem:
    """A ``dormant`` line of this staff member's digest, to start a win-back campaign."""
    async with ctx.db.read() as s:
        row = await _own_item(s, item_id, staff)
        if row.kind != DORMANT:
            raise UnknownDigest(digest=item_id)
        codes = {sid: code for sid, code in await s.execute(select(StoreRow.id, StoreRow.code))}
        return _item(row, codes)


async def winback_audience(s: Session, item_id: int, staff: StaffView) -> list[int]:
    """The members a ``dormant`` line counted, inside the caller's transaction (checked to
    be this staff member's line)."""
    row = await _own_item(s, item_id, staff)
    if row.kind != DORMANT:
        raise UnknownDigest(digest=item_id)
    return [int(member_id) for member_id in row.members]


async def item_members(s: Session, item_id: int) -> list[int]:
    """The members a line counted, ascending (none for lines that count no members)."""
    members = await s.scalar(select(DigestItemRow.members).where(DigestItemRow.id == item_id))
    if members is None:
        raise UnknownDigest(digest=item_id)
    return [int(member_id) for member_id in members]
