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

Staff's side (making events, who has a place, who came, the figures) is
``core.engagement.event_organising``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.errors import (
    AlreadySignedUp,
    EventCancelTooLate,
    EventFull,
    EventNotOpen,
    EventStarted,
    NotEnoughPoints,
    SignupNotActive,
    UnknownEvent,
)
from core.insights.segments import Stage, member_stage
from core.insights.stats import local_midnight
from core.ledger.points import balance_in, return_points, spend_points
from core.people.members import lock_member
from core.pushes.audience import reachable
from core.pushes.scheduled import Planned, queue
from storage.models import EventRow, EventSignupRow, LedgerRow, MemberRow, StoreRow
from storage.session import Session, rowcount

SPEND_KIND, RETURN_KIND = "event", "event_return"
JOINED, CANCELLED = "joined", "cancelled"
REMINDER = "event_reminder"


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


def event_view(row: EventRow, store_code: str | None) -> EventView:
    """The event as members and staff see it."""
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


def with_store() -> Select[EventRow, str | None]:
    """Events with their store's code (None: every store)."""
    return select(EventRow, StoreRow.code).outerjoin(StoreRow, StoreRow.id == EventRow.store_id)


async def load_event(s: Session, event_id: int) -> EventView:
    """One event, inside the caller's transaction; UnknownEvent if there is none."""
    found = (await s.execute(with_store().where(EventRow.id == event_id))).first()
    if found is None:
        raise UnknownEvent(event=event_id)
    return event_view(*found)


async def get_event(ctx: Context, event_id: int) -> EventView:
    async with ctx.db.read() as s:
        return await load_event(s, event_id)


def cancel_cutoff(ctx: Context, starts_at: datetime) -> datetime:
    """The last moment a member can cancel a sign-up (and get the points back)."""
    return starts_at - timedelta(hours=ctx.shop.event_rules.cancel_cutoff_hours)


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


def _open(now: datetime) -> Select[EventRow, str | None]:
    """Events members may still join: active and not yet begun, soonest first."""
    return (
        with_store()
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
        return [MemberEvent(event_view(row, code), mine.get(row.id)) for row, code in found]


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
        return MemberEvent(event_view(row, code), signup.id if signup else None)


# --- signing up and cancelling ------------------------------------------------------------


def signup_view(row: EventSignupRow, event: EventView, name: str) -> SignupView:
    """A sign-up as the member and staff see it."""
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
            found = (await s.execute(with_store().where(EventRow.id == event_id))).first()
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
            if rowcount(taken) != 1:
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
                    {"event_id": event_id, "signup_id": signup.id, **titles(row)},
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
            event = await load_event(s, event_id)
            return signup_view(signup, event, member.name)
    except IntegrityError:
        # The partial unique index caught a second place of the same member.
        raise AlreadySignedUp(event=event_id) from None


def titles(row: EventRow) -> dict[str, str]:
    """The titles a push about the event carries, in both languages."""
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
                {"event_id": event.id, "signup_id": row.id, **titles(event)},
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
        return signup_view(row, await load_event(s, event.id), member.name)


def signups_query() -> Select[EventSignupRow, EventRow, str | None, str]:
    """Sign-ups with their event, its store's code and the member's name."""
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
            signups_query()
            .where(
                EventSignupRow.member_id == member_id,
                EventSignupRow.status == JOINED,
                EventRow.ends_at > ctx.now(),
            )
            .order_by(EventRow.starts_at, EventSignupRow.id)
        )
        return [signup_view(r, event_view(e, code), name) for r, e, code, name in rows]


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
                signups_query()
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
            **titles(event),
            "store": code,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
        }
        planned.append(Planned(signup.member_id, REMINDER, f"{REMINDER}:{signup.id}", params))
    return await queue(ctx, planned)


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
