"""SQLite sessions that run on the event loop's own thread.

An indexed look-up takes SQLite a few microseconds. Run through SQLAlchemy's asyncio layer
over aiosqlite it cost the event loop ~0.7 ms of CPU per statement on the 2-core machine:
greenlets for every call, and a round trip to aiosqlite's thread, which then waits for the
loop's GIL. SQLAlchemy's plain (sync) Session over the standard ``sqlite3`` does the same
statement in ~0.05 ms. So on SQLite, ``storage.db.Database`` hands out ``InlineSession``: the
awaitable methods of ``AsyncSession`` that memberbot uses, each calling a sync connection
(and the sync ORM Session, made on first use) directly. Awaiting one never yields to the
loop, so a transaction runs start to end while other coroutines wait.

What it costs: a statement holds the loop while it runs. Chat traffic and the push
dispatcher's claims and marks are indexed look-ups and small batches; the scheduled jobs
over the whole shop run inside ``Database.threaded()``, on aiosqlite's threads as before,
so their long statements never hold the loop. The one wait that could be long — another
process (``memberbot scheduler``, an import) holding SQLite's write lock — is never waited
for inside SQLite: ``Database.transaction`` tries the lock without a busy timeout and
sleeps on the loop between tries.

PostgreSQL keeps ``AsyncSession`` over asyncpg: its statements cross a network.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Never, TypeVar, TypeVarTuple, cast, overload

from sqlalchemy import Connection, CursorResult, Executable, Result, ScalarResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlalchemy.util import EMPTY_DICT

from storage.prepared import Rows, prepared

_T = TypeVar("_T")
_O = TypeVar("_O")
_Ts = TypeVarTuple("_Ts")
_TupleAny = tuple[Any, ...]


class InlineConnection:
    """``AsyncConnection.execute`` over a sync Connection: ``storage.prepared`` straight on
    sqlite3 where it can, else SQLAlchemy (executemany of Core rows, expanding lists)."""

    def __init__(self, connection: Connection) -> None:
        self.sync_connection = connection

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Any = None
    ) -> CursorResult[*_Ts] | Rows[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[*_TupleAny] | Rows[*_TupleAny]: ...

    async def execute(
        self, statement: Executable, parameters: Any = None
    ) -> CursorResult[*_TupleAny] | Rows[*_TupleAny]:
        if parameters is None or isinstance(parameters, dict):
            fast = prepared(statement, self.sync_connection.dialect, parameters)
            if fast is not None:
                driver = self.sync_connection.connection.driver_connection
                return fast.run(cast(sqlite3.Connection, driver), parameters)
        return self.sync_connection.execute(statement, parameters)


class InlineSession:
    """The ``AsyncSession`` methods memberbot uses (``storage.session.Session``), over a
    connection in a transaction.

    The ORM ``Session`` is made on first use. A unit of work whose statements all go
    through ``storage.db.run`` (the ones every message runs) never makes one: a Session
    costs SQLAlchemy ~0.1 ms to set up, begin, commit and close, about as much as the
    statements of a unit of work themselves."""

    def __init__(self, connection: Connection, make_session: Callable[..., Session]) -> None:
        self._connection = connection
        self._make_session = make_session
        self._session: Session | None = None

    @property
    def sync_session(self) -> Session:
        if self._session is None:
            self._session = self._make_session(bind=self._connection)
        return self._session

    def get_bind(self) -> Connection:
        return self._connection

    @property
    def new(self) -> Collection[object]:
        return self._session.new if self._session is not None else ()

    @property
    def dirty(self) -> Collection[object]:
        return self._session.dirty if self._session is not None else ()

    @property
    def deleted(self) -> Collection[object]:
        return self._session.deleted if self._session is not None else ()

    def finish(self) -> None:
        """The end of a unit of work that went well: ORM changes flushed, ready to commit."""
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*_Ts],
        params: Any = None,
        *,
        execution_options: Mapping[str, Any] = EMPTY_DICT,
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self,
        statement: Executable,
        params: Any = None,
        *,
        execution_options: Mapping[str, Any] = EMPTY_DICT,
    ) -> Result[*_TupleAny]: ...

    async def execute(
        self,
        statement: Executable,
        params: Any = None,
        *,
        execution_options: Mapping[str, Any] = EMPTY_DICT,
    ) -> Result[*_TupleAny]:
        return self.sync_session.execute(statement, params, execution_options=execution_options)

    @overload
    async def scalar(
        self, statement: TypedReturnsRows[Never], params: Any = None
    ) -> Any | None: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T], params: Any = None) -> _T | None: ...

    @overload
    async def scalar(self, statement: Executable, params: Any = None) -> Any: ...

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        return self.sync_session.scalar(statement, params)

    @overload
    async def scalars(
        self, statement: TypedReturnsRows[_T], params: Any = None
    ) -> ScalarResult[_T]: ...

    @overload
    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]: ...

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return self.sync_session.scalars(statement, params)

    async def get(
        self, entity: type[_O], ident: Any, *, populate_existing: bool | None = None
    ) -> _O | None:
        return self.sync_session.get(entity, ident, populate_existing=populate_existing)

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        self.sync_session.flush(objects)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def connection(self) -> InlineConnection:
        return InlineConnection(self._connection)

    def add(self, instance: object) -> None:
        self.sync_session.add(instance)

    def add_all(self, instances: Iterable[object]) -> None:
        self.sync_session.add_all(instances)

    def expunge_all(self) -> None:
        self.sync_session.expunge_all()
