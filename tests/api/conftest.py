"""The till API over real HTTP on loopback: ``memberbot serve``'s app on a TestServer, called
with a key made by the use case the command line calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.composition import compose
from bot.settings import Settings
from bot.web import create_app
from core.context import Context
from core.integrations.api_keys import create_key
from storage.db import Database


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any


@dataclass
class Till:
    """A till calling the API with ``key``."""

    session: ClientSession
    server: TestServer
    key: str | None

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if (key or self.key) is not None:
            sent["Authorization"] = f"Bearer {key or self.key}"
        async with self.session.request(
            method,
            self.server.make_url("/api/v1" + path),
            json=json,
            data=data,
            headers=sent,
            params=params,
        ) as response:
            body = await response.json(content_type=None)
            return Answer(response.status, response.headers, body)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def server(ctx: Context) -> AsyncIterator[TestServer]:
    async with TestServer(create_app(compose(ctx, settings())), host="127.0.0.1") as started:
        yield started


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    async with ClientSession() as client:
        yield client


@pytest.fixture
async def till(ctx: Context, server: TestServer, session: ClientSession) -> Till:
    """A till of the main store with every scope."""
    _, key = await create_key(ctx, name="till-1", store="main")
    return Till(session, server, key)


@pytest.fixture
async def two_workers(ctx: Context, session: ClientSession) -> AsyncIterator[list[Till]]:
    """The main store's till calling two app instances with their own database connections,
    as two `serve` workers over one database."""
    other_db = Database(ctx.db.url.render_as_string(hide_password=False))
    one = TestServer(create_app(compose(ctx, settings())), host="127.0.0.1")
    two = TestServer(create_app(compose(replace(ctx, db=other_db), settings())), host="127.0.0.1")
    _, key = await create_key(ctx, name="till-1", store="main")
    async with one, two:
        yield [Till(session, server, key) for server in (one, two)]
    await other_db.dispose()
