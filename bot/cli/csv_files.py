"""``memberbot members`` and ``memberbot products``: members and products in bulk, as CSV
files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.imports import import_file
from bot.cli.running import CannotWrite, read_settings, run
from bot.i18n import gettext
from core.context import Context
from core.engagement import product_csv
from core.people import member_csv

members_app = typer.Typer(help="Members in bulk.", no_args_is_help=True)
products_app = typer.Typer(help="The product catalogue.", no_args_is_help=True)


@members_app.command("import")
def members_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import members from CSV (phone is the key: a re-import updates, never duplicates).
    Bad rows are reported with their line number; good rows are kept."""
    import_file(file, member_csv.import_members)


@products_app.command("import")
def products_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import products from CSV (code, name, name_en, category, price_yuan, active; the code
    is the key: a re-import updates). Bad rows are reported with their line number; good
    rows are kept."""
    import_file(file, product_csv.import_products)


@members_app.command("export")
def members_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Export all members as CSV, in the format `members import` reads."""
    settings = read_settings()

    async def work(ctx: Context) -> member_csv.ExportReport:
        if output is None:
            return await member_csv.export_members(ctx, sys.stdout)
        try:
            out = output.open("w", encoding="utf-8", newline="")
        except OSError as exc:  # not the database's fault: say which file
            raise CannotWrite(output, exc) from None
        with out:
            return await member_csv.export_members(ctx, out)

    report = run(settings, work)
    locale = settings.locale
    typer.echo(gettext(locale, "{count} members exported.", count=report.written), err=True)
    if report.without_phone:
        left_out = gettext(
            locale,
            "{count} members without a mobile number were left out: the import needs one.",
            count=report.without_phone,
        )
        typer.echo(left_out, err=True)
