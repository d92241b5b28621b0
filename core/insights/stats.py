"""Shop statistics: the figures an owner looks at, for one store or all, over a period.

A period is a range of shop-local calendar days, both ends included; its boundaries are
the local midnights converted to UTC, so a sale at 23:30 in Shanghai on the last day is
inside the period although it is already the next day in UTC.

With a store given, two kinds of figures are counted differently:

- what happens *in a place* — sales, average ticket, repeat purchases, bookings and
  feedback — counts that store;
- what belongs to *a member's account* — members by tier and stage, new members, the
  active rate, points and coupons — counts the members whose home store it is.

A *purchase* is a sale not refunded in full; amounts are net of refunds (of the sales made
in the period, whenever refunded). Two rates about coming back, both counted in the store:

- repeat (repurchase) rate: of the period's buyers, the share with two purchases or more
  in it (``repeat_buyers`` / ``buyers``, "Buyers who came back");
- retention rate: of the members who bought in the previous period (as many days, just
  before this one), the share who bought again in this one (``retained`` /
  ``previous_buyers``).

Every figure comes from an aggregate query (GROUP BY), never from a loop over rows, so the
report stays quick on a large shop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    case,
    distinct,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute

from core.context import Context
from core.errors import InvalidInput
from core.insights.segments import Stage, compute_segments, happened, is_purchase, net_amount
from core.people.members import store_id
from storage.models import (
    BookingRow,
    CouponRow,
    FeedbackRow,
    LedgerRow,
    MemberRow,
    SaleRow,
    StoreRow,
)
from storage.session import Session

Every = Literal["day", "week", "month"]
EVERY: tuple[Every, ...] = ("day", "week", "month")
MAX_POINTS = 1_000  # trend buckets in one query (a CASE branch each)
_DAYS = re.compile(r"^(\d{1,4})d$")


# --- periods ------------------------------------------------------------------------------


def period_days(spec: str, today: date) -> tuple[date, date]:
    """The days a named period covers, both ends included, for the command line and chat:
    ``30d`` (the last 30 days, today included), ``week`` / ``month`` / ``year`` (so far),
    ``last-week`` / ``last-month`` / ``last-year`` (the whole previous one)."""
    spec = spec.strip().lower()
    if m := _DAYS.match(spec):
        days = int(m.group(1))
        if days < 1:
            raise InvalidInput(field="period", value=spec)
        return today - timedelta(days=days - 1), today
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    year = today.replace(month=1, day=1)
    named = {
        "today": (today, today),
        "week": (week, today),
        "month": (month, today),
        "year": (year, today),
        "last-week": (week - timedelta(days=7), week - timedelta(days=1)),
        "last-month": ((month - timedelta(days=1)).replace(day=1), month - timedelta(days=1)),
        "last-year": (year.replace(year=year.year - 1), year - timedelta(days=1)),
    }
    if spec not in named:
        raise InvalidInput(field="period", value=spec)
    return named[spec]


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def days_between(start: date, end: date) -> tuple[date, date]:
    """Days given by their dates (``--from``/``--to``): in order, at most as many as a
    named period may have, and inside years 1900–2999, so that the period before them (the
    comparison) and their midnights exist on the calendar."""
    if end < start or (end - start).days >= 10_000 or start < EARLIEST or end > LATEST:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    return start, end


def local_midnight(ctx: Context, day: date) -> datetime:
    """The UTC instant at which ``day`` begins in the shop's time zone."""
    return datetime.combine(day, time(0), tzinfo=ctx.zone).astimezone(UTC)


def _bounds(ctx: Context, start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    return local_midnight(ctx, start), local_midnight(ctx, end + timedelta(days=1))


def _within(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    bounds: tuple[datetime, datetime],
) -> ColumnElement[bool]:
    return (column >= bounds[0]) & (column < bounds[1])


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackFigures:
    category: str
    count: int
    rating_sum: int

    @property
    def average_rating(self) -> float:
        return self.rating_sum / self.count if self.count else 0.0


@dataclass(frozen=True)
class ShopStats:
    """Plain figures; rates are kept as their two counts so nothing is rounded twice."""

    store: str | None
    start: date
    end: date
    # members (now; home store)
    members: int
    members_by_tier: dict[str, int]
    members_by_stage: dict[Stage, int]
    new_members: int
    member_base: int  # members registered by the end of the period
    active_members: int  # … of whom bought in the period (in any store)
    # sales (in the store)
    sales_count: int
    gross_fen: int
    refunded_fen: int
    net_fen: int
    buyers: int
    repeat_buyers: int  # buyers with two purchases or more in the period
    # points and coupons (home store)
    points_issued: int  # earned, added by staff and given for daily check-ins
    points_redeemed: int  # spent on rewards
    points_expired: int
    points_reversed: int  # taken back by refunds and staff corrections
    coupons_issued: int
    coupons_used: int
    coupon_value_used_fen: int
    # bookings and feedback (in the store)
    bookings: int  # not cancelled
    bookings_attended: int
    no_shows: int
    bookings_cancelled: int
    feedback: tuple[FeedbackFigures, ...]
    previous_buyers: int = 0  # bought in the previous period (as many days, just before)
    retained: int = 0  # … of whom bought again in this one

    @property
    def retention_rate(self) -> float:
        return self.retained / self.previous_buyers if self.previous_buyers else 0.0

    @property
    def average_ticket_fen(self) -> int:
        """Net amount per purchase, rounded half up to the fen."""
        if not self.sales_count:
            return 0
        return (2 * self.net_fen + self.sales_count) // (2 * self.sales_count)

    @property
    def repeat_rate(self) -> float:
        return self.repeat_buyers / self.buyers if self.buyers else 0.0

    @property
    def active_rate(self) -> float:
        return self.active_members / self.member_base if self.member_base else 0.0

    @property
    def feedback_count(self) -> int:
        return sum(f.count for f in self.feedback)

    @property
    def average_rating(self) -> float:
        count = self.feedback_count
        return sum(f.rating_sum for f in self.feedback) / count if count else 0.0


async def _one(s: Session, query: Select[Any]) -> int:
    return int(await s.scalar(query) or 0)


def _per_buyer(where: ColumnElement[bool], *by: InstrumentedAttribute[Any]) -> Subquery:
    """Purchases per buyer (and per ``by``) among the sales ``where`` selects: what the
    repeat rate counts (buyers with two purchases or more)."""
    return (
        select(*by, SaleRow.member_id, func.count().label("purchases"))
        .where(where, is_purchase())
        .group_by(*by, SaleRow.member_id)
        .subquery()
    )


def _buyers_and_repeaters(per_buyer: Subquery) -> tuple[Any, Any]:
    return func.count(), func.count(case((per_buyer.c.purchases >= 2, 1)))


async def repeat_rates(ctx: Context, *, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Buyers and repeat buyers of every store that had buyers on ``start``..``end``, by
    store code: the rule of ``ShopStats.repeat_buyers``, for all stores in one query."""
    per_buyer = _per_buyer(_within(SaleRow.sold_at, _bounds(ctx, start, end)), SaleRow.store_id)
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(StoreRow.code, *_buyers_and_repeaters(per_buyer))
            .join(per_buyer, per_buyer.c.store_id == StoreRow.id)
            .group_by(StoreRow.code)
        )
        return {code: (int(buyers), int(repeaters)) for code, buyers, repeaters in rows}


async def shop_stats(ctx: Context, *, store: str | None, start: date, end: date) -> ShopStats:
    """The owner's overview for ``start``..``end`` (shop-local days, both included), of
    one store (its code) or of all stores (None). Tiers and stages are as of now."""
    period = _bounds(ctx, start, end)
    async with ctx.db.read() as s:
        sid = await store_id(s, store) if store is not None else None

        def home() -> ColumnElement[bool]:
            return true() if sid is None else MemberRow.home_store_id == sid

        def here(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
            return true() if sid is None else column == sid

        segments = [
            m for m in await compute_segments(s, ctx) if store is None or m.home_store == store
        ]
        by_tier = {t.code: 0 for t in ctx.shop.tiers.levels}
        by_stage = dict.fromkeys(Stage, 0)
        for member in segments:
            by_tier[member.tier] = by_tier.get(member.tier, 0) + 1
            by_stage[member.stage] += 1

        members = select(func.count(MemberRow.id)).where(home())
        new_members = await _one(s, members.where(_within(MemberRow.registered_at, period)))
        member_base = await _one(s, members.where(MemberRow.registered_at < period[1]))
        active_members = await _one(
            s,
            select(func.count(distinct(SaleRow.member_id)))
            .join(MemberRow, MemberRow.id == SaleRow.member_id)
            .where(_within(SaleRow.sold_at, period), is_purchase(), home()),
        )

        sold_here = _within(SaleRow.sold_at, period) & here(SaleRow.store_id) & happened()
        count, gross, refunded, net = (
            await s.execute(
                select(
                    func.count(case((is_purchase(), 1))),
                    func.coalesce(func.sum(SaleRow.amount_fen), 0),
                    func.coalesce(func.sum(SaleRow.refunded_fen), 0),
                    func.coalesce(func.sum(net_amount()), 0),
                ).where(sold_here)
            )
        ).one()
        per_buyer = _per_buyer(sold_here)
        buyers, repeat_buyers = (await s.execute(select(*_buyers_and_repeaters(per_buyer)))).one()
        length = timedelta(days=(end - start).days + 1)
        before = _bounds(ctx, start - length, start - timedelta(days=1))
        earlier = (
            select(SaleRow.member_id)
            .where(_within(SaleRow.sold_at, before), here(SaleRow.store_id), is_purchase())
            .distinct()
            .subquery()
        )
        again = select(SaleRow.member_id).where(sold_here, is_purchase())
        previous_buyers, retained = (
            await s.execute(
                select(func.count(), func.count(case((earlier.c.member_id.in_(again), 1))))
            )
        ).one()

        points = {
            kind: (int(gained or 0), int(lost or 0))
            for kind, gained, lost in await s.execute(
                select(
                    LedgerRow.kind,
                    func.sum(case((LedgerRow.points > 0, LedgerRow.points), else_=0)),
                    func.sum(case((LedgerRow.points < 0, -LedgerRow.points), else_=0)),
                )
                .join(MemberRow, MemberRow.id == LedgerRow.member_id)
                .outerjoin(SaleRow, SaleRow.id == LedgerRow.sale_id)  # an undone one's: none
                .where(_within(LedgerRow.created_at, period), home(), happened())
                .group_by(LedgerRow.kind)
            )
        }

        coupons = select(func.count(CouponRow.id)).join(
            MemberRow, MemberRow.id == CouponRow.member_id
        )
        coupons_issued = await _one(s, coupons.where(_within(CouponRow.issued_at, period), home()))
        coupons_used, value_used = (
            await s.execute(
                coupons.add_columns(func.coalesce(func.sum(CouponRow.value_fen), 0)).where(
                    _within(CouponRow.used_at, period), home()
                )
            )
        ).one()

        bookings = {
            status: int(n)
            for status, n in await s.execute(
                select(BookingRow.status, func.count(BookingRow.id))
                .where(_within(BookingRow.starts_at, period), here(BookingRow.store_id))
                .group_by(BookingRow.status)
            )
        }
        feedback = tuple(
            FeedbackFigures(category, int(n), int(total))
            for category, n, total in await s.execute(
                select(
                    FeedbackRow.category,
                    func.count(FeedbackRow.id),
                    func.coalesce(func.sum(FeedbackRow.rating), 0),
                )
                .where(_within(FeedbackRow.created_at, period), here(FeedbackRow.store_id))
                .group_by(FeedbackRow.category)
                .order_by(FeedbackRow.category)
            )
        )

    def gained(kind: str) -> int:
        return points.get(kind, (0, 0))[0]

    def lost(kind: str) -> int:
        return points.get(kind, (0, 0))[1]

    return ShopStats(
        store=store,
        start=start,
        end=end,
        members=len(segments),
        members_by_tier=by_tier,
        members_by_stage=by_stage,
        new_members=new_members,
        member_base=member_base,
        active_members=active_members,
        sales_count=int(count),
        gross_fen=int(gross),
        refunded_fen=int(refunded),
        net_fen=int(net),
        buyers=int(buyers),
        repeat_buyers=int(repeat_buyers),
        points_issued=gained("earn") + gained("adjust") + gained("checkin"),
        points_redeemed=lost("spend"),
        points_expired=lost("expire"),
        points_reversed=lost("refund") + lost("adjust"),
        coupons_issued=coupons_issued,
        coupons_used=int(coupons_used),
        coupon_value_used_fen=int(value_used),
        bookings=sum(n for status, n in bookings.items() if status != "cancelled"),
        bookings_attended=bookings.get("attended", 0),
        no_shows=bookings.get("no_show", 0),
        bookings_cancelled=bookings.get("cancelled", 0),
        feedback=feedback,
        previous_buyers=int(previous_buyers),
        retained=int(retained),
    )


# --- trend --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """One day, week or month of the trend (cut to the requested period at both ends)."""

    start: date
    end: date  # included
    sales_count: int
    net_fen: int
    new_members: int


def every_for(start: date, end: date) -> Every:
    """A trend granularity that gives a readable number of bars for the period."""
    days = (end - start).days
    if days < 31:
        return "day"
    return "week" if days <= 183 else "month"


def trend_periods(start: date, end: date, every: Every) -> list[tuple[date, date]]:
    """Calendar days, ISO weeks (Monday first) or calendar months covering ``start``..``end``;
    the first and last are cut to the range so the points add up to the whole period."""
    if every not in EVERY:
        raise InvalidInput(field="period", value=every)
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    periods = []
    day = start
    while day <= end:
        if every == "day":
            following = day + timedelta(days=1)
        elif every == "week":
            following = day + timedelta(days=7 - day.weekday())
        else:
            following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        periods.append((day, min(following - timedelta(days=1), end)))
        day = following
        if len(periods) > MAX_POINTS:
            raise InvalidInput(field="period", value=f"{start}..{end}")
    return periods


async def trend(
    ctx: Context, *, store: str | None, start: date, end: date, every: Every = "week"
) -> list[TrendPoint]:
    """Net sales, purchases and new members per day, week or month. Each row is put in its
    period by comparing it with the periods' local midnights (a CASE in SQL), so the
    grouping respects the shop's time zone on SQLite as on PostgreSQL."""
    periods = trend_periods(start, end, every)
    edges = [local_midnight(ctx, first) for first, _ in periods]
    whole = _bounds(ctx, start, end)

    def bucket(column: InstrumentedAttribute[datetime]) -> ColumnElement[int]:
        # Rows are already inside the whole period: the first edge a row is before names it.
        if len(edges) == 1:
            return literal(0)
        return case(
            *((column < edge, index - 1) for index, edge in enumerate(edges[1:], 1)),
            else_=len(edges) - 1,
        )

    async with ctx.db.read() as s:
        sid = await store_id(s, store) if store is not None else None
        sales = select(bucket(SaleRow.sold_at).label("bucket"), net_amount().label("net")).where(
            _within(SaleRow.sold_at, whole), is_purchase()
        )
        members = select(bucket(MemberRow.registered_at).label("bucket")).where(
            _within(MemberRow.registered_at, whole)
        )
        if sid is not None:
            sales = sales.where(SaleRow.store_id == sid)
            members = members.where(MemberRow.home_store_id == sid)
        sold = sales.subquery()
        joined = members.subquery()
        per_sales = {
            int(index): (int(n), int(total))
            for index, n, total in await s.execute(
                select(sold.c.bucket, func.count(), func.sum(sold.c.net)).group_by(sold.c.bucket)
            )
        }
        per_members = {
            int(index): int(n)
            for index, n in await s.execute(
                select(joined.c.bucket, func.count()).group_by(joined.c.bucket)
            )
        }
    return [
        TrendPoint(
            start=first,
            end=last,
            sales_count=per_sales.get(index, (0, 0))[0],
            net_fen=per_sales.get(index, (0, 0))[1],
            new_members=per_members.get(index, 0),
        )
        for index, (first, last) in enumerate(periods)
    ]
