"""The health endpoint over real HTTP on loopback."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.composition import compose
from bot.web import AccessLog, create_app
from core.context import Context
from storage.db import Database


async def test_health_answers_when_the_database_does(ctx: Context) -> None:
    async with TestClient(TestServer(create_app(compose(ctx)), host="127.0.0.1")) as client:
        response = await client.get("/health")
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_an_unreachable_database(ctx: Context, tmp_path: Path) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    app = create_app(compose(replace(ctx, db=broken)))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/health")
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"
    await broken.dispose()


async def test_the_access_log_leaves_out_query_strings_and_quiet_successes(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(compose(ctx)), host="127.0.0.1")
    await server.start_server(access_log_class=AccessLog)  # as `memberbot serve` runs it
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with TestClient(server) as client:
        assert (await client.get("/health?openid=o-secret")).status == 200
        assert (await client.get("/nowhere?openid=o-secret&signature=abc")).status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 1  # the 404; the 200 is DEBUG
    assert "GET /nowhere 404" in lines[0]
    assert "o-secret" not in caplog.text and "signature" not in caplog.text
