"""aiosqlite connections whose statements take one round trip to SQLite's thread.

aiosqlite runs SQLite on a thread of its own, and every call is a round trip to it: a
queue put that wakes the thread, the thread taking the GIL, the result posted back to the
event loop. On a small busy machine a trip costs more than SQLite's own work for an
indexed look-up. SQLAlchemy's aiosqlite adapter makes four trips for a SELECT (make a
cursor, execute, fetch the rows, close the cursor) and three for other statements. The
cursors of ``FewTripsConnection`` do all of it in one: the statement runs, its rows are
fetched and the cursor is closed on the thread, and what was fetched is handed out from
memory. Fetching every row at once is what SQLAlchemy does anyway for a buffered result
(and a server-side "stream" over SQLite reads a local file, not a network).

The connection is otherwise aiosqlite's own (commit, rollback, close, functions), so
SQLAlchemy's dialect and its error handling stay as they are.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from threading import Thread
from typing import Any

import aiosqlite

Fetched = tuple[list[Any], Any, int, int | None]  # rows, description, rowcount, lastrowid


class FewTripsCursor:
    """The part of ``aiosqlite.Cursor`` that SQLAlchemy's adapter uses."""

    arraysize = 1

    def __init__(self, connection: FewTripsConnection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> FewTripsCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> FewTripsCursor:
        return await self._run(sqlite3.Cursor.execute, sql, parameters or ())

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> FewTripsCursor:
        return await self._run(sqlite3.Cursor.executemany, sql, parameters)

    async def _run(self, method: Callable[..., Any], *args: Any) -> FewTripsCursor:
        work = partial(_on_thread, self._connection, method, *args)
        rows, self.description, self.rowcount, self.lastrowid = await self._connection.run(work)
        self._rows = deque(rows)
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


def _on_thread(connection: FewTripsConnection, method: Callable[..., Any], *args: Any) -> Fetched:
    cursor = connection.sqlite.cursor()
    try:
        method(cursor, *args)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class FewTripsConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are ``FewTripsCursor``."""

    def cursor(self) -> FewTripsCursor:  # type: ignore[override]
        return FewTripsCursor(self)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection (to be used on the connection's thread only)."""
        return self._conn

    async def run(self, work: Callable[[], Fetched]) -> Fetched:
        """Run ``work`` on the connection's thread: one round trip."""
        return await self._execute(work)  # type: ignore[no-any-return]


def connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> FewTripsConnection:
    """``aiosqlite.connect`` with ``FewTripsConnection`` (awaited by the caller), its thread
    a daemon, as SQLAlchemy makes aiosqlite's, so a forgotten connection never keeps the
    process alive. Given to SQLAlchemy's dialect as ``async_creator_fn``, it receives the
    arguments the dialect made from the URL and ``connect_args``."""
    connection = FewTripsConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    worker = connection if isinstance(connection, Thread) else connection._thread
    worker.daemon = True
    return connection
