"""``memberbot demo``: a demo shop to try memberbot with."""

from __future__ import annotations

import typer

from bot.cli.running import read_settings, run
from bot.demo.loader import load_demo
from bot.i18n import gettext


def demo() -> None:
    """Load a demo shop: stores, rewards, an owner and 300 members with a year of sales."""
    settings = read_settings()
    report = run(settings, load_demo)
    locale = settings.locale
    if report.already_loaded:
        typer.echo(gettext(locale, "The demo shop is already loaded; nothing was added."))
        return
    typer.echo(
        gettext(
            locale,
            "Demo shop loaded: {members} members, {sales} sales, {coupons} coupons.",
            members=report.members,
            sales=report.sales,
            coupons=report.coupons,
        )
    )
    typer.echo(gettext(locale, 'Staff owner account: console user "owner".'))
