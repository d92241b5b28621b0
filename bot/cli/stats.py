"""``memberbot stats``: the shop's key figures, and a chart of its sales."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.running import read_settings, run, write_file
from bot.i18n import format_day, gettext, localized
from bot.reports import (
    campaign_rows,
    checkin_rows,
    event_rows,
    stats_rows,
    text_table,
    winback_rows,
)
from core.context import Context
from core.engagement.checkins import checkin_stats
from core.engagement.event_organising import event_stats
from core.errors import InvalidInput
from core.insights import stats
from core.insights.campaign_results import campaign_results
from core.pushes.winback import WinbackResults, winback_results
from core.shop import Shop

Rows = list[tuple[str, str]]  # (label, value) rows of a report


def _days(ctx: Context, period: str, first: str | None, last: str | None) -> tuple[date, date]:
    today = ctx.today()
    if first is None and last is None:
        return stats.period_days(period, today)
    if first is None:
        raise InvalidInput(field="period", value=f"--to {last}")
    try:
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else today
    except ValueError:
        raise InvalidInput(field="period", value=f"{first}..{last or ''}") from None
    return stats.days_between(start, end)


def stats_command(
    store: Annotated[str | None, typer.Option(help="Store code (default: all stores).")] = None,
    period: Annotated[
        str,
        typer.Option(
            help="Nd (e.g. 30d: the last N days), week, month, year (so far), "
            "last-week, last-month, last-year."
        ),
    ] = "30d",
    first: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (instead of --period).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the sales trend into this PNG file.")
    ] = None,
) -> None:
    """Key figures of the shop or one store: members, sales, points, coupons, bookings."""
    settings = read_settings()
    locale = settings.locale

    async def work(
        ctx: Context,
    ) -> tuple[Shop, stats.ShopStats, WinbackResults, list[stats.TrendPoint], Rows]:
        start, end = _days(ctx, period, first, last)
        report = await stats.shop_stats(ctx, store=store, start=start, end=end)
        won_back = await winback_results(ctx, start, end, store=store)
        engagement = event_rows(await event_stats(ctx, store=store, start=start, end=end), locale)
        engagement += checkin_rows(
            await checkin_stats(ctx, store=store, start=start, end=end), locale
        )
        sent = await campaign_results(ctx, store=store, start=start, end=end)
        engagement += campaign_rows(sent, ctx.shop, locale, ctx.zone)
        points: list[stats.TrendPoint] = []
        if chart is not None:
            every = stats.every_for(start, end)
            points = await stats.trend(ctx, store=store, start=start, end=end, every=every)
        return ctx.shop, report, won_back, points, engagement

    shop, report, won_back, points, engagement = run(settings, work)
    where = gettext(locale, "all stores")
    if store is not None:
        found = shop.store(store)
        where = localized(found.name, found.name_en, locale) if found else store
    typer.echo(
        gettext(
            locale,
            "{where}, {start} – {end}",
            where=where,
            start=format_day(report.start, locale),
            end=format_day(report.end, locale),
        )
    )
    rows = stats_rows(report, shop, locale) + winback_rows(won_back, shop, locale) + engagement
    for line in text_table(rows):
        typer.echo(line)
    if chart is not None:
        from bot.charts import render_trend_png  # matplotlib loads only when a chart is asked

        write_file(chart, render_trend_png(points, locale, currency=shop.shop.currency), locale)
        typer.echo(gettext(locale, "Chart written to {path}.", path=chart))
