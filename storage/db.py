"""Engine set-up and transactions, the same for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout and foreign keys on, and every write
transaction starts with ``BEGIN IMMEDIATE``: writers then queue on the busy timeout
instead of failing with "database is locked" when a read lock cannot be upgraded.
On PostgreSQL, use cases serialise per member with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver

BUSY_TIMEOUT_MS = 30_000


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # aiosqlite runs each call on its own thread; every call is a round trip between the
    # threads, which costs far more than SQLite's own work here. So the connections are
    # storage.sqlite_driver's: one trip per statement, BEGIN travelling with the first;
    # and a connection coming back to the pool is rolled back only if a transaction is
    # still open (after a commit, the pool's rollback would be one more trip).

    @event.listens_for(engine.sync_engine, "do_connect")
    def _on_do_connect(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["async_creator_fn"] = sqlite_driver.connect

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("readonly") else "IMMEDIATE"
        connection.connection.driver_connection.begin_on_next(f"BEGIN {mode}")

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        if state.terminate_only or not state.asyncio_safe:
            return
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


class Database:
    """The engine plus the two ways to use it: a write transaction or a read."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
            kwargs["pool_reset_on_return"] = None  # see _sqlite_setup
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(
            self.engine.execution_options(readonly=True), expire_on_commit=False
        )
        # SQLite has one writer at a time. Writers of this process queue here, on the event
        # loop, rather than in SQLite's busy handler, which sleeps up to 100 ms between
        # tries while the lock may long be free again; other processes still meet the
        # busy timeout.
        self._one_writer = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends, rolled back on error."""
        if self._one_writer is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._one_writer, self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work (on SQLite a deferred transaction, never blocking)."""
        async with self._reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_of(session: AsyncSession) -> Any:
    """The SQLAlchemy dialect module, for its INSERT … ON CONFLICT."""
    return _dialect(session.bind.dialect.name)


def _dialect(name: str) -> Any:
    return postgresql if name == "postgresql" else sqlite


# The statements below are built once per dialect and table (building a statement costs
# SQLAlchemy more than running it); the values go in as parameters.


@cache
def _insert_ignore(dialect: str, table: Table, conflict: tuple[str, ...]) -> Any:
    return _dialect(dialect).insert(table).on_conflict_do_nothing(index_elements=conflict)


@cache
def _upsert(dialect: str, table: Table, conflict: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    stmt = _dialect(dialect).insert(table)
    changed = {name: stmt.excluded[name] for name in columns if name not in conflict}
    return stmt.on_conflict_do_update(index_elements=conflict, set_=changed)


async def insert_ignore(
    session: AsyncSession, table: Table, values: dict[str, Any], conflict: list[str]
) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; True if inserted."""
    stmt = _insert_ignore(session.bind.dialect.name, table, tuple(conflict))
    result = await session.execute(stmt, values)
    return bool(result.rowcount)


async def insert_ignore_many(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    conflict: list[str],
    key: str,
) -> set[Any]:
    """``insert_ignore`` for many rows in one statement; the ``key`` values of those
    inserted."""
    if not rows:
        return set()
    stmt = (
        dialect_of(session)
        .insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(table.c[key])
    )
    return set((await session.execute(stmt)).scalars())


async def upsert(
    session: AsyncSession, table: Table, values: dict[str, Any], conflict: list[str]
) -> None:
    """Insert a row, or give the one with the same ``conflict`` columns the other values:
    one statement, so a concurrent delete cannot make it fail half-way."""
    stmt = _upsert(session.bind.dialect.name, table, tuple(conflict), tuple(sorted(values)))
    await session.execute(stmt, values)
