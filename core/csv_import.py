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


class FileRefused(Exception):
    """The whole file is refused — its header, or text that is not CSV — so nothing of it is
    imported; ``errors`` say why."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors

    def report(self) -> ImportReport:
        return ImportReport(created=0, updated=0, errors=self.errors)


class Unreadable(FileRefused):
    """Not CSV text (binary data, a NUL byte, not UTF-8) from this line on."""

    def __init__(self, line: int) -> None:
        super().__init__([RowError(line, InvalidInput(field="file"))])
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


def read_header(
    records: Iterator[tuple[int, list[str]]],
    *,
    imported: Collection[str],
    required: Collection[str],
    ignored: Collection[str] = (),
) -> tuple[int, dict[str, int]]:
    """The header record's width, and imported column name → position. A misspelt column
    would silently drop its data, so unknown, repeated and missing columns refuse the whole
    file (``FileRefused``); ``ignored`` ones (what an export adds) are allowed and skipped."""
    line, header = next(records, (1, []))
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
    if errors:
        raise FileRefused(errors)
    return len(header), {name: i for i, name in enumerate(names) if name in imported}


def _without_bom(source: Iterable[str]) -> Iterator[str]:
    """Excel writes "UTF-8 CSV" with a byte-order mark that would stick to the first name."""
    lines = iter(source)
    first = next(lines, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff")
    yield from lines
