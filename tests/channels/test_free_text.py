"""Free text as members type it reaches the flow they meant, over WeChat and Telegram."""

from __future__ import annotations

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.composition import compose
from bot.i18n import gettext
from bot.web import create_app
from core.context import Context
from core.people.registration import register_member
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.test_telegram import USER, Chat, telegram_settings, texts
from tests.channels.wechat_sim import WeChatSimulator


async def test_wechat_free_text_reaches_its_flow(ctx: Context, wechat: WeChatSimulator) -> None:
    await register_member(ctx, name="李雷", phone=None, channel="wechat", external_id="o-lilei")
    points = await wechat.text("o-lilei", "我是金卡吗")
    assert gettext("zh_CN", "Points: {balance}", balance=0) in points.content
    rewards = await wechat.text("o-lilei", "积分能换什么")
    assert gettext("zh_CN", "Points: {balance}", balance=0) not in rewards.content


async def test_telegram_free_text_reaches_its_flow(
    ctx: Context, fake_telegram: FakeTelegram, session: ClientSession
) -> None:
    await register_member(
        ctx, name="Lee", phone=None, locale="en", channel="telegram", external_id=str(USER)
    )
    app = create_app(compose(ctx, telegram_settings(fake_telegram)))
    async with TestServer(app) as server:
        chat = Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "en")
        level = await chat.say("what level am I?")
        assert gettext("en", "Points: {balance}", balance=0) in texts(level)
        language = await chat.say("switch to Chinese")
        assert gettext("en", "Which language would you like?") in texts(language)
