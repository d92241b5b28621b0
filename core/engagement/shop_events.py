"""Members-only events (专属活动): staff make them, members who may join sign up, staff mark
who came.

An event has a store (or every store), a start and an end, a number of places, who may join
— a minimum tier and/or lifecycle stages (``core.insights.segments.Stage``), all given ones must
hold
— and an optional price in points. Members see only the events they may join, and only
until they begin; a sign-up is refused for anyone else, whatever button they press.

Places: the event row's ``joined`` counter is changed only by a conditional UPDATE
(``joined < capacity``), as a booking slot's, so concurrent sign-ups never take more places
than there are, on SQLite as on PostgreSQL. Points: a sign-up's price is spent in the same
transaction through the points ledger (``core.ledger.points.spend_points``, its own kind
``event``), after the member is locked, so the balance never goes below zero; a sign-up
that finds the event full takes nothing. Cancelling before the cut-off
(``event_rules.cancel_cutoff_hours``) frees the place and gives the points back into the
lots they came from (kind ``event_return``), so they keep their expiry.

Events of the shop file (``[[events]]``) are mirrored by code on every start-up
(``sync_events``); events made in chat have no code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.errors import (
    AlreadySignedUp,
    EventCancelTooLate,
    EventFull,
    EventNotOpen,
    EventNotStarted,
    EventStarted,
    InvalidInput,
    NotAllowed,
    NotEnoughPoints,
    SignupNotActive,
    UnknownEvent,
)
from core.insights.segments import Segment, Stage, member_stage, select_members
from core.insights.stats import local_midnight
from core.ledger.points import balance_in, return_points, spend_points
from core.people.members import lock_member, store_id
from core.people.staff import Role, StaffView
from core.pushes import outbox
from core.pushes.audience import reachable
from core.pushes.scheduled import Planned, queue
from storage.db import Session
from storage.models import EventRow, EventSignupRow, LedgerRow, MemberRow, StoreRow

TITLE_MAX = 100
CAPACITY_MAX = 100_000
POINTS_MAX = 1_000_000
SPEND_KIND, RETURN_KIND = "event", "event_return"
JOINED, CANCELLED = "joined", "cancelled"
MARKS = ("attended", "no_show")
REMINDER = "event_reminder"
NEWS = "event_news"  # a new event, to the members who may join it (marketing)
CHUNK = 500  # member ids per IN (…) list
RECENT = timedelta(days=7)  # staff still see an event this long after it ended (attendance)


# --- views --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventView:
    id: int
    code: str | None
    title: str
    title_en: str
    store: str | None  # None: every store
    starts_at: datetime
    ends_at: datetime
    capacity: int
    joined: int
    min_tier: str | None
    stages: tuple[Stage, ...]
    points: int
    active: bool

    @property
    def free(self) -> int:
        return max(self.capacity - self.joined, 0)


@dataclass(frozen=True)
class SignupView:
    id: int
    event: EventView
    member_id: int
    member_name: str
    status: str
    points: int
    created_at: datetime


@dataclass(frozen=True)
class MemberEvent:
    """An event a member may join, with their own active sign-up if they have one."""

    event: EventView
    signup_id: int | None


def _stages(values: Iterable[str]) -> tuple[Stage, ...]:
    known = [stage.value for stage in Stage]
    return tuple(Stage(v) for v in sorted(set(values) & set(known), key=known.index))


def _view(row: EventRow, store_code: str | None) -> EventView:
    return EventView(
        id=row.id,
        code=row.code,
        title=row.title,
        title_en=row.title_en,
        store=store_code,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        capacity=row.capacity,
        joined=row.joined,
        min_tier=row.min_tier,
        stages=_stages(row.stages or []),
        points=row.points,
        active=row.active,
    )


def _with_store() -> Select[tuple[EventRow, str | None]]:
    return select(EventRow, StoreRow.code).outerjoin(StoreRow, StoreRow.id == EventRow.store_id)


async def _load(s: Session, event_id: int) -> EventView:
    found = (await s.execute(_with_store().where(EventRow.id == event_id))).first()
    if found is None:
        raise UnknownEvent(event=event_id)
    return _view(*found)


def cancel_cutoff(ctx: Context, starts_at: datetime) -> datetime:
    """The last moment a member can cancel a sign-up (and get the points back)."""
    return starts_at - timedelta(hours=ctx.shop.event_rules.cancel_cutoff_hours)


# --- making events ------------------------------------------------------------------------


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
        event = await _load(s, row.id)
        await _announce(s, now, row, event.store, news)
        return event


def _audience(ctx: Context, draft: EventDraft) -> Segment:
    """Who may join the event and accepted offers and news: those it is announced to."""
    tiers: list[str] = []
    if draft.min_tier:
        lowest = ctx.shop.tier_rank(draft.min_tier)
        tiers = [t.code for t in ctx.shop.tiers.levels if ctx.shop.tier_rank(t.code) >= lowest]
    return Segment(stages=draft.stages, tiers=tiers, marketing_consent_only=True)


async def _announce(
    s: Session, now: datetime, row: EventRow, store: str | None, members: list[int]
) -> None:
    """Tell ``members`` of the new event (kind ``NEWS``, marketing: quiet hours and consent
    hold, checked again here), in the event's transaction: members with no event for them
    were promised to hear of the next one."""
    params = {
        "event_id": row.id,
        **_titles(row),
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
    for row in rows.values():
        row.active = False
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


# --- who may join -------------------------------------------------------------------------


class _Eligibility:
    """One member's tier and (computed once, when an event asks for it) stage."""

    def __init__(self, s: Session, ctx: Context, member: MemberRow) -> None:
        self.s, self.ctx, self.member = s, ctx, member
        self._stage: Stage | None = None

    async def allows(self, row: EventRow) -> bool:
        shop = self.ctx.shop
        if row.min_tier and shop.tier_rank(self.member.tier) < shop.tier_rank(row.min_tier):
            return False
        if row.stages:
            if self._stage is None:
                self._stage = await member_stage(self.s, self.ctx, self.member.id)
            return self._stage.value in row.stages
        return True


def _open(now: datetime) -> Select[tuple[EventRow, str | None]]:
    """Events members may still join: active and not yet begun, soonest first."""
    return (
        _with_store()
        .where(EventRow.active.is_(True), EventRow.starts_at > now)
        .order_by(EventRow.starts_at, EventRow.id)
    )


async def _active_signup(s: Session, event_id: int, member_id: int) -> EventSignupRow | None:
    found: EventSignupRow | None = await s.scalar(
        select(EventSignupRow).where(
            EventSignupRow.event_id == event_id,
            EventSignupRow.member_id == member_id,
            EventSignupRow.status != CANCELLED,
        )
    )
    return found


async def open_events(ctx: Context, member_id: int, limit: int = 10) -> list[MemberEvent]:
    """The events this member may join that have not begun, soonest first, each with the
    member's own sign-up if any. Events above their tier or outside their stages are not
    among them."""
    now = ctx.now()
    async with ctx.db.read() as s:
        member = await s.get(MemberRow, member_id)
        if member is None:
            return []
        who = _Eligibility(s, ctx, member)
        found = []
        for row, code in await s.execute(_open(now)):
            if await who.allows(row):
                found.append((row, code))
            if len(found) == limit:
                break
        mine = {
            event_id: signup_id
            for event_id, signup_id in await s.execute(
                select(EventSignupRow.event_id, EventSignupRow.id).where(
                    EventSignupRow.member_id == member_id,
                    EventSignupRow.status != CANCELLED,
                    EventSignupRow.event_id.in_([row.id for row, _ in found]),
                )
            )
        }
        return [MemberEvent(_view(row, code), mine.get(row.id)) for row, code in found]


async def event_for_member(ctx: Context, member_id: int, event_id: int) -> MemberEvent:
    """One event as this member may see it: UnknownEvent when it is gone or has begun,
    EventNotOpen when they may not join it."""
    async with ctx.db.read() as s:
        member = await s.get(MemberRow, member_id)
        found = (await s.execute(_open(ctx.now()).where(EventRow.id == event_id))).first()
        if member is None or found is None:
            raise UnknownEvent(event=event_id)
        row, code = found
        if not await _Eligibility(s, ctx, member).allows(row):
            raise EventNotOpen(event=event_id)
        signup = await _active_signup(s, event_id, member_id)
        return MemberEvent(_view(row, code), signup.id if signup else None)


# --- signing up and cancelling ------------------------------------------------------------


def _signup_view(row: EventSignupRow, event: EventView, name: str) -> SignupView:
    return SignupView(
        id=row.id,
        event=event,
        member_id=row.member_id,
        member_name=name,
        status=row.status,
        points=row.points,
        created_at=row.created_at,
    )


async def sign_up(ctx: Context, member_id: int, event_id: int) -> SignupView:
    """Take a place at an event and pay its points, or nothing at all.

    Refused (with nothing taken) when the event is gone (UnknownEvent), has begun
    (EventStarted), is not open to the member (EventNotOpen), the member has a place already
    (AlreadySignedUp), lacks the points (NotEnoughPoints) or every place is taken
    (EventFull)."""
    now = ctx.now()
    try:
        async with ctx.db.transaction() as s:
            member = await lock_member(s, member_id)
            found = (await s.execute(_with_store().where(EventRow.id == event_id))).first()
            if found is None or not found[0].active:
                raise UnknownEvent(event=event_id)
            row = found[0]
            if row.starts_at <= now:
                raise EventStarted(event=event_id)
            if not await _Eligibility(s, ctx, member).allows(row):
                raise EventNotOpen(event=event_id)
            if await _active_signup(s, event_id, member_id) is not None:
                raise AlreadySignedUp(event=event_id)
            balance = await balance_in(s, member_id, now)
            if balance < row.points:
                raise NotEnoughPoints(balance=balance, needed=row.points)
            taken = await s.execute(
                update(EventRow.__table__)
                .where(
                    EventRow.id == event_id,
                    EventRow.active.is_(True),
                    EventRow.joined < EventRow.capacity,
                )
                .values(joined=EventRow.joined + 1)
            )
            if taken.rowcount != 1:
                raise EventFull(event=event_id)
            signup = EventSignupRow(
                event_id=event_id,
                member_id=member_id,
                status=JOINED,
                points=row.points,
                created_at=now,
            )
            s.add(signup)
            await s.flush()
            if row.points:
                spent = await spend_points(
                    s,
                    ctx,
                    member_id,
                    row.points,
                    SPEND_KIND,
                    {"event_id": event_id, "signup_id": signup.id, **_titles(row)},
                )
                signup.ledger_id = spent.id
            audit.record(
                s,
                now,
                audit.member_actor(member_id),
                "event.signed_up",
                member_id,
                event_id=event_id,
                signup_id=signup.id,
                points=row.points,
            )
            await s.flush()
            event = await _load(s, event_id)
            return _signup_view(signup, event, member.name)
    except IntegrityError:
        # The partial unique index caught a second place of the same member.
        raise AlreadySignedUp(event=event_id) from None


def _titles(row: EventRow) -> dict[str, str]:
    return {"title": row.title, "title_en": row.title_en}


async def cancel_signup(ctx: Context, member_id: int, signup_id: int) -> SignupView:
    """A member gives up their place before the cut-off: the place is free again and the
    points come back (into the lots they were taken from, with their expiry)."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        member = await lock_member(s, member_id)
        row = await s.scalar(
            select(EventSignupRow).where(EventSignupRow.id == signup_id).with_for_update()
        )
        if row is None or row.member_id != member_id:
            raise UnknownEvent(signup=signup_id)
        if row.status != JOINED:
            raise SignupNotActive(signup=signup_id, status=row.status)
        event = await s.get(EventRow, row.event_id)
        assert event is not None
        cutoff = cancel_cutoff(ctx, event.starts_at)
        if now > cutoff:
            raise EventCancelTooLate(
                signup=signup_id, cutoff=cutoff, hours=ctx.shop.event_rules.cancel_cutoff_hours
            )
        row.status, row.cancelled_at = CANCELLED, now
        await s.execute(
            update(EventRow.__table__)
            .where(EventRow.id == event.id, EventRow.joined > 0)
            .values(joined=EventRow.joined - 1)
        )
        if row.ledger_id is not None:
            spent = await s.get(LedgerRow, row.ledger_id)
            assert spent is not None
            await return_points(
                s,
                ctx,
                spent,
                RETURN_KIND,
                {"event_id": event.id, "signup_id": row.id, **_titles(event)},
            )
        audit.record(
            s,
            now,
            audit.member_actor(member_id),
            "event.cancelled",
            member_id,
            event_id=event.id,
            signup_id=row.id,
            points=row.points,
        )
        await s.flush()
        return _signup_view(row, await _load(s, event.id), member.name)


def _signups() -> Select[tuple[EventSignupRow, EventRow, str | None, str]]:
    return (
        select(EventSignupRow, EventRow, StoreRow.code, MemberRow.name)
        .join(EventRow, EventRow.id == EventSignupRow.event_id)
        .outerjoin(StoreRow, StoreRow.id == EventRow.store_id)
        .join(MemberRow, MemberRow.id == EventSignupRow.member_id)
    )


async def member_signups(ctx: Context, member_id: int) -> list[SignupView]:
    """A member's places at events that have not ended, soonest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            _signups()
            .where(
                EventSignupRow.member_id == member_id,
                EventSignupRow.status == JOINED,
                EventRow.ends_at > ctx.now(),
            )
            .order_by(EventRow.starts_at, EventSignupRow.id)
        )
        return [_signup_view(r, _view(e, code), name) for r, e, code, name in rows]


# --- staff --------------------------------------------------------------------------------


async def get_event(ctx: Context, event_id: int) -> EventView:
    async with ctx.db.read() as s:
        return await _load(s, event_id)


async def staff_events(ctx: Context, stores: list[str] | None, limit: int = 20) -> list[EventView]:
    """Events staff look after: not ended more than ``RECENT`` ago, soonest first; of the
    given stores and the events of every store (None: all events)."""
    async with ctx.db.read() as s:
        query = _with_store().where(EventRow.ends_at > ctx.now() - RECENT)
        if stores is not None:
            query = query.where(EventRow.store_id.is_(None) | StoreRow.code.in_(stores))
        rows = await s.execute(query.order_by(EventRow.starts_at, EventRow.id).limit(limit))
        return [_view(row, code) for row, code in rows]


async def event_signups(ctx: Context, event_id: int) -> list[SignupView]:
    """Who has a place at the event (cancelled sign-ups left out), in sign-up order."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            _signups()
            .where(EventSignupRow.event_id == event_id, EventSignupRow.status != CANCELLED)
            .order_by(EventSignupRow.id)
        )
        return [_signup_view(r, _view(e, code), name) for r, e, code, name in rows]


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
        event = await _load(s, row.event_id)
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
        return _signup_view(row, event, name or "")


# --- the reminder -------------------------------------------------------------------------


def reminder_moment(ctx: Context, starts_at: datetime) -> datetime:
    """The day before the event at ``event_rules.reminder_at``, shop time."""
    day = starts_at.astimezone(ctx.zone).date() - timedelta(days=1)
    return datetime.combine(day, ctx.shop.event_rules.reminder_at, tzinfo=ctx.zone).astimezone(UTC)


async def remind_events(ctx: Context) -> int:
    """Queue the day-before reminders due now (a service push, one per sign-up); returns how
    many. Due from the reminder moment until the day of the event begins (it says
    "tomorrow"); a sign-up made after that moment gets none (the member has just read the
    details)."""
    now = ctx.now()
    horizon = local_midnight(ctx, ctx.today() + timedelta(days=2))
    async with ctx.db.read() as s:
        rows = (
            await s.execute(
                _signups()
                .where(
                    EventSignupRow.status == JOINED,
                    EventRow.active.is_(True),
                    EventRow.starts_at > now,
                    EventRow.starts_at < horizon,
                    reachable(marketing=False),
                )
                .order_by(EventRow.starts_at, EventSignupRow.id)
            )
        ).all()
    planned = []
    for signup, event, code, _name in rows:
        moment = reminder_moment(ctx, event.starts_at)
        event_day = local_midnight(ctx, event.starts_at.astimezone(ctx.zone).date())
        if now < moment or now >= event_day or signup.created_at >= moment:
            continue
        params = {
            "event_id": event.id,
            "signup_id": signup.id,
            **_titles(event),
            "store": code,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
        }
        planned.append(Planned(signup.member_id, REMINDER, f"{REMINDER}:{signup.id}", params))
    return await queue(ctx, planned)


# --- figures ------------------------------------------------------------------------------


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


async def erase_member(session: Session, member_id: int, now: datetime) -> None:
    """Erasing a member (``core.people.erasure``): their places at events to come go to others."""
    places = await session.scalars(
        select(EventSignupRow)
        .join(EventRow, EventRow.id == EventSignupRow.event_id)
        .where(
            EventSignupRow.member_id == member_id,
            EventSignupRow.status == JOINED,
            EventRow.starts_at > now,
        )
    )
    for place in places:
        place.status, place.cancelled_at = CANCELLED, now
        await session.execute(
            update(EventRow.__table__)
            .where(EventRow.id == place.event_id, EventRow.joined > 0)
            .values(joined=EventRow.joined - 1)
        )
