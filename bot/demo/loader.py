"""Loading the demo shop: its plan replayed through the ``core`` use cases on a clock that
walks forward, resumed where an interrupted run stopped."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, time

from sqlalchemy import ColumnElement, func, select

from bot.demo.plan import (
    ANSWER,
    ATTEND,
    BOOK,
    CANCEL,
    CLOSE_BOOKINGS,
    CLOSE_FEEDBACK,
    EXPIRE,
    FEEDBACK,
    HISTORY_MONTHS,
    JOBS,
    PHONE_BLOCK,
    REDEEM,
    REFUND,
    REGISTER,
    REVIEW,
    SALE,
    USE,
    Event,
    Person,
    plan_history,
)
from core import audit, loyalty
from core.clock import FixedClock, add_months
from core.context import Context
from core.errors import (
    CouponExpired,
    CouponUsed,
    NotEnoughPoints,
    PhoneTaken,
    RefundTooLarge,
    SlotFull,
)
from core.ledger.coupons import member_coupons, redeem_reward, use_coupon
from core.ledger.points import expire_points
from core.ledger.refunds import refund_sale
from core.ledger.tiers import review_tiers
from core.people.members import find_members, normalize_phone
from core.people.registration import register_member
from core.people.staff import Role, add_staff, list_staff
from core.service import bookings, feedback
from storage.models import (
    AuditRow,
    BookingRow,
    CouponRow,
    FeedbackRow,
    MemberRow,
    RefundRow,
    SaleRow,
    StaffRow,
)

OWNER_CHANNEL, OWNER_ID, OWNER_NAME = "console", "owner", "店长 Demo"
STARTED, LOADED = "demo.started", "demo.loaded"


@dataclass(frozen=True)
class DemoReport:
    """What the demo shop holds (demo members only), whether or not this call added it."""

    members: int
    sales: int
    refunds: int
    coupons: int
    coupons_used: int
    tiers: dict[str, int] = field(default_factory=dict)
    bookings: dict[str, int] = field(default_factory=dict)  # by status
    feedback: dict[str, int] = field(default_factory=dict)  # by status
    already_loaded: bool = False


def _demo_member() -> ColumnElement[bool]:
    return MemberRow.phone.like(f"+86{PHONE_BLOCK}%")


async def _loaded(ctx: Context) -> bool:
    async with ctx.db.read() as s:
        return await s.scalar(select(AuditRow.id).where(AuditRow.action == LOADED)) is not None


class ShopInUse(Exception):
    """The database holds a shop's own members or staff: the demo would mix into them."""


async def _end_of_history(ctx: Context) -> datetime:
    """When the first run started: a resumed run keeps that end, hence the same plan. A
    first run needs a database without members and staff (ShopInUse otherwise)."""
    async with ctx.db.transaction() as s:
        details = await s.scalar(
            select(AuditRow.details).where(AuditRow.action == STARTED).order_by(AuditRow.id)
        )
        if details:
            return datetime.fromisoformat(details["until"]).astimezone(ctx.zone)
        for table in (MemberRow, StaffRow):
            if await s.scalar(select(table.id).limit(1)) is not None:
                raise ShopInUse()
        until = ctx.now().astimezone(ctx.zone).replace(microsecond=0)
        audit.record(s, ctx.now(), audit.SYSTEM, STARTED, None, until=until.isoformat())
        return until


async def _progress(ctx: Context) -> tuple[dict[str, int], datetime | None]:
    """Demo members already on file (by phone) and the moment of their last recorded act."""
    async with ctx.db.read() as s:
        rows = await s.execute(select(MemberRow.phone, MemberRow.id).where(_demo_member()))
        members = {phone: member_id for phone, member_id in rows if phone}
        last = await s.scalar(
            select(func.max(AuditRow.at))
            .join(MemberRow, MemberRow.id == AuditRow.member_id)
            .where(_demo_member())
        )
    return members, last


async def _owner(ctx: Context) -> int:
    for staff in await list_staff(ctx):
        if (staff.channel, staff.external_id, staff.role) == (OWNER_CHANNEL, OWNER_ID, Role.OWNER):
            return staff.id
    owner = await add_staff(
        ctx,
        channel=OWNER_CHANNEL,
        external_id=OWNER_ID,
        role=Role.OWNER.value,
        store=None,
        name=OWNER_NAME,
    )
    return owner.id


async def _member_id(ctx: Context, person: Person, ids: dict[str, int], owner: int) -> int:
    phone = normalize_phone(person.phone)
    if phone in ids:
        return ids[phone]
    try:
        member = await register_member(
            ctx,
            name=person.name,
            phone=person.phone,
            birthday=person.birthday,
            gender=person.gender,
            locale=person.locale,
            home_store=person.store,
            marketing_consent=person.consent,
            tags=list(person.tags),
            actor=audit.staff_actor(owner),
        )
    except PhoneTaken:
        member = next(m for m in await find_members(ctx, person.phone) if m.phone == phone)
    ids[phone] = member.id
    return member.id


async def _booking_of(ctx: Context, member: int, booked: Event) -> int | None:
    """The booking made by a planned event (also one made before a resume), or None when it
    was not made."""
    async with ctx.db.read() as s:
        found: int | None = await s.scalar(
            select(BookingRow.id).where(
                BookingRow.member_id == member, BookingRow.created_at == booked.at
            )
        )
        return found


async def _feedback_of(ctx: Context, member: int, sent: Event) -> int | None:
    async with ctx.db.read() as s:
        found: int | None = await s.scalar(
            select(FeedbackRow.id).where(
                FeedbackRow.member_id == member, FeedbackRow.created_at == sent.at
            )
        )
        return found


async def _run(ctx: Context, event: Event, member: int, owner: int) -> None:
    """One planned event through its use case; refusals the plan could not foresee (not
    enough points after expiry, no coupon to hand in, a slot filled up) are skipped like
    at a real counter."""
    if event.kind == SALE:
        await loyalty.record_sale(
            ctx,
            store=event.store,
            receipt_no=event.receipt,
            member_id=member,
            amount_fen=event.amount_fen,
            staff_id=owner,
            notify=False,
        )
    elif event.kind == REDEEM:
        with suppress(NotEnoughPoints):
            await redeem_reward(ctx, member, event.reward)
    elif event.kind == USE:
        coupons = await member_coupons(ctx, member)
        if coupons:
            with suppress(CouponUsed, CouponExpired):
                await use_coupon(ctx, coupons[0].code, store=event.store, staff_id=owner)
    elif event.kind == REFUND:
        assert event.sale is not None
        with suppress(RefundTooLarge):
            await refund_sale(
                ctx,
                store=event.store,
                receipt_no=event.sale.receipt,
                amount_fen=event.amount_fen or None,
                staff_id=owner,
                notify=False,
            )
    elif event.kind == EXPIRE:
        await expire_points(ctx)
    elif event.kind == REVIEW:
        await review_tiers(ctx, notify=False)
    elif event.kind == CLOSE_BOOKINGS:
        await bookings.close_past_bookings(ctx)
    elif event.kind == BOOK:
        assert event.slot is not None
        # Full (other members took the places): this one gives up; what would have
        # followed (attending, cancelling) finds no booking and is skipped.
        with suppress(SlotFull):
            await bookings.book(ctx, member, event.store, event.slot, event.party, event.text)
    elif event.kind in (CANCEL, ATTEND):
        assert event.of is not None
        booking = await _booking_of(ctx, member, event.of)
        if booking is not None and event.kind == CANCEL:
            await bookings.cancel(ctx, member, booking)
        elif booking is not None:
            await bookings.mark_booking(ctx, booking, "attended", owner)
    elif event.kind == FEEDBACK:
        receipt = event.sale.receipt if event.sale else None
        await feedback.submit_feedback(
            ctx, member, event.rating, event.text, store=event.store, receipt_no=receipt
        )
    elif event.kind in (ANSWER, CLOSE_FEEDBACK):
        assert event.of is not None
        found = await _feedback_of(ctx, member, event.of)
        if found is not None and event.kind == ANSWER:
            await feedback.answer_feedback(ctx, found, event.text, staff_id=owner, notify=False)
        elif found is not None:
            await feedback.close_feedback(ctx, found, staff_id=owner)


async def _report(ctx: Context, *, already_loaded: bool) -> DemoReport:
    demo = _demo_member()
    coupons = select(func.count(CouponRow.id)).join(MemberRow, MemberRow.id == CouponRow.member_id)
    queries = {
        "members": select(func.count(MemberRow.id)).where(demo),
        "sales": select(func.count(SaleRow.id))
        .join(MemberRow, MemberRow.id == SaleRow.member_id)
        .where(demo),
        "refunds": select(func.count(RefundRow.id))
        .join(SaleRow, SaleRow.id == RefundRow.sale_id)
        .join(MemberRow, MemberRow.id == SaleRow.member_id)
        .where(demo),
        "coupons": coupons.where(demo),
        "coupons_used": coupons.where(demo, CouponRow.used_at.is_not(None)),
    }
    by_status = {
        "bookings": select(BookingRow.status, func.count())
        .join(MemberRow, MemberRow.id == BookingRow.member_id)
        .where(demo)
        .group_by(BookingRow.status),
        "feedback": select(FeedbackRow.status, func.count())
        .join(MemberRow, MemberRow.id == FeedbackRow.member_id)
        .where(demo)
        .group_by(FeedbackRow.status),
    }
    async with ctx.db.read() as s:
        counts = {name: int(await s.scalar(query) or 0) for name, query in queries.items()}
        tiers: dict[str, int] = {
            tier: int(n)
            for tier, n in await s.execute(
                select(MemberRow.tier, func.count()).where(demo).group_by(MemberRow.tier)
            )
        }
        statuses = {
            name: {status: int(n) for status, n in await s.execute(query)}
            for name, query in by_status.items()
        }
    booking_statuses = ("booked", "attended", "no_show", "cancelled")
    feedback_statuses = (feedback.OPEN, feedback.ANSWERED, feedback.CLOSED)
    return DemoReport(
        **counts,
        tiers={t.code: tiers.get(t.code, 0) for t in ctx.shop.tiers.levels},
        bookings={k: statuses["bookings"].get(k, 0) for k in booking_statuses},
        feedback={k: statuses["feedback"].get(k, 0) for k in feedback_statuses},
        already_loaded=already_loaded,
    )


async def load_demo(ctx: Context) -> DemoReport:
    """Fill the database with the demo shop (once): an owner, 300 members and their history
    up to now. A second call adds nothing and says so in ``already_loaded``."""
    if await _loaded(ctx):
        return await _report(ctx, already_loaded=True)
    until = await _end_of_history(ctx)
    people, events = plan_history(ctx.shop, until)
    ids, resume_after = await _progress(ctx)
    clock = FixedClock(until)
    at = replace(ctx, clock=clock)
    clock.set(datetime.combine(add_months(until, -HISTORY_MONTHS).date(), time(9), until.tzinfo))
    owner = await _owner(at)
    for event in events:
        if resume_after is not None and (
            event.at < resume_after or (event.at == resume_after and event.kind not in JOBS)
        ):
            continue  # done before the interruption (jobs at that moment are safe to redo)
        clock.set(event.at)
        person = people[event.person] if event.person >= 0 else None
        member = await _member_id(at, person, ids, owner) if person else 0
        if event.kind != REGISTER:
            await _run(at, event, member, owner)
    report = await _report(ctx, already_loaded=False)
    async with ctx.db.transaction() as s:
        audit.record(
            s,
            ctx.now(),
            audit.SYSTEM,
            LOADED,
            None,
            until=until.isoformat(),
            members=report.members,
            sales=report.sales,
            coupons=report.coupons,
            bookings=sum(report.bookings.values()),
            feedback=sum(report.feedback.values()),
        )
    return report
