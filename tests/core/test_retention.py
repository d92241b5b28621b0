"""Retention in the shop figures: of the members who bought in the previous period (as many
days, just before), the share who bought again in this one — in the store asked for; beside
the repeat rate (buyers with two purchases or more), which stays as it was."""

from __future__ import annotations

from datetime import date

from core.clock import FixedClock
from core.context import Context
from core.insights import stats
from core.ledger import refunds
from core.people.registration import register_member
from tests.factories import sale


async def test_retention_counts_last_periods_buyers_who_bought_again(
    ctx: Context, clock: FixedClock
) -> None:
    ids = [
        (await register_member(ctx, name="会员", phone=f"1380000000{i}", home_store="main")).id
        for i in range(6)
    ]
    a, b, c, d, e, f = ids
    # The period: the last 30 days (7 Dec – 5 Jan); the previous one: 7 Nov – 6 Dec.
    for member_id in (a, b, c, d):
        await sale(ctx, member_id, days_ago=40)
    await sale(ctx, a, days_ago=3)  # back in this period
    await sale(ctx, b, days_ago=10)
    await sale(ctx, b, days_ago=2)  # back, twice
    await sale(ctx, c, days_ago=5, store="riverside")  # back, but at the other store
    refunded = (await sale(ctx, d, days_ago=1)).receipt_no
    await refunds.refund_sale(ctx, store="main", receipt_no=refunded)  # not a purchase
    await sale(ctx, e, days_ago=4)  # new this period: not in the base
    await sale(ctx, f, days_ago=70)  # two periods ago: not in the base

    start, end = stats.period_days("30d", ctx.today())
    assert (start, end) == (date(2025, 12, 7), date(2026, 1, 5))
    everywhere = await stats.shop_stats(ctx, store=None, start=start, end=end)
    assert (everywhere.previous_buyers, everywhere.retained) == (4, 3)
    assert everywhere.retention_rate == 0.75
    assert (everywhere.buyers, everywhere.repeat_buyers) == (4, 1)  # a, b, c, e; b twice
    main = await stats.shop_stats(ctx, store="main", start=start, end=end)
    assert (main.previous_buyers, main.retained) == (4, 2)
    riverside = await stats.shop_stats(ctx, store="riverside", start=start, end=end)
    assert (riverside.previous_buyers, riverside.retained, riverside.retention_rate) == (0, 0, 0.0)

    # The repeat rate of every store at once, by the same rule.
    assert await stats.repeat_rates(ctx, start=start, end=end) == {
        "main": (3, 1),
        "riverside": (1, 0),
    }
