"""Staff's /stats in both languages: the command line's figures as text plus a PNG chart,
asked step by step or typed at once; managers keep to their own store; members and clerks
are refused, and every refusal is audited. Now is Monday 2026-01-05 10:00 in Shanghai."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.error_texts import describe
from bot.i18n import format_day
from bot.reports import stats_rows, text_table
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import NotAllowed, UnknownStore
from core.insights import stats
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import AuditRow
from tests.dialogs.conftest import hinted, press, say, t

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
FLAGSHIP = {"zh_CN": "旗舰店", "en": "Flagship store"}
STORES = {"main": FLAGSHIP, "riverside": {"zh_CN": "滨江店", "en": "Riverside store"}}
PNG = b"\x89PNG\r\n\x1a\n"


async def some_sales(ctx: Context, clock: FixedClock) -> int:
    """Two members, three sales over the last days in two stores; returns 王芳's id."""
    wang = await register_member(
        ctx,
        name="王芳",
        phone="13800138000",
        home_store="main",
        channel="console",
        external_id="wang",
    )
    bob = await register_member(
        ctx, name="Bob", phone="13900139000", home_store="riverside", locale="en"
    )
    clock.advance(timedelta(days=-3))
    await loyalty.record_sale(
        ctx, store="main", receipt_no="A1", member_id=wang.id, amount_fen=12_000
    )
    await loyalty.record_sale(
        ctx, store="riverside", receipt_no="R1", member_id=bob.id, amount_fen=50_000
    )
    clock.advance(timedelta(days=3))
    await loyalty.record_sale(
        ctx, store="main", receipt_no="A2", member_id=wang.id, amount_fen=8_800
    )
    return wang.id


async def expected_text(
    ctx: Context, locale: str, store: str | None, start: date, end: date
) -> list[str]:
    report = await stats.shop_stats(ctx, store=store, start=start, end=end)
    where = STORES[store][locale] if store else t(locale, "all stores")
    header = t(
        locale,
        "{where}, {start} – {end}",
        where=where,
        start=format_day(start, locale),
        end=format_day(end, locale),
    )
    return [header, *text_table(stats_rows(report, ctx.shop, locale))]


async def refusals(ctx: Context) -> list[tuple[str, str]]:
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(AuditRow).where(AuditRow.action == "staff.refused").order_by(AuditRow.id)
        )
        return [(row.actor, row.details["command"]) for row in rows]


@LOCALES
async def test_typed_stats_are_the_shop_figures_with_a_chart(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await some_sales(ctx, clock)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    (reply,) = await say(dialogs, "/stats main 30d", user="boss", lang=locale)
    start, end = date(2025, 12, 7), date(2026, 1, 5)
    assert reply.text.splitlines() == await expected_text(ctx, locale, "main", start, end)
    report = await stats.shop_stats(ctx, store="main", start=start, end=end)
    assert (report.sales_count, report.net_fen) == (2, 20_800)  # riverside's sale left out
    purchases = next(line for line in reply.text.splitlines() if t(locale, "Purchases") in line)
    assert purchases.endswith(" 2")
    assert reply.image is not None and reply.image.startswith(PNG)
    assert reply.image_name == "stats.png"

    (everything,) = await say(dialogs, "/stats all", user="boss", lang=locale)
    assert everything.text.splitlines() == await expected_text(ctx, locale, None, start, end)
    (period_only,) = await say(dialogs, "/stats last-month", user="boss", lang=locale)
    december = (date(2025, 12, 1), date(2025, 12, 31))
    assert period_only.text.splitlines() == await expected_text(ctx, locale, None, *december)


@LOCALES
async def test_a_manager_is_asked_the_period_for_their_own_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await some_sales(ctx, clock)
    await add_staff(ctx, channel="console", external_id="mgr", role="manager", store="main")
    (ask,) = await say(dialogs, "/stats", user="mgr", lang=locale)
    assert ask.text == hinted(locale, t(locale, "For which period?"))
    labels = ["Last 30 days", "This week", "This month", "This year", "Last month"]
    assert [b.label for b in ask.choices] == [t(locale, label) for label in labels]
    (bad,) = await say(dialogs, "forever", user="mgr", lang=locale)
    assert bad.text.splitlines()[0] == t(
        locale,
        "“{value}” is not a period I know: use e.g. 30d, week, month, year or last-month.",
        value="forever",
    )
    (reply,) = await say(
        dialogs, payload=press(bad, t(locale, "This month")), user="mgr", lang=locale
    )
    month = (date(2026, 1, 1), date(2026, 1, 5))
    assert reply.text.splitlines() == await expected_text(ctx, locale, "main", *month)
    assert reply.image is not None and reply.image.startswith(PNG)


async def test_an_owner_picks_the_store_then_the_period(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    await some_sales(ctx, clock)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    (ask,) = await say(dialogs, "/stats", user="boss", lang="en")
    assert ask.text == hinted("en", "For which store?")
    (period,) = await say(dialogs, payload=press(ask, "All stores"), user="boss", lang="en")
    assert period.text == hinted("en", "For which period?")
    (reply,) = await say(dialogs, payload=press(period, "Last 30 days"), user="boss", lang="en")
    days = (date(2025, 12, 7), date(2026, 1, 5))
    assert reply.text.splitlines() == await expected_text(ctx, "en", None, *days)


@LOCALES
async def test_a_manager_is_refused_another_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await some_sales(ctx, clock)
    manager = await add_staff(
        ctx, channel="console", external_id="mgr", role="manager", store="main"
    )
    own = t(locale, "You can only see {store}, your own store.", store=FLAGSHIP[locale])
    for typed in ("/stats riverside", "/stats all month"):
        (reply,) = await say(dialogs, typed, user="mgr", lang=locale)
        assert reply.text == own
        assert reply.image is None
    assert await refusals(ctx) == [
        (manager.actor, "desk_stats riverside"),
        (manager.actor, "desk_stats all"),
    ]
    (unknown,) = await say(dialogs, "/stats nowhere", user="mgr", lang=locale)
    assert unknown.text == describe(UnknownStore(store="nowhere"), locale, None)


async def test_an_owner_of_one_store_still_sees_every_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    await some_sales(ctx, clock)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store="main")
    days = (date(2025, 12, 7), date(2026, 1, 5))
    (river,) = await say(dialogs, "/stats riverside", user="boss", lang="en")
    assert river.text.splitlines() == await expected_text(ctx, "en", "riverside", *days)
    (everything,) = await say(dialogs, "/stats all 30d", user="boss", lang="en")
    assert everything.text.splitlines() == await expected_text(ctx, "en", None, *days)
    (own,) = await say(dialogs, "/stats 30d", user="boss", lang="en")
    assert own.text.splitlines() == await expected_text(ctx, "en", "main", *days)
    assert await refusals(ctx) == []


@LOCALES
async def test_members_and_clerks_are_refused_and_audited(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    member_id = await some_sales(ctx, clock)
    clerk = await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store="main")
    refused = describe(NotAllowed(needed="manager"), locale, None)
    (as_member,) = await say(dialogs, "/stats main 30d", user="wang", lang=locale)
    (as_clerk,) = await say(dialogs, "/stats", user="clerk", lang=locale)
    assert as_clerk.text == refused
    # 王芳 reads her own language:
    assert as_member.text == describe(NotAllowed(needed="manager"), "zh_CN", None)
    assert as_member.image is None and as_clerk.image is None
    assert await refusals(ctx) == [
        (f"member:{member_id}", "desk_stats"),
        (clerk.actor, "desk_stats"),
    ]
