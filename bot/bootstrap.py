"""One place that wires settings, shop file, database and clock — for ``serve``, the other
commands and the tests alike."""

from __future__ import annotations

from bot.settings import Settings
from core.catalog import sync_shop
from core.clock import Clock, SystemClock
from core.context import Context
from core.shop_file import load_shop
from storage import migrate
from storage.db import Database


class SchemaOutdated(Exception):
    """The database needs ``memberbot db upgrade`` first."""


async def bootstrap(
    settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None
) -> Context:
    """Build the core context. The shop file is validated before anything touches the
    database. ``upgrade`` migrates the schema first; by default only the embedded SQLite
    database is migrated automatically — a shared PostgreSQL server is upgraded on purpose
    with ``memberbot db upgrade``."""
    shop = load_shop(settings.shop_file)
    database = Database(settings.database_url)
    try:
        if upgrade if upgrade is not None else database.is_sqlite:
            await migrate.upgrade(database)
        elif not await migrate.is_current(database):
            raise SchemaOutdated()
        ctx = Context(db=database, shop=shop, clock=clock or SystemClock(), zone=settings.zone)
        await sync_shop(ctx)
    except BaseException:
        await database.dispose()
        raise
    return ctx
