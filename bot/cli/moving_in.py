"""``memberbot import``: moving in from another system (members with their points, tier and
lifetime spend)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.imports import import_file
from core.ledger import moving_in

import_app = typer.Typer(help="Moving in from another system.", no_args_is_help=True)


@import_app.command("balances")
def balances(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Members with their points balance (lots with expiry dates), tier and lifetime spend,
    as CSV (phone, name, points, expires, tier, lifetime_spend_yuan, and any column of
    `members import`). Each member moves in once: the same file again changes nothing, other
    figures for a member already moved in are refused. Bad rows are reported with their line
    number; good rows are kept."""
    import_file(file, moving_in.import_balances)
