"""The statements every message runs, executed on SQLite straight through ``sqlite3``.

SQLAlchemy compiles a statement once and caches it, but every execution still builds an
execution context, a result and its metadata: ~30 µs of Python per statement, more than
SQLite takes for an indexed look-up, eight times per "积分" message. ``Prepared`` keeps
what SQLAlchemy compiled — the SQL, the order of its parameters, the type processors of
its parameters and of its columns — and runs it on the DB-API connection, the rows made
by the same processors SQLAlchemy would apply. The statement is still written once, in
SQLAlchemy; only what ``Prepared`` cannot reproduce goes the usual way (``prepared``
returns None): expanding ``IN`` lists, ``executemany``, defaults computed in Python (a
constant one is sent, as SQLAlchemy sends it), columns whose names are not identifiers.
Errors come out as SQLAlchemy's, so callers catch the same exceptions.

This reads three attributes SQLAlchemy keeps internal (``_bind_processors``,
``_result_columns``, ``_cached_result_processor``); ``tests/storage/test_prepared.py``
checks the rows against SQLAlchemy's own for the statements that use it.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import Row, exc
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class Rows(Generic[*_Ts]):
    """The part of SQLAlchemy's ``Result`` that memberbot's statements use, typed as
    ``Result`` types it. The rows are named tuples standing in for ``Row``: the same
    positions and attribute names (``tests/storage/test_prepared.py``)."""

    def __init__(self, rows: list[Row[*_Ts]], rowcount: int) -> None:
        self._rows, self.rowcount = rows, rowcount

    def __iter__(self) -> Iterator[Row[*_Ts]]:
        return iter(self._rows)

    def all(self) -> list[Row[*_Ts]]:
        return self._rows

    def first(self) -> Row[*_Ts] | None:
        return self._rows[0] if self._rows else None

    def scalar(self: Rows[_T, *tuple[Any, ...]]) -> _T | None:
        return self._rows[0][0] if self._rows else None

    def scalars(self: Rows[_T, *tuple[Any, ...]]) -> Iterator[_T]:
        return (row[0] for row in self._rows)


class Prepared:
    """One compiled statement, ready to run on a ``sqlite3`` connection."""

    def __init__(self, compiled: Any, dialect: Dialect) -> None:
        self.sql: str = compiled.string
        # Values of the statement's own (``remaining > 0``); a required one has none.
        self._defaults: dict[str, Any] = {
            name: value
            for name, value in compiled.params.items()
            if not compiled.binds[name].required
        }
        # An INSERT's columns left to a constant default (``default=0``): SQLAlchemy sends
        # the constant, so does this.
        self._defaults.update((c.key, c.default.arg) for c in compiled.insert_prefetch)
        processors = compiled._bind_processors
        self._binds: list[tuple[str, Processor]] = [
            (name, processors.get(name)) for name in compiled.positiontup
        ]
        columns = compiled._result_columns
        self._row = namedtuple("Row", [c.keyname for c in columns]) if columns else None
        self._results: list[Processor] = [
            c.type._cached_result_processor(dialect, None) for c in columns
        ]
        self._converts = any(self._results)  # else the rows are taken as sqlite3 gives them

    def run(
        self, connection: sqlite3.Connection, params: dict[str, Any] | None
    ) -> Rows[*tuple[Any, ...]]:
        given = params or {}
        values = []
        for name, process in self._binds:
            if name in given:
                value = given[name]
            elif name in self._defaults:
                value = self._defaults[name]
            else:  # what SQLAlchemy says of it too
                raise exc.InvalidRequestError(f"A value is required for bind parameter {name!r}")
            values.append(value if process is None else process(value))
        try:
            cursor = connection.execute(self.sql, values)
            fetched = cursor.fetchall() if self._row is not None else []
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(self.sql, values, error, sqlite3.Error) from error
        if not fetched:
            return Rows([], cursor.rowcount)
        make, results = self._row._make, self._results  # type: ignore[union-attr]
        if self._converts:
            rows = [
                make([v if p is None else p(v) for p, v in zip(results, r, strict=True)])
                for r in fetched
            ]
        else:
            rows = [make(r) for r in fetched]
        return Rows(rows, cursor.rowcount)


_KEPT = 256  # more than memberbot's statements built once; a statement built per call
_cache: dict[tuple[Any, tuple[str, ...]], Prepared | None] = {}  # the statement stays alive


def prepared(statement: Any, dialect: Dialect, params: dict[str, Any] | None) -> Prepared | None:
    """The statement prepared for SQLite and these parameters' names (on first use), or
    None when it must run through SQLAlchemy. Compiled as SQLAlchemy compiles it for an
    execution: an INSERT or UPDATE sets the columns given. One that leaves a column to a
    default computed in Python goes through SQLAlchemy, which computes it.

    Meant for statements built once (``storage.db.run``'s); one built anew for every call
    is compiled every time, and the cache is emptied once it holds ``_KEPT``."""
    key = (statement, tuple(sorted(params or ())))
    if key in _cache:
        return _cache[key]
    if len(_cache) >= _KEPT:
        _cache.clear()
    compiled = statement.compile(dialect=dialect, column_keys=list(key[1]))
    columns = [c.keyname for c in compiled._result_columns]
    simple = (
        "POSTCOMPILE" not in compiled.string
        and all(_constant(c, compiled) for c in compiled.insert_prefetch)
        and not compiled.update_prefetch
        and all(name.isidentifier() and not name.startswith("_") for name in columns)
        and len(set(columns)) == len(columns)
    )
    made = Prepared(compiled, dialect) if simple else None
    _cache[key] = made
    return made


def _constant(column: Any, compiled: Any) -> bool:
    """Whether an INSERT's column left to its default gets a constant, bound by its key."""
    return bool(column.default.is_scalar) and column.key in compiled.binds
