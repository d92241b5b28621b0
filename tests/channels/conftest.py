"""Channel tests talk real HTTP on loopback: platform APIs are fake servers, not mocks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.composition import compose
from bot.dialogs.registry import create_dialogs
from bot.handlers.telegram import TelegramChannel, TelegramPushes, create_bot
from bot.web import create_app
from core.clock import FixedClock
from core.context import Context
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.wechat_sim import WeChatSimulator, wechat_settings


@pytest.fixture
async def fake_wechat(clock: FixedClock) -> AsyncIterator[FakeWeChat]:
    """A fake WeChat API whose tokens expire by the test's clock."""
    async with FakeWeChat(clock) as server:
        yield server


@pytest.fixture
async def fake_telegram(clock: FixedClock) -> AsyncIterator[FakeTelegram]:
    """A fake Telegram Bot API whose message dates follow the test's clock."""
    async with FakeTelegram(clock) as server:
        yield server


@pytest.fixture
async def sender(ctx: Context, fake_telegram: FakeTelegram) -> AsyncIterator[TelegramPushes]:
    """The dispatcher's Telegram sender, talking to the fake Bot API."""
    channel = TelegramChannel(
        ctx, create_dialogs(ctx), create_bot(fake_telegram.token, fake_telegram.base_url)
    )
    yield TelegramPushes(channel)
    await channel.close()


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    """An HTTP client, playing the platform that calls our endpoints."""
    async with ClientSession() as client:
        yield client


@pytest.fixture
async def wechat_server(ctx: Context, fake_wechat: FakeWeChat) -> AsyncIterator[TestServer]:
    """``memberbot serve``'s web app with a WeChat account whose API is the fake one."""
    async with TestServer(create_app(compose(ctx, wechat_settings(fake_wechat)))) as server:
        yield server


@pytest.fixture
def wechat(ctx: Context, wechat_server: TestServer, session: ClientSession) -> WeChatSimulator:
    """A WeChat server sending signed, encrypted messages to that app."""
    return WeChatSimulator(session, str(wechat_server.make_url("/wechat")), clock=ctx.clock)
