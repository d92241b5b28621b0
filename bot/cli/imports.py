"""Running a CSV import from the command line, the same for members, products and balances
moved in: the file read as UTF-8 (a BOM allowed), a progress bar on a terminal, then what
was done and each refused row by its line."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, TextIO

import typer

from bot.cli.progress import import_progress
from bot.cli.running import read_settings, run
from bot.error_texts import describe
from bot.i18n import gettext
from core import csv_import
from core.context import Context
from core.shop import Shop


class Importer(Protocol):
    """A core import use case (``member_csv.import_members`` and its kin)."""

    async def __call__(
        self,
        ctx: Context,
        source: TextIO,
        *,
        actor: str,
        progress: csv_import.Progress | None,
    ) -> csv_import.ImportReport: ...


def import_file(file: Path, importer: Importer) -> None:
    """Import ``file`` by ``importer`` as the command line (audited as ``cli``) and report it;
    exit 1 if any row was refused."""
    settings = read_settings()

    async def work(ctx: Context) -> tuple[csv_import.ImportReport, Shop]:
        with (
            file.open(encoding="utf-8-sig", newline="") as source,
            import_progress(file, settings.locale) as progress,
        ):
            report = await importer(ctx, source, actor="cli", progress=progress)
        return report, ctx.shop  # the report names stores by their names in this shop

    report, shop = run(settings, work)
    _report(report, settings.locale, shop)


def _report(report: csv_import.ImportReport, locale: str, shop: Shop) -> None:
    typer.echo(
        gettext(
            locale,
            "Imported: {created} new, {updated} updated, {bad} refused.",
            created=report.created,
            updated=report.updated,
            bad=len(report.errors),
        )
    )
    if report.unchanged:
        unchanged = gettext(
            locale, "Already on file and unchanged: {count}.", count=report.unchanged
        )
        typer.echo(unchanged)
    for row in report.errors:
        line = gettext(
            locale, "line {line}: {reason}", line=row.line, reason=describe(row.error, locale, shop)
        )
        typer.echo(line, err=True)
    if report.errors:
        raise typer.Exit(1)
