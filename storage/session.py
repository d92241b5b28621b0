"""What ``core`` may do with a unit of work's session: the seam between the use cases and the
two kinds of session ``storage.db.Database`` hands out.

PostgreSQL (and SQLite inside ``Database.threaded()``) gives SQLAlchemy's ``AsyncSession``;
SQLite on the event loop's thread gives ``storage.inline.InlineSession``, which implements
only the methods below. ``Session`` names them, typed as ``AsyncSession`` types them, so the
type checker holds both to the same results (``_conforms`` at the bottom): a use case cannot
call what the inline session lacks, nor get ``Any`` back from it.

``connection()`` is for ``storage.db.run`` (the statements every message runs): on SQLite
its ``execute`` may return ``storage.prepared.Rows`` instead of SQLAlchemy's result.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Never,
    Protocol,
    TypeVar,
    TypeVarTuple,
    cast,
    overload,
)

from sqlalchemy import Connection, CursorResult, Engine, Executable, Result, ScalarResult
from sqlalchemy.engine.interfaces import _CoreAnyExecuteParams
from sqlalchemy.sql.selectable import TypedReturnsRows
from sqlalchemy.util import EMPTY_DICT

from storage.prepared import Rows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.inline import InlineSession

_T = TypeVar("_T")
_O = TypeVar("_O")
_Ts = TypeVarTuple("_Ts")

Params = _CoreAnyExecuteParams | None


class StatementRunner(Protocol):
    """A session's connection, as ``storage.db.run`` uses it."""

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Params = None
    ) -> CursorResult[*_Ts] | Rows[*_Ts]: ...

    @overload
    async def execute(
        self, statement: Executable, parameters: Params = None
    ) -> CursorResult[*tuple[Any, ...]] | Rows[*tuple[Any, ...]]: ...


class Session(Protocol):
    """The session of a write transaction or a read (``Database.transaction``/``read``)."""

    @overload
    async def execute(
        self,
        statement: TypedReturnsRows[*_Ts],
        params: Params = None,
        *,
        execution_options: Mapping[str, Any] = EMPTY_DICT,
    ) -> Result[*_Ts]: ...

    @overload
    async def execute(
        self,
        statement: Executable,
        params: Params = None,
        *,
        execution_options: Mapping[str, Any] = EMPTY_DICT,
    ) -> Result[*tuple[Any, ...]]: ...

    # The first overload is SQLAlchemy's work-around for mypy issue 20651.
    @overload
    async def scalar(
        self, statement: TypedReturnsRows[Never], params: Params = None
    ) -> Any | None: ...

    @overload
    async def scalar(self, statement: TypedReturnsRows[_T], params: Params = None) -> _T | None: ...

    @overload
    async def scalar(self, statement: Executable, params: Params = None) -> Any: ...

    @overload
    async def scalars(
        self, statement: TypedReturnsRows[_T], params: Params = None
    ) -> ScalarResult[_T]: ...

    @overload
    async def scalars(self, statement: Executable, params: Params = None) -> ScalarResult[Any]: ...

    async def get(
        self, entity: type[_O], ident: Any, *, populate_existing: bool | None = None
    ) -> _O | None: ...

    def add(self, instance: object) -> None: ...

    def add_all(self, instances: Iterable[object]) -> None: ...

    async def delete(self, instance: object) -> None: ...

    async def flush(self, objects: Sequence[Any] | None = None) -> None: ...

    def expunge_all(self) -> None: ...

    def get_bind(self) -> Engine | Connection:
        """What the session runs on: its dialect says which SQL to write."""
        ...

    async def connection(self) -> StatementRunner: ...

    # ORM changes not flushed yet (``storage.db.run`` flushes them first).
    @property
    def new(self) -> Collection[object]: ...

    @property
    def dirty(self) -> Collection[object]: ...

    @property
    def deleted(self) -> Collection[object]: ...


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE run by ``Session.execute`` matched. SQLAlchemy types
    that result as a ``Result``; for DML it is a ``CursorResult``, which counts them."""
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


if TYPE_CHECKING:

    def _conforms(pg: AsyncSession, inline: InlineSession) -> tuple[Session, Session]:
        """Checked by mypy, never run: both sessions are a ``Session``."""
        return pg, inline
