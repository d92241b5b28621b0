"""A progress bar for imports of thousands of rows, drawn on a terminal only: tests, pipes and
cron jobs get the report alone."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.i18n import gettext
from core import csv_import


def on_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def import_progress(file: Path, locale: str) -> Iterator[csv_import.Progress | None]:
    """A callback that advances a bar over the file's records (on stderr), or None when no
    one is watching. The records are counted first: a quick pass beside the import."""
    if not on_terminal():
        yield None
        return
    try:
        with file.open(encoding="utf-8-sig", newline="") as source:
            total = sum(1 for _record in csv_import.records(source))
    except (csv_import.Unreadable, OSError):
        total = None  # the import itself says what is wrong with the file
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        task = bar.add_task(gettext(locale, "Importing {file}", file=file.name), total=total)
        yield lambda done: bar.advance(task, done)
