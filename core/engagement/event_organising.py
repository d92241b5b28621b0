"""Organising members-only events, staff's side: making one and announcing it, the events of
the shop file, who has a place, marking who came, and the figures.

Events of the shop file (``[[events]]``) are mirrored by code on every start-up
(``sync_events``); events made in chat have no code. Apart from members' side
(``core.engagement.shop_events``: who may join, signing up, cancelling, the reminder), whose
views this module builds on: staff's tools change with how the shop runs events, members'
side with places and points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select

from core import audit
from core.context import Context
from core.engagement.shop_events import (
    CANCELLED,
    EventView,
    SignupView,
    event_view,
    load_event,
    signup_view,
    signups_query,
    titles,
    with_store,
)
from core.errors import EventNotStarted, InvalidInput, NotAllowed, SignupNotActive, UnknownEvent
from core.insights.segments import Segment, Stage, select_members
from core.insights.stats import local_midnight
from core.people.members import store_id
from core.people.staff import Role, StaffView
from core.pushes import outbox
from core.pushes.audience import reachable
from storage.models import EventRow, EventSignupRow, MemberRow, StoreRow
from storage.session import Session

TITLE_MAX = 100
CAPACITY_MAX = 100_000
POINTS_MAX = 1_000_000
MARKS = ("attended", "no_show")
NEWS = "event_news"  # a new event, to the members who may join it (marketing)
CHUNK = 500  # member ids per IN (…) list
RECENT = timedelta(days=7)  # staff still see an event this long after it ended (attendance)


@dataclass(frozen=True)
class EventDraft:
    """An event as staff describe it; times are aware instants."""

    title: str
    title_en: str
    store: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    min_tier: str | None = None
    stages: frozenset[Stage] = frozenset()
    points: int = 0


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(field=field, value=value)
    return value


def check_draft(ctx: Context, draft: EventDraft) -> EventDraft:
    """The draft with trimmed titles, or InvalidInput naming what is wrong: titles of 1 to
    ``TITLE_MAX`` characters, a known store and tier, a start in the future, an end after it,
    1 to ``CAPACITY_MAX`` places, 0 to ``POINTS_MAX`` points."""
    title, title_en = " ".join(draft.title.split()), " ".join(draft.title_en.split())
    for field, value in (("title", title), ("title_en", title_en)):
        if not 1 <= len(value) <= TITLE_MAX:
            raise InvalidInput(field=field, max=TITLE_MAX)
    if draft.store is not None and ctx.shop.store(draft.store) is None:
        raise InvalidInput(field="store", value=draft.store)
    if draft.min_tier is not None and draft.min_tier not in {t.code for t in ctx.shop.tiers.levels}:
        raise InvalidInput(field="min_tier", value=draft.min_tier)
    for field, at in (("starts_at", draft.starts_at), ("ends_at", draft.ends_at)):
        if at.tzinfo is None:
            raise InvalidInput(field=field)
    if draft.starts_at <= ctx.now():
        raise InvalidInput(field="starts_at", value=draft.starts_at.isoformat())
    if draft.ends_at <= draft.starts_at:
        raise InvalidInput(field="ends_at", value=draft.ends_at.isoformat())
    _whole(draft.capacity, "capacity", 1, CAPACITY_MAX)
    _whole(draft.points, "points", 0, POINTS_MAX)
    try:
        stages = frozenset(Stage(s) for s in draft.stages)
    except ValueError:
        raise InvalidInput(field="stages", value=sorted(map(str, draft.stages))) from None
    return EventDraft(
        title=title,
        title_en=title_en,
        store=draft.store,
        starts_at=draft.starts_at.astimezone(UTC),
        ends_at=draft.ends_at.astimezone(UTC),
        capacity=draft.capacity,
        min_tier=draft.min_tier or None,
        stages=stages,
        points=draft.points,
    )


async def create_event(ctx: Context, staff: StaffView, draft: EventDraft) -> EventView:
    """A manager's event (at their own store) or the owner's (at any store, or every
    store)."""
    staff.require(Role.MANAGER)
    draft = check_draft(ctx, draft)
    if staff.role is not Role.OWNER and staff.store is not None and draft.store != staff.store:
        raise NotAllowed(needed=Role.OWNER.value)
    news = await select_members(ctx, _audience(ctx, draft))
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = EventRow(
            title=draft.title,
            title_en=draft.title_en,
            store_id=await store_id(s, draft.store) if draft.store else None,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            capacity=draft.capacity,
            joined=0,
            min_tier=draft.min_tier,
            stages=sorted(stage.value for stage in draft.stages),
            points=draft.points,
            active=True,
            created_by=staff.id,
            created_at=now,
        )
        s.add(row)
        await s.flush()
        audit.record(s, now, staff.actor, "event.created", None, event_id=row.id, title=draft.title)
        event = await load_event(s, row.id)
        await _announce(s, now, row, event.store, news)
        return event


def _audience(ctx: Context, draft: EventDraft) -> Segment:
    """Who may join the event and accepted offers and news: those it is announced to."""
    tiers: list[str] = []
    if draft.min_tier:
        lowest = ctx.shop.tier_rank(draft.min_tier)
        tiers = [t.code for t in ctx.shop.tiers.levels if ctx.shop.tier_rank(t.code) >= lowest]
    return Segment(stages=draft.stages, tiers=frozenset(tiers), marketing_consent_only=True)


async def _announce(
    s: Session, now: datetime, row: EventRow, store: str | None, members: list[int]
) -> None:
    """Tell ``members`` of the new event (kind ``NEWS``, marketing: quiet hours and consent
    hold, checked again here), in the event's transaction: members with no event for them
    were promised to hear of the next one."""
    params = {
        "event_id": row.id,
        **titles(row),
        "store": store,
        "starts_at": row.starts_at.isoformat(),
    }
    for start in range(0, len(members), CHUNK):
        reached = await s.scalars(
            select(MemberRow.id)
            .where(MemberRow.id.in_(members[start : start + CHUNK]), reachable(marketing=True))
            .order_by(MemberRow.id)
        )
        await outbox.enqueue_many(
            s,
            now=now,
            pushes=[(m, True, NEWS, f"{NEWS}:{row.id}:{m}", params) for m in reached],
        )


async def sync_events(s: Session, ctx: Context) -> int:
    """Mirror the shop file's ``[[events]]`` by code inside the caller's transaction (the
    catalogue sync): new ones are added, changed ones updated (places already taken stay),
    removed ones can no longer be joined. Events made in chat are left alone."""
    rows = {r.code: r for r in await s.scalars(select(EventRow).where(EventRow.code.is_not(None)))}
    for kept in rows.values():
        kept.active = False
    stores = {code: sid for sid, code in await s.execute(select(StoreRow.id, StoreRow.code))}
    for event in ctx.shop.events:
        row = rows.get(event.code)
        if row is None:
            row = EventRow(code=event.code, joined=0, created_at=ctx.now())
            s.add(row)
        row.title, row.title_en = event.title, event.title_en
        row.store_id = stores[event.store] if event.store else None
        row.starts_at = event.starts_at.replace(tzinfo=ctx.zone).astimezone(UTC)
        row.ends_at = event.ends_at.replace(tzinfo=ctx.zone).astimezone(UTC)
        row.capacity = event.capacity
        row.min_tier = event.min_tier or None
        row.stages = sorted(set(event.stages))
        row.points = event.points
        row.active = True
    return len(ctx.shop.events)


async def staff_events(ctx: Context, stores: list[str] | None, limit: int = 20) -> list[EventView]:
    """Events staff look after: not ended more than ``RECENT`` ago, soonest first; of the
    given stores and the events of every store (None: all events)."""
    async with ctx.db.read() as s:
        query = with_store().where(EventRow.ends_at > ctx.now() - RECENT)
        if stores is not None:
            query = query.where(EventRow.store_id.is_(None) | StoreRow.code.in_(stores))
        rows = await s.execute(query.order_by(EventRow.starts_at, EventRow.id).limit(limit))
        return [event_view(row, code) for row, code in rows]


async def event_signups(ctx: Context, event_id: int) -> list[SignupView]:
    """Who has a place at the event (cancelled sign-ups left out), in sign-up order."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            signups_query()
            .where(EventSignupRow.event_id == event_id, EventSignupRow.status != CANCELLED)
            .order_by(EventSignupRow.id)
        )
        return [signup_view(r, event_view(e, code), name) for r, e, code, name in rows]


async def mark_signup(
    ctx: Context, signup_id: int, status: str, staff_id: int | None
) -> SignupView:
    """Staff record whether the member came, once the event has begun; a mark can be
    corrected, a cancelled sign-up not."""
    if status not in MARKS:
        raise InvalidInput(field="status", value=status)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await s.scalar(
            select(EventSignupRow).where(EventSignupRow.id == signup_id).with_for_update()
        )
        if row is None:
            raise UnknownEvent(signup=signup_id)
        if row.status == CANCELLED:
            raise SignupNotActive(signup=signup_id, status=row.status)
        event = await load_event(s, row.event_id)
        if now < event.starts_at:
            raise EventNotStarted(event=event.id, starts_at=event.starts_at)
        if row.status != status:
            previous = row.status
            row.status, row.marked_at, row.marked_by_staff_id = status, now, staff_id
            audit.record(
                s,
                now,
                audit.staff_actor(staff_id),
                f"event.{status}",
                row.member_id,
                signup_id=row.id,
                event_id=event.id,
                previous=previous,
            )
            await s.flush()
        name = await s.scalar(select(MemberRow.name).where(MemberRow.id == row.member_id))
        return signup_view(row, event, name or "")


@dataclass(frozen=True)
class EventStats:
    """Events that began in the period (of a store: the events held there)."""

    events: int
    signups: int  # places taken and not cancelled
    attended: int
    no_shows: int
    cancelled: int
    points_spent: int  # by the sign-ups that were not cancelled

    @property
    def attendance_rate(self) -> float:
        return self.attended / self.signups if self.signups else 0.0


async def event_stats(ctx: Context, *, store: str | None, start: date, end: date) -> EventStats:
    """Sign-ups, attendance and points spent of the events that began between the shop
    days ``start`` and ``end`` (both included), of one store or of all."""
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    since, until = local_midnight(ctx, start), local_midnight(ctx, end + timedelta(days=1))
    async with ctx.db.read() as s:
        held = select(EventRow.id).where(EventRow.starts_at >= since, EventRow.starts_at < until)
        if store is not None:
            held = held.where(EventRow.store_id == await store_id(s, store))
        events = int(await s.scalar(select(func.count()).select_from(held.subquery())) or 0)
        signup = EventSignupRow
        kept = signup.status != CANCELLED
        signups, attended, no_shows, cancelled, points = (
            await s.execute(
                select(
                    func.count(case((kept, 1))),
                    func.count(case((signup.status == "attended", 1))),
                    func.count(case((signup.status == "no_show", 1))),
                    func.count(case((signup.status == CANCELLED, 1))),
                    func.coalesce(func.sum(case((kept, signup.points), else_=0)), 0),
                ).where(signup.event_id.in_(held))
            )
        ).one()
    return EventStats(
        events=events,
        signups=int(signups),
        attended=int(attended),
        no_shows=int(no_shows),
        cancelled=int(cancelled),
        points_spent=int(points),
    )
