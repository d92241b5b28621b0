"""The health endpoint over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.web import create_app
from core.context import Context
from storage.db import Database


async def test_health_answers_when_the_database_does(ctx: Context) -> None:
    async with TestClient(TestServer(create_app(ctx), host="127.0.0.1")) as client:
        response = await client.get("/health")
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_an_unreachable_database(ctx: Context, tmp_path: Path) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    app = create_app(Context(db=broken, shop=ctx.shop, clock=ctx.clock, zone=ctx.zone))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/health")
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"
    await broken.dispose()
