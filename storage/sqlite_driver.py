"""aiosqlite connections whose statements take one round trip to SQLite's thread.

aiosqlite runs SQLite on a thread of its own, and every call is a round trip to it: a
queue put that wakes the thread, the thread taking the GIL, the result posted back to the
event loop. On a small busy machine a trip costs more than SQLite's own work for an
indexed look-up. SQLAlchemy's aiosqlite adapter makes four trips for a SELECT (make a
cursor, execute, fetch the rows, close the cursor) and three for other statements. The
cursors of ``FewTripsConnection`` do all of it in one: the statement runs, its rows are
fetched and the cursor is closed on the thread, and what was fetched is handed out from
memory. Fetching every row at once is what SQLAlchemy does anyway for a buffered result
(and a server-side "stream" over SQLite reads a local file, not a network). A BEGIN
(``begin_on_next``) travels with the transaction's first statement.

The connection is otherwise aiosqlite's own (commit, rollback, close, functions), so
SQLAlchemy's dialect and its error handling stay as they are.
"""

from __future__ import annotations

import asyncio
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
        fetched = await self._connection.run(method, *args)
        rows, self.description, self.rowcount, self.lastrowid = fetched
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


class FewTripsConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are ``FewTripsCursor``."""

    _begin: str | None = None  # to run just before the next statement

    def cursor(self) -> FewTripsCursor:  # type: ignore[override]
        return FewTripsCursor(self)

    async def _connect(self) -> FewTripsConnection:
        """aiosqlite's, waiting for its thread to end when the file cannot be opened: it
        stops the thread without waiting, and the thread's last answer then reached an
        event loop that had closed meanwhile ("Event loop is closed" on standard error,
        after the one line that says what is wrong with the database)."""
        try:
            await super()._connect()
        except BaseException:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 5)
            raise
        return self

    def begin_on_next(self, sql: str) -> None:
        """Run ``sql`` (a BEGIN) on the thread just before the next statement, in its trip.
        Nothing else happens on this connection in between, so it is the same transaction."""
        self._begin = sql

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None or super().in_transaction

    async def commit(self) -> None:
        if self._begin is not None:  # no statement ran, so no transaction began
            self._begin = None
            return
        await super().commit()

    async def rollback(self) -> None:
        if self._begin is not None:
            self._begin = None
            return
        await super().rollback()

    async def run(self, method: Callable[..., Any], *args: Any) -> Fetched:
        """``method`` of a fresh cursor with ``args`` on the connection's thread, the rows
        fetched and the cursor closed there: one round trip."""
        begin, self._begin = self._begin, None
        # aiosqlite leaves its _execute untyped.
        fetched: Fetched = await self._execute(  # type: ignore[no-untyped-call]
            self._on_thread, begin, method, *args
        )
        return fetched

    def _on_thread(self, begin: str | None, method: Callable[..., Any], *args: Any) -> Fetched:
        if begin is not None:
            self._conn.execute(begin)
        cursor = self._conn.cursor()
        try:
            method(cursor, *args)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.description, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()


def connect(database: str, *, iter_chunk_size: int = 64, **kwargs: Any) -> FewTripsConnection:
    """``aiosqlite.connect`` with ``FewTripsConnection`` (awaited by the caller), its thread
    a daemon, as SQLAlchemy makes aiosqlite's, so a forgotten connection never keeps the
    process alive. Given to SQLAlchemy's dialect as ``async_creator_fn``, it receives the
    arguments the dialect made from the URL and ``connect_args``."""
    connection = FewTripsConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size)
    worker = connection if isinstance(connection, Thread) else connection._thread
    worker.daemon = True
    return connection
