"""Staff: the key figures of a store or of the shop, as text and as a sales chart.

``/stats [store] [period]`` answers at once: the store is a code or name (or ``all``), the
period one of ``core.insights.stats.period_days`` (``30d``, ``week``, ``month``, ``year``,
``last-month``, …; default the last 30 days). Bare ``/stats`` asks for the store (an owner
of several stores) and then the period, with buttons.

Managers and up. A manager sees only their own store: naming another store, or all of
them, is refused and audited. The figures are the command line's (``bot.reports``) over
``core.insights.stats.shop_stats``; the chart is ``bot.charts.render_trend_png`` over
``core.insights.stats.trend``, drawn in a worker thread so the event loop keeps serving others.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.staff.bookings import (
    ALL,
    ALL_WORDS,
    arguments,
    choose_again,
    is_store_word,
    own_stores,
    store_choice,
    store_name,
    stores_in_reach,
)
from bot.dialogs.staff.campaign import campaign_lines
from bot.i18n import N_, format_day
from bot.reports import checkin_rows, event_rows, stats_rows, text_table, winback_rows
from core.engagement import checkins, event_organising
from core.errors import InvalidInput
from core.insights import stats
from core.insights.campaign_results import campaign_results
from core.people.staff import Role
from core.pushes import winback

NAME = "desk_stats"
STORE, PERIOD = "store", "period"
DEFAULT_PERIOD = "30d"
PERIODS = {
    "30d": N_("Last 30 days"),
    "week": N_("This week"),
    "month": N_("This month"),
    "year": N_("This year"),
    "last-month": N_("Last month"),
}
PER_ROW = 3


def _days(turn: Turn, spec: str) -> tuple[date, date] | None:
    """The period typed by code (``month``) or by its name in the reader's language (本月)."""
    named = {turn._(label).casefold(): code for code, label in PERIODS.items()}
    try:
        return stats.period_days(named.get(spec.casefold(), spec), turn.ctx.today())
    except InvalidInput:
        return None


def _bad_period(turn: Turn, spec: str) -> str:
    return turn._(
        "“{value}” is not a period I know: use e.g. 30d, week, month, year or last-month.",
        value=spec[:40],
    )


def _usage(turn: Turn) -> Step:
    example = turn.ctx.shop.stores[0].code
    text = turn._("Usage: /stats [store] [period], e.g. /stats {store} month", store=example)
    return Step([Reply(text)])


def _period_choice(turn: Turn, note: str = "") -> Step:
    items = [Payload(NAME, PERIOD, spec).button(turn._(label)) for spec, label in PERIODS.items()]
    rows = [items[i : i + PER_ROW] for i in range(0, len(items), PER_ROW)]
    text = "\n".join(filter(None, (note, turn._("For which period?"))))
    return Step([Reply(text, buttons(*rows))], next=PERIOD)


async def _scope(turn: Turn, word: str) -> str | Step | None:
    """The store code ``word`` asks for, None for all stores, or the refusal."""
    codes = await stores_in_reach(turn, NAME, word)
    if isinstance(codes, Step):
        return codes
    return None if word.casefold() in ALL_WORDS else codes[0]


async def _report(turn: Turn, store: str | None, start: date, end: date) -> Step:
    """The figures as aligned text rows, and the sales trend as a PNG."""
    ctx = turn.ctx
    report = await stats.shop_stats(ctx, store=store, start=start, end=end)
    every = stats.every_for(start, end)
    points = await stats.trend(ctx, store=store, start=start, end=end, every=every)
    where = turn._("all stores") if store is None else store_name(turn, store)
    lines = [
        turn._(
            "{where}, {start} – {end}",
            where=where,
            start=format_day(start, turn.locale),
            end=format_day(end, turn.locale),
        ),
        *text_table(
            stats_rows(report, ctx.shop, turn.locale)
            + winback_rows(
                await winback.winback_results(ctx, start, end, store=store), ctx.shop, turn.locale
            )
            + event_rows(
                await event_organising.event_stats(ctx, store=store, start=start, end=end),
                turn.locale,
            )
            + checkin_rows(
                await checkins.checkin_stats(ctx, store=store, start=start, end=end), turn.locale
            )
        ),
    ]
    results = await campaign_results(ctx, store=store, start=start, end=end)
    lines += campaign_lines(turn, results)
    from bot.charts import render_trend_png  # matplotlib loads only when a chart is asked

    png = await asyncio.to_thread(
        render_trend_png, points, turn.locale, currency=ctx.shop.shop.currency
    )
    return Step([Reply("\n".join(lines), image=png, image_name="stats.png")])


def _store_then_period(turn: Turn, store: str | None) -> Step:
    """Store settled (None: all stores): ask for the period."""
    turn.data["store"] = store
    return _period_choice(turn)


async def start(turn: Turn) -> Step:
    assert turn.staff is not None
    args = arguments(turn)
    if len(args) > 2:
        return _usage(turn)
    store_word, spec = None, None
    if len(args) == 2:
        store_word, spec = args
    elif args:
        if _days(turn, args[0]) is not None and not is_store_word(turn, args[0]):
            spec = args[0]
        else:
            store_word = args[0]
    days = _days(turn, spec or DEFAULT_PERIOD)
    if days is None:
        return Step([Reply(_bad_period(turn, str(spec)))])
    if store_word is not None:
        store = await _scope(turn, store_word)
        if isinstance(store, Step):
            return store
        return await _report(turn, store, *days)
    if args:  # only a period: the staff member's own store, or the whole shop for an owner
        return await _report(turn, turn.staff.store, *days)
    own_list = own_stores(turn)
    if own_list is None:
        return store_choice(turn, NAME, STORE)
    return _store_then_period(turn, own_list[0])


async def choose_store(turn: Turn) -> Step:
    word = turn.payload.value if turn.payload else turn.text
    if not word or not (word == ALL or is_store_word(turn, word)):
        return store_choice(turn, NAME, STORE, choose_again(turn))
    store = await _scope(turn, "all" if word == ALL else word)
    if isinstance(store, Step):
        return store
    return _store_then_period(turn, store)


async def choose_period(turn: Turn) -> Step:
    spec = turn.payload.value if turn.payload else turn.text
    days = _days(turn, spec) if spec else None
    if days is None:
        return _period_choice(turn, _bad_period(turn, spec) if spec else choose_again(turn))
    store = turn.data.get("store")
    return await _report(turn, str(store) if store else None, *days)


flow = Flow(
    name=NAME,
    start=start,
    steps={STORE: choose_store, PERIOD: choose_period},
    commands=("/stats",),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("figures and chart"), order=90),
)
FLOWS = (flow,)
