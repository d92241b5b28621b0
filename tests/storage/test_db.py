"""Transactions: what a failed one leaves behind, connections back in the pool, SQLite's
inline sessions (``storage.inline``) and its write lock held by another process."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from core.context import Context
from storage.db import Database
from storage.inline import InlineSession
from storage.models import MemberRow, StoreRow


async def stores_named(db: Database, name: str) -> int:
    async with db.read() as s:
        return int(await s.scalar(select(func.count()).where(StoreRow.name == name)) or 0)


async def test_a_failed_transaction_leaves_nothing_and_the_next_one_works(ctx: Context) -> None:
    db = ctx.db
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await s.execute(update(StoreRow).values(name="half-done"))
            raise RuntimeError
    assert await stores_named(db, "half-done") == 0
    async with db.transaction() as s:
        await s.execute(update(StoreRow).values(name="done"))
    assert await stores_named(db, "done") > 0


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(ctx: Context) -> None:
    db = ctx.db
    sqlite_only(db)
    with db.sync_engine.connect() as connection:
        raw = connection.connection.driver_connection
        raw.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back
        raw.execute("UPDATE stores SET name = 'never committed'")
    async with db.transaction() as s:  # the same pooled connection: it must be clean
        await s.execute(update(StoreRow).values(name="committed"))
    assert await stores_named(db, "never committed") == 0
    assert await stores_named(db, "committed") > 0


def sqlite_only(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("the SQLite driver only")


async def test_inline_sessions_give_results_as_sqlalchemy_does(ctx: Context) -> None:
    db = ctx.db
    sqlite_only(db)
    async with db.read() as s:
        codes = list(await s.scalars(select(StoreRow.code).order_by(StoreRow.code)))
        rows = (await s.execute(select(StoreRow.code))).all()
    assert codes == sorted(row.code for row in rows) and "main" in codes
    async with db.transaction() as s:
        changed = await s.execute(update(StoreRow).where(StoreRow.code == "main").values(name="M"))
        assert changed.rowcount == 1
        added = await s.execute(
            insert(MemberRow).values(name="A", locale="en", tier="member", registered_at=ctx.now())
        )
        assert added.inserted_primary_key is not None and added.inserted_primary_key[0] > 0
        await s.execute(
            insert(MemberRow),
            [
                {"name": n, "locale": "en", "tier": "member", "registered_at": ctx.now()}
                for n in "BC"
            ],
        )
    assert await stores_named(db, "M") == 1
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(MemberRow)) == 3


async def test_errors_of_the_database_are_sqlalchemys(ctx: Context) -> None:
    sqlite_only(ctx.db)
    with pytest.raises(IntegrityError):
        async with ctx.db.transaction() as s:
            await s.execute(insert(StoreRow).values(code="main", name="again", name_en="again"))
    with pytest.raises(OperationalError):
        async with ctx.db.read() as s:
            await s.execute(text("SELECT nothing FROM nowhere"))


async def test_a_write_transaction_holds_the_write_lock_from_its_first_statement(
    ctx: Context,
) -> None:
    sqlite_only(ctx.db)
    assert ctx.db.url.database is not None
    async with ctx.db.transaction() as s:
        await s.execute(select(StoreRow.id))  # only a read, but BEGIN IMMEDIATE went with it
        other = sqlite3.connect(ctx.db.url.database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    async with ctx.db.read() as s:  # a read transaction takes no lock
        await s.execute(select(StoreRow.id))
        other = sqlite3.connect(ctx.db.url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


async def test_a_write_lock_held_by_another_process_is_waited_for_without_holding_the_loop(
    ctx: Context,
) -> None:
    """While another process writes, reads and other coroutines go on; the write follows
    as soon as the lock is free."""
    sqlite_only(ctx.db)
    assert ctx.db.url.database is not None
    other = sqlite3.connect(ctx.db.url.database, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE stores SET name = 'other process'")
    order: list[str] = []

    async def write() -> None:
        async with ctx.db.transaction() as s:
            order.append("write began")
            await s.execute(update(StoreRow).values(name="ours"))

    writer = asyncio.create_task(write())
    await asyncio.sleep(0)  # the writer met the lock and sleeps between tries
    assert await stores_named(ctx.db, "other process") == 0  # not committed: not seen
    order.append("read done")
    other.execute("COMMIT")
    other.close()
    await writer
    assert order == ["read done", "write began"]
    assert await stores_named(ctx.db, "ours") > 0


async def test_bulk_work_inside_threaded_runs_on_aiosqlite_threads(ctx: Context) -> None:
    """The scheduler's jobs (``Database.threaded``) get asyncio sessions,
    also in the tasks they start; everything else SQLite's inline ones."""
    sqlite_only(ctx.db)

    async def kind() -> type:
        async with ctx.db.read() as s:
            return type(s)

    assert await kind() is InlineSession
    with ctx.db.threaded():
        assert await asyncio.create_task(kind()) is AsyncSession
        async with ctx.db.transaction() as s:
            assert isinstance(s, AsyncSession)
            await s.execute(update(StoreRow).values(name="threaded"))
    assert await kind() is InlineSession
    assert await stores_named(ctx.db, "threaded") > 0
