"""What every CSV import shares (members, products, balances): reading the records with the
line each starts on, the header rule, and the report of what was written and what refused."""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from core.errors import DomainError, InvalidInput, MissingColumn, UnknownColumn

Progress = Callable[[int], None]
"""Told how many more rows of the file are done: a terminal draws a bar with it."""


@dataclass(frozen=True)
class RowError:
    """Why one line of the file was refused (line 1, the header, for the whole file)."""

    line: int
    error: DomainError


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    errors: list[RowError]
    unchanged: int = 0  # rows already on file whose data the file did not change


class Unreadable(Exception):
    """Not CSV text (binary data, a NUL byte, not UTF-8) from this line on."""

    def __init__(self, line: int) -> None:
        super().__init__(f"unreadable from line {line}")
        self.line = line


def records(
    source: Iterable[str], progress: Progress | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on, counted as the CSV reader counts;
    ``progress`` is told of each record read (the header too)."""
    reader = csv.reader(_without_bom(source))
    last = 0
    try:
        for cells in reader:
            if progress is not None:
                progress(1)
            yield last + 1, cells
            last = reader.line_num
    except csv.Error as exc:
        raise Unreadable(max(reader.line_num, 1)) from exc
    except UnicodeDecodeError as exc:
        # Decoding runs ahead of the reader, so the bad bytes are on this line or later.
        raise Unreadable(reader.line_num + 1) from exc


def header_columns(
    line: int,
    header: list[str],
    *,
    imported: Collection[str],
    required: Collection[str],
    ignored: Collection[str] = (),
) -> tuple[dict[str, int], list[RowError]]:
    """Imported column name → position. A misspelt column would silently drop its data, so
    unknown, repeated and missing columns refuse the whole file; ``ignored`` ones (what an
    export adds) are allowed and skipped."""
    names = [name.strip().lower() for name in header]
    errors: list[RowError] = []
    unknown = [name for name in names if name and name not in imported and name not in ignored]
    if unknown:
        errors.append(RowError(line, UnknownColumn(column=", ".join(unknown))))
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        # Which of the two cells would count is unclear. (No message of its own yet.)
        errors.append(RowError(line, InvalidInput(field="columns", column=", ".join(repeated))))
    missing = [name for name in required if name not in names]
    if missing:
        errors.append(RowError(line, MissingColumn(column=", ".join(missing))))
    return {name: i for i, name in enumerate(names) if name in imported}, errors


def _without_bom(source: Iterable[str]) -> Iterator[str]:
    """Excel writes "UTF-8 CSV" with a byte-order mark that would stick to the first name."""
    lines = iter(source)
    first = next(lines, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff")
    yield from lines
