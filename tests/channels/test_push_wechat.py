"""Pushes to WeChat over real HTTP against the fake WeChat API: customer-service messages
only inside the reply window and within its quota, template messages for service kinds
outside it, marketing waiting for the member's next message or taking their Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.composition import compose
from bot.dialogs.registry import create_dialogs
from bot.handlers.telegram import TelegramChannel, TelegramPushes, create_bot
from bot.handlers.wechat_api import WeChatAPI
from bot.pushes.wechat import WeChatPushes
from bot.web import create_app
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.people import conversations
from core.people.members import create_link_code, link_identity
from core.people.registration import register_member
from core.pushes import work_queue
from core.pushes.outbox import enqueue
from core.shop_file import load_shop
from storage import service_messages
from storage.models import ServiceMessageRow
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.pushing import dispatcher, outbox
from tests.channels.wechat_sim import WeChatSimulator, wechat_settings

CS = "/cgi-bin/message/custom/send"
TEMPLATE = "/cgi-bin/message/template/send"
SHOP = """
[wechat.templates.receipt]
id = "TPL-receipt"
fields = { first = "{name}", keyword1 = "{amount}", keyword2 = "{points}" }
"""


@pytest.fixture
async def shop_ctx(ctx: Context, tmp_path: Path) -> Context:
    (tmp_path / "shop.toml").write_text(SHOP, encoding="utf-8")
    return replace(ctx, shop=load_shop(tmp_path / "shop.toml"))


@pytest.fixture
async def wechat(shop_ctx: Context, fake_wechat: FakeWeChat) -> AsyncIterator[WeChatPushes]:
    api = WeChatAPI(
        shop_ctx.db, shop_ctx.clock, app_id="wx1", app_secret="s", base_url=fake_wechat.base_url
    )
    yield WeChatPushes(shop_ctx, api)
    await api.close()


async def follower(ctx: Context, clock: FixedClock, openid: str, wrote_ago: timedelta) -> int:
    """A member registered in WeChat whose last message was ``wrote_ago``."""
    found = await register_member(
        ctx,
        name="韩梅梅",
        phone="1390013" + str(abs(hash(openid)) % 10_000).zfill(4),
        marketing_consent=True,
        channel="wechat",
        external_id=openid,
    )
    now = clock.now()
    clock.set(now - wrote_ago)
    await conversations.arrive(ctx, "wechat", openid)
    clock.set(now)
    return found.id


async def winback(ctx: Context, member_id: int) -> None:
    async with ctx.db.transaction() as s:
        await enqueue(
            s,
            now=ctx.now(),
            member_id=member_id,
            marketing_consent=True,
            kind="winback",
            dedup_key=f"winback:test:{member_id}",
            params={"stage": "dormant", "days_silent": 200, "coupon_code": None},
        )


async def test_silent_for_49_hours_the_receipt_is_a_template_and_the_winback_waits(
    shop_ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, wechat: WeChatPushes
) -> None:
    ctx = shop_ctx
    member_id = await follower(ctx, clock, "o-silent", timedelta(hours=49))
    await loyalty.record_sale(
        ctx, store="main", receipt_no="W-1", member_id=member_id, amount_fen=8_800
    )
    await winback(ctx, member_id)
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()

    (template,) = fake_wechat.calls_to(TEMPLATE)
    assert template.json is not None
    assert template.json["template_id"] == "TPL-receipt"
    assert template.json["data"]["keyword1"] == {"value": "¥88.00"}
    assert fake_wechat.calls_to(CS) == []  # no customer-service message outside the window
    receipt, waiting = await outbox(ctx)
    assert (receipt.status, receipt.via) == ("sent", "wechat_template")
    assert (waiting.kind, waiting.status) == ("winback", "waiting")

    await conversations.arrive(ctx, "wechat", "o-silent")  # the member writes again
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()
    (message,) = fake_wechat.calls_to(CS)
    assert message.json is not None
    assert message.json["touser"] == "o-silent"
    assert "韩梅梅，好久不见" in message.json["text"]["content"]
    assert (await outbox(ctx, "winback"))[0].via == "wechat_cs"


async def test_a_waiting_winback_is_given_up_when_stale(
    shop_ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, wechat: WeChatPushes
) -> None:
    ctx = shop_ctx
    member_id = await follower(ctx, clock, "o-gone", timedelta(days=3))
    await winback(ctx, member_id)
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()
    clock.advance(timedelta(hours=ctx.shop.pushes.fresh_hours + 1))
    assert await work_queue.skip_stale(ctx) == 1
    await conversations.arrive(ctx, "wechat", "o-gone")
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()
    assert fake_wechat.calls_to(CS) == []
    (row,) = await outbox(ctx)
    assert row.status == "skipped"


async def test_at_most_five_in_the_window_and_the_rest_wait_or_go_to_telegram(
    shop_ctx: Context,
    clock: FixedClock,
    fake_wechat: FakeWeChat,
    fake_telegram: FakeTelegram,
    wechat: WeChatPushes,
) -> None:
    """Two members wrote an hour ago, each gets 8 receipts and then a win-back: five go as
    customer-service messages; then the receipts of the WeChat-only member go as templates
    and the win-back waits, while the other member's go to their linked Telegram."""
    ctx = shop_ctx
    only_wechat = await follower(ctx, clock, "o-one", timedelta(hours=1))
    both = await follower(ctx, clock, "o-two", timedelta(hours=1))
    code = await create_link_code(ctx, both)
    await link_identity(ctx, code.code, "telegram", "9001")
    for n in range(8):
        for member_id in (only_wechat, both):
            await loyalty.record_sale(
                ctx,
                store="main",
                receipt_no=f"{member_id}-{n}",
                member_id=member_id,
                amount_fen=100,
            )
    await winback(ctx, only_wechat)
    await winback(ctx, both)
    channel = TelegramChannel(
        ctx, create_dialogs(ctx), create_bot(fake_telegram.token, fake_telegram.base_url)
    )
    try:
        await dispatcher(
            ctx, clock, {"wechat": wechat, "telegram": TelegramPushes(channel)}
        ).drain()
    finally:
        await channel.close()

    to = [c.json["touser"] for c in fake_wechat.calls_to(CS) if c.json]
    assert to.count("o-one") == to.count("o-two") == 5
    templates = [c.json["touser"] for c in fake_wechat.calls_to(TEMPLATE) if c.json]
    assert templates == ["o-one"] * 3
    telegram = [c for c in fake_telegram.calls_to("sendMessage") if c.status == 200]
    assert [c.params["chat_id"] for c in telegram] == [9001] * 4
    assert "好久不见" in telegram[-1].params["text"]  # the member's language: zh_CN
    rows = {(r.member_id, r.kind, r.status, r.via) for r in await outbox(ctx)}
    assert (only_wechat, "winback", "waiting", None) in rows
    assert (both, "winback", "sent", "telegram") in rows


async def test_three_within_a_minute_after_a_menu_click(
    shop_ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, wechat: WeChatPushes
) -> None:
    ctx = shop_ctx
    member_id = await follower(ctx, clock, "o-click", timedelta(days=5))
    await conversations.arrive(ctx, "wechat", "o-click", event=True)  # a menu click, now
    for n in range(4):
        await loyalty.record_sale(
            ctx, store="main", receipt_no=f"C-{n}", member_id=member_id, amount_fen=100
        )
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()
    assert len(fake_wechat.calls_to(CS)) == 3
    assert len(fake_wechat.calls_to(TEMPLATE)) == 1  # the fourth: its template


async def test_what_a_conversation_sent_as_customer_service_counts_in_the_window(
    shop_ctx: Context,
    clock: FixedClock,
    fake_wechat: FakeWeChat,
    wechat: WeChatPushes,
    session: ClientSession,
) -> None:
    """The member card's image goes out as a customer-service message after the passive
    reply; of the five in the window, four are left: the fifth receipt is a template."""
    ctx = shop_ctx
    member_id = await follower(ctx, clock, "o-card", timedelta(hours=1))
    async with TestServer(create_app(compose(ctx, wechat_settings(fake_wechat)))) as server:
        chat = WeChatSimulator(session, str(server.make_url("/wechat")), clock=clock)
        await chat.event("o-card", "CLICK", key="card")
    # Leaving the server waited for the image it sends after the reply.
    assert [c.json["msgtype"] for c in fake_wechat.calls_to(CS) if c.json] == ["image"]
    for n in range(5):
        await loyalty.record_sale(
            ctx, store="main", receipt_no=f"K-{n}", member_id=member_id, amount_fen=100
        )
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()

    assert len(fake_wechat.calls_to(CS)) == 5  # the image and four receipts
    assert len(fake_wechat.calls_to(TEMPLATE)) == 1
    async with ctx.db.read() as s:
        counted = await s.scalar(select(func.count()).select_from(ServiceMessageRow))
    assert counted == 5


async def test_counted_service_messages_are_forgotten_after_two_days(
    shop_ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, wechat: WeChatPushes
) -> None:
    ctx = shop_ctx
    member_id = await follower(ctx, clock, "o-old", timedelta(minutes=5))
    await loyalty.record_sale(
        ctx, store="main", receipt_no="O-1", member_id=member_id, amount_fen=1
    )
    await dispatcher(ctx, clock, {"wechat": wechat}).drain()
    assert len(fake_wechat.calls_to(CS)) == 1
    clock.advance(timedelta(days=1))
    assert await service_messages.prune(ctx.db, ctx.now() - timedelta(days=2)) == 0
    clock.advance(timedelta(days=1, seconds=1))
    assert await service_messages.prune(ctx.db, ctx.now() - timedelta(days=2)) == 1
