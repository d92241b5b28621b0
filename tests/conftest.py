"""Test wiring: every test gets a fresh, migrated database — a SQLite file by default, or the
PostgreSQL server named by MEMBERBOT_TEST_DATABASE_URL — and a clock that only moves when
told to."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.composition import shop_context
from core.clock import FixedClock
from core.context import Context
from core.shop_file import load_shop
from storage import migrate
from storage.db import Database
from storage.models import Base

PG_URL = os.environ.get("MEMBERBOT_TEST_DATABASE_URL")
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 5, 10, 0, tzinfo=ZONE)


async def _fresh_schema(url: str) -> None:
    database = Database(url)
    if not database.is_sqlite:
        async with database.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(database)
    await database.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrated once per run: a template SQLite file, or the PostgreSQL schema."""
    if PG_URL:
        asyncio.run(_fresh_schema(PG_URL))
        return PG_URL
    template = tmp_path_factory.mktemp("template") / "memberbot.db"
    asyncio.run(_fresh_schema(f"sqlite+aiosqlite:///{template}"))
    return str(template)


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    if PG_URL:
        database = Database(database_url)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        path = tmp_path / "memberbot.db"
        shutil.copy(database_url, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
async def ctx(db: Database, clock: FixedClock) -> Context:
    return await shop_context(db, load_shop(), clock, ZONE)


@pytest.fixture
def cli_env(ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """Point the command line at the test database, in English, with no stray .env."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERBOT_DATABASE_URL", ctx.db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("MEMBERBOT_LOCALE", "en")
    return ctx
