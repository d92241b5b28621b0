"""Shop statistics: known figures on a small shop (with shop-time day boundaries), and the
demo shop's figures against sums worked out here from the raw rows."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.demo.loader import load_demo
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import InvalidInput, UnknownStore
from core.insights import stats
from core.insights.segments import Stage, member_segments
from core.insights.stats import period_days, shop_stats, trend, trend_periods
from core.ledger import adjustments, refunds
from core.ledger.coupons import redeem_reward, use_coupon
from core.ledger.points import expire_points
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import (
    BookingRow,
    CouponRow,
    FeedbackRow,
    LedgerRow,
    MemberRow,
    SaleRow,
    StoreRow,
)
from tests.factories import shop_time

TODAY = date(2026, 1, 5)  # a Monday; the test clock's day
JAN = (date(2026, 1, 1), date(2026, 1, 5))
DEC = (date(2025, 12, 1), date(2025, 12, 31))


# --- periods ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [
        ("30d", date(2025, 12, 7), TODAY),
        ("1d", TODAY, TODAY),
        ("today", TODAY, TODAY),
        ("week", TODAY, TODAY),
        ("month", date(2026, 1, 1), TODAY),
        ("year", date(2026, 1, 1), TODAY),
        ("last-week", date(2025, 12, 29), date(2026, 1, 4)),
        ("last-month", date(2025, 12, 1), date(2025, 12, 31)),
        (" Last-Year ", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_named_periods(spec: str, first: date, last: date) -> None:
    assert period_days(spec, TODAY) == (first, last)


@pytest.mark.parametrize("spec", ["0d", "fortnight", "", "30"])
def test_unknown_period_names_the_field(spec: str) -> None:
    with pytest.raises(InvalidInput) as error:
        period_days(spec, TODAY)
    assert error.value.params["field"] == "period"


def test_trend_periods_are_calendar_weeks_and_months_cut_to_the_range() -> None:
    assert trend_periods(date(2025, 11, 15), TODAY, "month") == [
        (date(2025, 11, 15), date(2025, 11, 30)),
        (date(2025, 12, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), TODAY),
    ]
    assert trend_periods(date(2025, 12, 24), TODAY, "week") == [
        (date(2025, 12, 24), date(2025, 12, 28)),  # Wednesday to Sunday
        (date(2025, 12, 29), date(2026, 1, 4)),
        (TODAY, TODAY),
    ]
    assert len(trend_periods(date(2024, 1, 1), date(2024, 12, 31), "day")) == 366
    with pytest.raises(InvalidInput):
        trend_periods(TODAY, TODAY - timedelta(days=1), "day")
    with pytest.raises(InvalidInput):
        trend_periods(TODAY, TODAY, "year")  # type: ignore[arg-type]


# --- a small shop with known answers ------------------------------------------------------


async def at(clock: FixedClock, moment: datetime, work: Any) -> Any:
    """Run ``work()`` with the clock at ``moment``, then put the clock back."""
    now = clock.now()
    clock.set(moment)
    try:
        return await work()
    finally:
        clock.set(now)


async def small_shop(ctx: Context, clock: FixedClock) -> dict[str, int]:
    async def register(name: str, phone: str, store: str) -> int:
        member = await register_member(ctx, name=name, phone=phone, home_store=store)
        return member.id

    m1 = await at(
        clock, shop_time(1, 12, month=11, year=2024), lambda: register("甲", "13800000001", "main")
    )
    m2 = await at(
        clock,
        shop_time(31, 23, 30, month=12, year=2025),
        lambda: register("乙", "13800000002", "riverside"),
    )
    # 00:10 on 1 January in Shanghai is still 31 December in UTC.
    m3 = await at(clock, shop_time(1, 0, 10), lambda: register("丙", "13800000003", "main"))

    def sale(store: str, receipt: str, member: int, yuan: int) -> Any:
        return lambda: loyalty.record_sale(
            ctx, store=store, receipt_no=receipt, member_id=member, amount_fen=yuan * 100
        )

    def refund(store: str, receipt: str, yuan: int | None) -> Any:
        return lambda: refunds.refund_sale(
            ctx, store=store, receipt_no=receipt, amount_fen=yuan and yuan * 100
        )

    await at(
        clock,
        shop_time(20, 12, month=12, year=2024),
        lambda: adjustments.adjust_points(ctx, m1, 50, "welcome", actor="staff:1"),
    )  # expires 2025-12-20, written off by the job on 2 January
    await at(clock, shop_time(31, 23, 30, month=12, year=2025), sale("main", "A1", m1, 100))
    await at(clock, shop_time(1, 0, 10), sale("main", "A2", m1, 200))
    await at(clock, shop_time(2, 12), sale("riverside", "B1", m1, 50))
    await at(clock, shop_time(2, 13), lambda: expire_points(ctx))
    await at(clock, shop_time(3, 12), sale("riverside", "B2", m2, 300))
    await at(clock, shop_time(3, 13), refund("riverside", "B2", 100))
    await at(clock, shop_time(4, 12), sale("main", "A3", m3, 150))
    await at(clock, shop_time(4, 13), refund("main", "A3", None))
    await at(
        clock,
        shop_time(4, 14),
        lambda: adjustments.adjust_points(ctx, m1, 100, "goodwill", actor="staff:1"),
    )
    coupon = await at(clock, shop_time(4, 15), lambda: redeem_reward(ctx, m1, "coupon10"))
    await at(clock, shop_time(5, 9), lambda: use_coupon(ctx, coupon.code, store="main"))

    async with ctx.db.transaction() as s:
        stores = dict((await s.execute(select(StoreRow.code, StoreRow.id))).all())
        created = shop_time(20, 12, month=12, year=2025)
        for store, starts_at, status in (
            ("main", shop_time(3, 10), "attended"),
            ("main", shop_time(4, 10), "no_show"),
            ("riverside", shop_time(4, 11), "cancelled"),
            ("main", shop_time(6, 10), "booked"),  # after the period
        ):
            s.add(
                BookingRow(
                    store_id=stores[store],
                    member_id=m1,
                    starts_at=starts_at,
                    status=status,
                    created_at=created,
                )
            )
        for store, created_at, rating, category in (
            ("main", shop_time(2, 15), 5, "service"),
            ("main", shop_time(3, 15), 2, "waiting"),
            ("riverside", shop_time(4, 15), 4, "service"),
            ("main", shop_time(20, 15, month=12, year=2025), 1, "price"),  # before the period
        ):
            s.add(
                FeedbackRow(
                    member_id=m2,
                    store_id=stores[store],
                    rating=rating,
                    text="…",
                    category=category,
                    created_at=created_at,
                )
            )
    return {"m1": m1, "m2": m2, "m3": m3}


async def test_figures_of_a_small_shop(ctx: Context, clock: FixedClock) -> None:
    await small_shop(ctx, clock)

    jan = await shop_stats(ctx, store=None, start=JAN[0], end=JAN[1])

    # Sales on local days: the 23:30 sale on 31 December is not January's, the 00:10 sale
    # on 1 January is. B2 is net of its partial refund; A3 was refunded in full, so it is
    # no purchase, but its amount shows as sold and refunded.
    assert (jan.sales_count, jan.gross_fen, jan.refunded_fen, jan.net_fen) == (
        3,
        70_000,
        25_000,
        45_000,
    )
    assert jan.average_ticket_fen == 15_000
    assert (jan.buyers, jan.repeat_buyers, jan.repeat_rate) == (2, 1, 0.5)
    assert (jan.new_members, jan.member_base, jan.active_members) == (1, 3, 2)
    assert jan.active_rate == pytest.approx(2 / 3)
    # Points: earned 20 (A2) + 30 (B2) + 10 (A3) + 100 added; 100 spent on the coupon;
    # 50 expired; 10 + 10 taken back by the two refunds.
    assert (
        jan.points_issued,
        jan.points_redeemed,
        jan.points_expired,
        jan.points_reversed,
    ) == (160, 100, 50, 20)
    assert (jan.coupons_issued, jan.coupons_used, jan.coupon_value_used_fen) == (1, 1, 1_000)
    assert (jan.bookings, jan.bookings_attended, jan.no_shows, jan.bookings_cancelled) == (
        2,
        1,
        1,
        1,
    )
    assert [(f.category, f.count, f.average_rating) for f in jan.feedback] == [
        ("service", 2, 4.5),
        ("waiting", 1, 2.0),
    ]
    assert (jan.feedback_count, jan.average_rating) == (3, pytest.approx(11 / 3))
    assert jan.members == 3
    assert jan.members_by_tier == {"member": 3, "silver": 0, "gold": 0, "diamond": 0}
    assert list(jan.members_by_stage) == list(Stage)
    assert jan.members_by_stage[Stage.NEW] == 2  # m1 and m2; m3's only sale was refunded
    assert jan.members_by_stage[Stage.POTENTIAL] == 1

    dec = await shop_stats(ctx, store=None, start=DEC[0], end=DEC[1])
    assert (dec.sales_count, dec.net_fen, dec.new_members, dec.member_base) == (1, 10_000, 1, 2)
    assert (dec.points_issued, dec.points_expired, dec.feedback_count) == (10, 0, 1)

    # One store: sales, bookings and feedback in it; members, points and coupons of the
    # members whose home store it is (m1 and m3).
    main = await shop_stats(ctx, store="main", start=JAN[0], end=JAN[1])
    assert (main.sales_count, main.gross_fen, main.refunded_fen, main.net_fen) == (
        1,
        35_000,
        15_000,
        20_000,
    )
    assert (main.buyers, main.repeat_buyers) == (1, 0)
    assert (main.members, main.new_members, main.member_base, main.active_members) == (
        2,
        1,
        2,
        1,
    )
    assert (main.points_issued, main.points_redeemed, main.points_reversed) == (130, 100, 10)
    assert (main.bookings, main.no_shows, main.bookings_cancelled) == (2, 1, 0)
    assert [(f.category, f.count) for f in main.feedback] == [("service", 1), ("waiting", 1)]
    riverside = await shop_stats(ctx, store="riverside", start=JAN[0], end=JAN[1])
    assert (riverside.sales_count, riverside.net_fen, riverside.repeat_buyers) == (2, 25_000, 0)
    assert (riverside.members, riverside.coupons_issued, riverside.bookings_cancelled) == (1, 0, 1)

    empty = await shop_stats(ctx, store=None, start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert (empty.sales_count, empty.average_ticket_fen, empty.repeat_rate) == (0, 0, 0.0)
    assert (empty.active_rate, empty.average_rating, empty.feedback) == (0.0, 0.0, ())

    with pytest.raises(UnknownStore):
        await shop_stats(ctx, store="nowhere", start=JAN[0], end=JAN[1])
    with pytest.raises(InvalidInput):
        await shop_stats(ctx, store=None, start=JAN[1], end=JAN[0])


async def test_trend_groups_by_shop_days(ctx: Context, clock: FixedClock) -> None:
    await small_shop(ctx, clock)

    days = await trend(ctx, store=None, start=date(2025, 12, 31), end=TODAY, every="day")
    assert [(p.start, p.sales_count, p.net_fen, p.new_members) for p in days] == [
        (date(2025, 12, 31), 1, 10_000, 1),
        (date(2026, 1, 1), 1, 20_000, 1),
        (date(2026, 1, 2), 1, 5_000, 0),
        (date(2026, 1, 3), 1, 20_000, 0),
        (date(2026, 1, 4), 0, 0, 0),  # A3 was refunded in full
        (TODAY, 0, 0, 0),
    ]
    assert all(p.start == p.end for p in days)

    weeks = await trend(ctx, store="main", start=date(2025, 12, 1), end=TODAY, every="week")
    assert [(p.start, p.end, p.net_fen) for p in weeks] == [
        (date(2025, 12, 1), date(2025, 12, 7), 0),
        (date(2025, 12, 8), date(2025, 12, 14), 0),
        (date(2025, 12, 15), date(2025, 12, 21), 0),
        (date(2025, 12, 22), date(2025, 12, 28), 0),
        (date(2025, 12, 29), date(2026, 1, 4), 30_000),
        (TODAY, TODAY, 0),
    ]
    assert sum(p.new_members for p in weeks) == 1  # m3; m2's home is riverside

    single = await trend(ctx, store=None, start=JAN[0], end=JAN[1], every="month")
    assert [(p.start, p.end, p.sales_count, p.net_fen) for p in single] == [
        (JAN[0], JAN[1], 3, 45_000)
    ]


# --- the demo shop against the raw rows ---------------------------------------------------


async def rows(ctx: Context, *columns: Any) -> list[Any]:
    async with ctx.db.read() as s:
        return list((await s.execute(select(*columns))).all())


async def test_demo_shop_figures_match_the_raw_rows(ctx: Context) -> None:
    await load_demo(ctx)
    zone = ctx.zone

    def day(moment: datetime | None) -> date | None:
        return moment.astimezone(zone).date() if moment else None

    stores = dict(await rows(ctx, StoreRow.code, StoreRow.id))
    members = await rows(
        ctx, MemberRow.id, MemberRow.tier, MemberRow.home_store_id, MemberRow.registered_at
    )
    home = {member_id: store_id for member_id, _, store_id, _ in members}
    sales = await rows(
        ctx,
        SaleRow.member_id,
        SaleRow.store_id,
        SaleRow.sold_at,
        SaleRow.amount_fen,
        SaleRow.refunded_fen,
    )
    ledger = await rows(
        ctx, LedgerRow.member_id, LedgerRow.kind, LedgerRow.points, LedgerRow.created_at
    )
    coupons = await rows(
        ctx, CouponRow.member_id, CouponRow.issued_at, CouponRow.used_at, CouponRow.value_fen
    )

    def expected(store: str | None, first: date, last: date) -> dict[str, Any]:
        sid = stores[store] if store else None

        def inside(moment: datetime | None) -> bool:
            found = day(moment)
            return found is not None and first <= found <= last

        def at_home(member_id: int) -> bool:
            return sid is None or home[member_id] == sid

        sold = [s for s in sales if inside(s.sold_at) and (sid is None or s.store_id == sid)]
        bought = [s for s in sold if s.refunded_fen < s.amount_fen]
        per_buyer = Counter(s.member_id for s in bought)
        kept = [entry for entry in ledger if inside(entry.created_at) and at_home(entry.member_id)]
        used = [c for c in coupons if inside(c.used_at) and at_home(c.member_id)]
        return {
            "sales_count": len(bought),
            "gross_fen": sum(s.amount_fen for s in sold),
            "refunded_fen": sum(s.refunded_fen for s in sold),
            "net_fen": sum(s.amount_fen - s.refunded_fen for s in sold),
            "buyers": len(per_buyer),
            "repeat_buyers": sum(n >= 2 for n in per_buyer.values()),
            "new_members": sum(inside(m.registered_at) and at_home(m.id) for m in members),
            "active_members": len(
                {
                    s.member_id
                    for s in sales
                    if inside(s.sold_at) and s.refunded_fen < s.amount_fen and at_home(s.member_id)
                }
            ),
            "points_issued": sum(
                e.points for e in kept if e.kind in ("earn", "adjust") and e.points > 0
            ),
            "points_redeemed": -sum(e.points for e in kept if e.kind == "spend"),
            "points_expired": -sum(e.points for e in kept if e.kind == "expire"),
            "points_reversed": -sum(
                e.points for e in kept if e.points < 0 and e.kind in ("refund", "adjust")
            ),
            "coupons_issued": sum(inside(c.issued_at) and at_home(c.member_id) for c in coupons),
            "coupons_used": len(used),
            "coupon_value_used_fen": sum(c.value_fen for c in used),
            "members_by_tier": {
                tier.code: sum(m.tier == tier.code and at_home(m.id) for m in members)
                for tier in ctx.shop.tiers.levels
            },
        }

    def figures(report: stats.ShopStats) -> dict[str, Any]:
        return {key: getattr(report, key) for key in expected(None, TODAY, TODAY)}

    periods = [
        (None, DEC[0], DEC[1]),  # last month
        (None, date(2025, 10, 7), TODAY),  # the last 90 days
        (None, date(2024, 11, 1), TODAY),  # the whole history
        ("main", DEC[0], DEC[1]),
        ("riverside", date(2025, 7, 1), date(2025, 9, 30)),
    ]
    for store, first, last in periods:
        report = await shop_stats(ctx, store=store, start=first, end=last)
        want = expected(store, first, last)
        assert figures(report) == want, (store, first, last)
        assert want["sales_count"] > 0 and want["points_issued"] > 0, (store, first, last)

    # Over the whole history every kind of figure has something to show.
    whole = await shop_stats(ctx, store=None, start=date(2024, 11, 1), end=TODAY)
    assert whole.points_expired > 0 and whole.points_reversed > 0
    assert 0 < whole.coupons_used < whole.coupons_issued
    assert whole.refunded_fen > 0 and whole.repeat_buyers > 0
    assert sum(whole.members_by_tier.values()) == whole.members == 300

    # Stages: the same as member_segments, every stage held by someone, and "potential"
    # exactly the members without a purchase.
    segments = await member_segments(ctx)
    assert whole.members_by_stage == {stage: 0 for stage in Stage} | Counter(
        s.stage for s in segments
    )
    assert all(whole.members_by_stage[stage] > 0 for stage in Stage), whole.members_by_stage
    buyers = {s.member_id for s in sales if s.refunded_fen < s.amount_fen}
    assert whole.members_by_stage[Stage.POTENTIAL] == 300 - len(buyers)
    main_segments = [s for s in segments if s.home_store == "main"]
    main = await shop_stats(ctx, store="main", start=DEC[0], end=DEC[1])
    assert main.members == len(main_segments) == sum(main.members_by_stage.values())

    # The monthly trend adds up to the period's figures, month by month from the raw rows.
    months = await trend(ctx, store=None, start=date(2024, 11, 1), end=TODAY, every="month")
    assert len(months) == 15
    for point in months:
        want = expected(None, point.start, point.end)
        assert (point.sales_count, point.net_fen, point.new_members) == (
            want["sales_count"],
            want["net_fen"],
            want["new_members"],
        ), point
    assert sum(p.net_fen for p in months) == whole.net_fen
    assert sum(p.sales_count for p in months) == whole.sales_count
    assert sum(p.new_members for p in months) == whole.new_members == 300


async def test_an_undone_sale_counts_in_no_figure(ctx: Context) -> None:
    """A clerk typed ¥5 000 for ¥50 and undid it: the figures are those of the ¥50 sale, as
    if the slip had never been typed (it was counted as ¥5 000 sold and refunded)."""
    clerk = await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    member = await register_member(ctx, name="王芳", phone="13800138000", home_store="main")
    sale = dict(store="main", member_id=member.id, staff_id=clerk.id)
    slip = await loyalty.record_sale(ctx, **sale, receipt_no="S-1", amount_fen=500_000)
    await refunds.undo_sale(ctx, sale_id=slip.sale_id, staff_id=clerk.id)
    await loyalty.record_sale(ctx, **sale, receipt_no="S-1", amount_fen=23_800)
    await refunds.refund_sale(ctx, store="main", receipt_no="S-1", amount_fen=10_000)

    report = await shop_stats(ctx, store="main", start=TODAY, end=TODAY)
    assert (report.sales_count, report.gross_fen, report.refunded_fen, report.net_fen) == (
        1,
        23_800,
        10_000,
        13_800,
    )
    assert (report.points_issued, report.points_reversed) == (20, 10)
