"""Transactions: what a failed one leaves behind, and connections back in the pool."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from core.context import Context
from storage.db import Database
from storage.models import StoreRow


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
    """The pool does not roll back after every commit on SQLite (see storage.db); one that
    comes back with a transaction still open is rolled back all the same."""
    db = ctx.db
    if not db.is_sqlite:
        pytest.skip("SQLite only: PostgreSQL keeps the pool's reset")
    async with db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back
        await raw.driver_connection.execute("UPDATE stores SET name = 'never committed'")
    async with db.transaction() as s:  # the same pooled connection: it must be clean
        await s.execute(update(StoreRow).values(name="committed"))
    assert await stores_named(db, "never committed") == 0
    assert await stores_named(db, "committed") > 0
