"""A WeChat reply's customer-service follow-up that WeChat refuses for now (system busy) is
not lost: it goes through the outbox and arrives when the dispatcher sends it."""

from __future__ import annotations

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from bot.composition import compose
from bot.handlers.wechat_api import WeChatAPI
from bot.pushes.wechat import WeChatPushes
from bot.web import create_app
from core.clock import FixedClock
from core.context import Context
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.pushing import dispatcher, outbox
from tests.channels.test_wechat import CUSTOM_SEND, register
from tests.channels.wechat_sim import WeChatSimulator, wechat_settings


async def test_a_follow_up_wechat_refuses_for_now_still_arrives(
    ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, session: ClientSession
) -> None:
    """The member card's image follows its text as a customer-service message; WeChat
    answered -1 (system busy) and the card never arrived."""
    async with TestServer(create_app(compose(ctx, wechat_settings(fake_wechat)))) as server:
        wechat = WeChatSimulator(session, str(server.make_url("/wechat")), clock=ctx.clock)
        await register(wechat, "o-busy")
        fake_wechat.fail_next(CUSTOM_SEND, -1)
        answer = await wechat.event("o-busy", "CLICK", key="card")
    # The server is closed: its follow-ups have run.
    assert answer.content
    (held,) = await outbox(ctx, "reply")
    assert held.status == "pending"
    assert held.last_error is not None and "-1" in held.last_error

    api = WeChatAPI(ctx.db, ctx.clock, app_id="wx1", app_secret="s", base_url=fake_wechat.base_url)
    try:
        await dispatcher(ctx, clock, {"wechat": WeChatPushes(ctx, api)}).drain()
    finally:
        await api.close()
    refused, resent = fake_wechat.calls_to(CUSTOM_SEND)
    assert refused.json["msgtype"] == "image"
    uploads = fake_wechat.calls_to("/cgi-bin/media/upload")
    assert resent.json == {
        "touser": "o-busy",
        "msgtype": "image",
        "image": {"media_id": uploads[-1].answer["media_id"]},
    }
    assert uploads[-1].uploads[0].data == uploads[0].uploads[0].data  # the same card
    assert [row.status for row in await outbox(ctx, "reply")] == ["sent"]
