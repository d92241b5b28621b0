"""``memberbot db``: the database schema."""

from __future__ import annotations

import typer

from bot.cli.running import read_settings, run
from bot.i18n import gettext
from core.context import Context

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (safe to run again)."""
    settings = read_settings()
    run(settings, _noop, upgrade=True)
    typer.echo(gettext(settings.locale, "The database schema is up to date."))


async def _noop(_ctx: Context) -> None:
    return None
