"""SQLite sessions that run on the event loop's own thread.

An indexed look-up takes SQLite a few microseconds. Run through SQLAlchemy's asyncio layer
over aiosqlite it cost the event loop ~0.7 ms of CPU per statement on the 2-core machine:
greenlets for every call, and a round trip to aiosqlite's thread, which then waits for the
loop's GIL. SQLAlchemy's plain (sync) Session over the standard ``sqlite3`` does the same
statement in ~0.05 ms. So on SQLite, ``storage.db.Database`` hands out ``InlineSession``: the
awaitable methods of ``AsyncSession`` that memberbot uses, each calling the sync Session
directly. Awaiting one never yields to the loop, so a transaction runs start to end while
other coroutines wait.

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

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Engine, Result
from sqlalchemy.orm import Session


class InlineConnection:
    """``AsyncConnection.execute`` over a sync Connection (for executemany of Core rows)."""

    def __init__(self, connection: Connection) -> None:
        self.sync_connection = connection

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Result[Any]:
        return self.sync_connection.execute(statement, parameters, **kw)


class InlineSession:
    """The ``AsyncSession`` methods memberbot uses, over a sync ``Session``."""

    def __init__(self, session: Session) -> None:
        self.sync_session = session

    @property
    def bind(self) -> Engine | Connection:
        return self.sync_session.get_bind()

    async def execute(self, statement: Any, params: Any = None, **kw: Any) -> Result[Any]:
        return self.sync_session.execute(statement, params, **kw)

    async def scalar(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        return self.sync_session.scalar(statement, params, **kw)

    async def scalars(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        return self.sync_session.scalars(statement, params, **kw)

    async def get(self, entity: Any, ident: Any, **kw: Any) -> Any:
        return self.sync_session.get(entity, ident, **kw)

    async def flush(self, objects: Iterable[Any] | None = None) -> None:
        self.sync_session.flush(objects)

    async def delete(self, instance: Any) -> None:
        self.sync_session.delete(instance)

    async def connection(self, **kw: Any) -> InlineConnection:
        return InlineConnection(self.sync_session.connection(**kw))

    def add(self, instance: Any) -> None:
        self.sync_session.add(instance)

    def add_all(self, instances: Iterable[Any]) -> None:
        self.sync_session.add_all(instances)

    def expunge_all(self) -> None:
        self.sync_session.expunge_all()
