"""Engine set-up and transactions, the same for SQLite (default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys on, its sessions on the event loop's thread
(``storage.inline``), and every write transaction starts with ``BEGIN IMMEDIATE``: a writer
waits for the lock before it reads, instead of failing with "database is locked" when a
read lock cannot be upgraded. On PostgreSQL, use cases serialise per member with
``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVarTuple, cast, overload

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    RootTransaction,
    Table,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import TypedReturnsRows

from storage import sqlite_driver
from storage.inline import InlineSession
from storage.prepared import Rows
from storage.session import Params, Session

if TYPE_CHECKING:
    from storage.workers import Lease

BUSY_TIMEOUT_MS = 30_000
_FIRST_RETRY, _LONGEST_RETRY = 0.001, 0.05  # seconds between tries of SQLite's write lock
_SPARE = 4  # idle inline connections kept, of each kind (see Database.__init__)

_Ts = TypeVarTuple("_Ts")


def _sqlite_setup(engine: Engine, *, inline: bool) -> None:
    # Inline: busy timeout 0, a write lock held by another process is waited for on the
    # loop (``Database._begin_write``), never inside SQLite, which would hold the loop.
    busy_timeout_ms = 0 if inline else BUSY_TIMEOUT_MS

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    if inline:  # BEGIN comes from ``_begin_inline``
        return

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "DEFERRED" if connection.get_execution_options().get("readonly") else "IMMEDIATE"
        # Travels with the first statement (storage.sqlite_driver).
        connection.connection.driver_connection.begin_on_next(f"BEGIN {mode}")

    # aiosqlite runs each call on its own thread; every call is a round trip between the
    # threads. So the threaded connections are storage.sqlite_driver's: one trip per
    # statement, BEGIN travelling with the first; and a connection coming back to the pool
    # is rolled back only if a transaction is still open.

    @event.listens_for(engine, "do_connect")
    def _on_do_connect(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["async_creator_fn"] = sqlite_driver.connect

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
        if state.terminate_only or not state.asyncio_safe:
            return
        if dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()


def _begin_inline(connection: Connection, mode: str) -> RootTransaction:
    """SQLAlchemy's transaction, with SQLite's ``BEGIN {mode}`` sent straight to sqlite3 (a
    statement through SQLAlchemy costs ten times more). Not from a listener on the engine's
    "begin": any such listener makes SQLAlchemy dispatch events around every statement."""
    transaction = connection.begin()
    try:
        driver = cast(sqlite3.Connection, connection.connection.driver_connection)
        driver.execute(f"BEGIN {mode}")
    except BaseException:
        transaction.rollback()
        raise
    return transaction


_threaded: ContextVar[bool] = ContextVar("threaded", default=False)


class Database:
    """The engine plus the two ways to use it: a write transaction or a read.

    On SQLite the sessions are ``storage.inline``'s, on the event loop's thread, except
    inside ``threaded()``: there they are asyncio sessions over aiosqlite (``engine``, also
    used by migrations)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.worker: Lease | None = None  # this process's lease, once taken
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
            kwargs["pool_reset_on_return"] = None  # see _sqlite_setup
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine = create_async_engine(self.url, **kwargs)
        # SQLite has one writer at a time. Writers of this process queue here, on the event
        # loop; other processes are met by ``_begin_write``.
        self._one_writer: asyncio.Lock | nullcontext[None] = nullcontext()
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(
            self.engine.execution_options(readonly=True), expire_on_commit=False
        )
        if not self.is_sqlite:
            self.sync_engine = self.engine.sync_engine
            return
        _sqlite_setup(self.engine.sync_engine, inline=False)
        self.sync_engine = create_engine(self.url.set(drivername="sqlite"), echo=echo)
        _sqlite_setup(self.sync_engine, inline=True)
        # Bound to the unit's connection, whose transaction it joins: it flushes, the
        # unit commits (``_inline_unit``).
        self._inline_session = sessionmaker(
            expire_on_commit=False, join_transaction_mode="rollback_only"
        )
        self._one_writer = asyncio.Lock()
        # Connections of inline units that ended well, for the next ones: checking one out
        # of SQLAlchemy's pool and back cost ~0.06 ms, as much as a unit's own statements.
        # An idle connection holds no transaction, so it keeps nothing from other processes.
        self._spare_writers: list[Connection] = []
        self._spare_readers: list[Connection] = []

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def _inline(self) -> bool:
        """Whether units of work started now get ``InlineSession`` (see ``threaded``)."""
        return self.is_sqlite and not _threaded.get()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """A write transaction: committed when the block ends, rolled back on error."""
        if not self._inline():
            async with self._one_writer, self._writer() as session, session.begin():
                yield session
            return
        await asyncio.sleep(0)  # see read()
        async with self._one_writer:
            connection, transaction = await self._begin_write()
            with (
                self._kept(connection, self._spare_writers),
                transaction,
                self._inline_unit(connection) as inline,
            ):
                yield inline

    async def _begin_write(self) -> tuple[Connection, RootTransaction]:
        """A connection holding SQLite's write lock (``BEGIN IMMEDIATE``), tried until
        the busy timeout with growing sleeps between tries."""
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + BUSY_TIMEOUT_MS / 1000, _FIRST_RETRY
        while True:
            connection = self._connect(self._spare_writers)
            try:
                return connection, _begin_inline(connection, "IMMEDIATE")
            except (OperationalError, sqlite3.OperationalError) as exc:
                connection.close()
                if not _is_busy(exc) or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_RETRY)

    def _connect(self, spare: list[Connection]) -> Connection:
        """A connection ``_kept`` in ``spare``, else a new one from the pool."""
        return spare.pop() if spare else self.sync_engine.connect()

    @staticmethod
    @contextmanager
    def _kept(connection: Connection, spare: list[Connection]) -> Iterator[None]:
        """After the block, ``connection`` is kept in ``spare`` for the next unit of work;
        unless the block failed: then it is closed, whatever state the failure left."""
        try:
            yield
        except BaseException:
            connection.close()
            raise
        if connection.invalidated or len(spare) >= _SPARE:
            connection.close()
        else:
            spare.append(connection)

    @contextmanager
    def _inline_unit(self, connection: Connection) -> Iterator[InlineSession]:
        """The session of one inline unit of work; its ORM changes flushed at the end."""
        session = InlineSession(connection, self._inline_session)
        try:
            yield session
            session.finish()
        finally:
            session.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Session]:
        """A read-only unit of work (on SQLite a deferred transaction, never blocking)."""
        if not self._inline():
            async with self._reader() as session, session.begin():
                yield session
            return
        # Inline statements never give the loop back, so every unit of work begins by
        # letting the others take a turn: a loop of reads (a job over every member) must
        # not keep replies waiting until it ends.
        await asyncio.sleep(0)
        connection = self._connect(self._spare_readers)
        with (
            self._kept(connection, self._spare_readers),
            _begin_inline(connection, "DEFERRED"),
            self._inline_unit(connection) as inline,
        ):
            yield inline

    @contextmanager
    def threaded(self) -> Iterator[None]:
        """SQLite: the units of work of this block (and of the tasks it starts) run on
        aiosqlite's threads, in parallel with the loop. For bulk work — the scheduled jobs
        over the whole shop — whose statements are long: SQLite works while the
        loop goes on, and the thread's GIL-free time uses the second core."""
        token = _threaded.set(True)
        try:
            yield
        finally:
            _threaded.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.is_sqlite:
            for connection in self._spare_writers + self._spare_readers:
                connection.close()
            self._spare_writers.clear()
            self._spare_readers.clear()
            self.sync_engine.dispose()


def _is_busy(exc: OperationalError | sqlite3.OperationalError) -> bool:
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return isinstance(orig, sqlite3.OperationalError) and orig.sqlite_errorcode in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


@overload
async def run(
    session: Session, statement: TypedReturnsRows[*_Ts], params: Params = None
) -> CursorResult[*_Ts] | Rows[*_Ts]: ...


@overload
async def run(
    session: Session, statement: Executable, params: Params = None
) -> CursorResult[*tuple[Any, ...]] | Rows[*tuple[Any, ...]]: ...


async def run(
    session: Session, statement: Executable, params: Params = None
) -> CursorResult[*tuple[Any, ...]] | Rows[*tuple[Any, ...]]:
    """A statement of columns or DML (no ORM objects) on the session's connection.

    For the statements every message runs. Through the ORM session a statement written
    with mapped attributes costs SQLAlchemy twice as much (~0.1 ms instead of ~0.05 ms,
    four or five times per reply); the rows are the same. Pending ORM changes are flushed
    first, as ``session.execute`` does; objects in the session are not updated."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    return await connection.execute(statement, params)


class ConflictInserts(Protocol):
    """A SQLAlchemy dialect module (PostgreSQL's or SQLite's), for its INSERT … ON CONFLICT."""

    def insert(self, table: Table | type[Any]) -> postgresql.Insert | sqlite.Insert: ...


def dialect_of(session: Session) -> ConflictInserts:
    """The SQLAlchemy dialect module of the session's database."""
    return _dialect(session.get_bind().dialect.name)


def _dialect(name: str) -> ConflictInserts:
    return postgresql if name == "postgresql" else sqlite


# The statements below are built once per dialect and table (building a statement costs
# SQLAlchemy more than running it); the values go in as parameters.


@cache
def _insert_ignore(
    dialect: str, table: Table, conflict: tuple[str, ...]
) -> postgresql.Insert | sqlite.Insert:
    return _dialect(dialect).insert(table).on_conflict_do_nothing(index_elements=conflict)


@cache
def _upsert(
    dialect: str, table: Table, conflict: tuple[str, ...], columns: tuple[str, ...]
) -> postgresql.Insert | sqlite.Insert:
    stmt = _dialect(dialect).insert(table)
    changed = {name: stmt.excluded[name] for name in columns if name not in conflict}
    return stmt.on_conflict_do_update(index_elements=conflict, set_=changed)


async def insert_ignore(
    session: Session, table: Table, values: dict[str, Any], conflict: list[str]
) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; True if inserted."""
    stmt = _insert_ignore(session.get_bind().dialect.name, table, tuple(conflict))
    result = await run(session, stmt, values)
    return bool(result.rowcount)


async def insert_ignore_many(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    conflict: list[str],
    key: str,
) -> set[Any]:
    """``insert_ignore`` for many rows (all with the same columns) in a few statements; the
    ``key`` values of those inserted. The statement is built once and sent with the rows as
    parameters (SQLAlchemy batches them into multi-row INSERTs): compiling a statement with
    the values inside cost more than inserting them."""
    if not rows:
        return set()
    stmt = _insert_ignore_returning(session.get_bind().dialect.name, table, tuple(conflict), key)
    return set((await run(session, stmt, rows)).scalars())


async def insert_ignore_all(
    session: Session, table: Table, rows: list[dict[str, Any]], conflict: list[str]
) -> None:
    """``insert_ignore_many`` without saying which rows were new: one executemany, without
    the RETURNING it would not need (for rows written with every reply)."""
    if rows:
        await run(
            session, _insert_ignore(session.get_bind().dialect.name, table, tuple(conflict)), rows
        )


@cache
def _insert_ignore_returning(
    dialect: str, table: Table, conflict: tuple[str, ...], key: str
) -> ReturningInsert[Any]:
    return _insert_ignore(dialect, table, conflict).returning(table.c[key])


async def upsert(
    session: Session, table: Table, values: dict[str, Any], conflict: list[str]
) -> None:
    """Insert a row, or give the one with the same ``conflict`` columns the other values:
    one statement, so a concurrent delete cannot make it fail half-way."""
    stmt = _upsert(session.get_bind().dialect.name, table, tuple(conflict), tuple(sorted(values)))
    await run(session, stmt, values)
