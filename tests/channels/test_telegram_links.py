"""Telegram over real HTTP, for issue 21.1: what a member typed reaches a clerk escaped
(the markup shows as the text it is), and a button whose data is a command, not one of
memberbot's, asks before it runs it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.composition import compose
from bot.i18n import gettext
from bot.web import create_app
from core import loyalty
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from core.service import feedback
from storage.models import SaleRow
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.test_telegram import USER, Chat, telegram_settings, texts
from tests.channels.test_wechat_links import HOSTILE, SALE


@pytest.fixture
async def chat(
    ctx: Context, fake_telegram: FakeTelegram, session: ClientSession
) -> AsyncIterator[Chat]:
    async with TestServer(create_app(compose(ctx, telegram_settings(fake_telegram)))) as server:
        yield Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "zh_CN")


def zh(message: str, **params: object) -> str:
    return gettext("zh_CN", message, **params)


async def sale_count(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return len(list(await s.scalars(select(SaleRow))))


async def test_a_members_link_reaches_a_telegram_clerk_escaped(ctx: Context, chat: Chat) -> None:
    member = await register_member(ctx, name="李雷", phone="13800138000")
    await feedback.submit_feedback(ctx, member.id, 1, HOSTILE)
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="clerk", store="main")

    await chat.say("/feedback")
    full = await chat.press("#1 李雷")

    sent = [c for c in full if c.method in ("sendMessage", "editMessageText")]
    assert sent and all(c.params.get("parse_mode") in (None, "HTML") for c in sent)
    assert "<a" not in texts(full)
    assert HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in texts(full)


async def test_a_button_carrying_a_command_asks_first(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    await register_member(ctx, name="王芳", phone="13800138555")
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="clerk", store="main")

    update = fake_telegram.callback_update(USER, SALE, message_id=77, language_code="zh-hans")
    asked = await chat._exchange(update)

    assert texts(asked).startswith(
        zh("A link you tapped sends this command:\n{command}\nRun it?", command=SALE)
    )
    assert await sale_count(ctx) == 0
    await chat.press(zh("Run it"))
    assert await sale_count(ctx) == 1


async def test_refund_under_an_older_question_never_refunds_the_newer_one(
    ctx: Context, chat: Chat
) -> None:
    """Issue 21.2 on Telegram: the Refund of the first of two /refund questions, tapped on
    its own message after the second was asked, is no longer valid and refunds nothing."""
    member = await register_member(ctx, name="李雷", phone="13800138001")
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="manager", store="main")
    for receipt in ("R-1", "R-2"):
        await loyalty.record_sale(
            ctx, store="main", receipt_no=receipt, member_id=member.id, amount_fen=23_800
        )

    await chat.say("/refund R-1 10")
    first = chat.tap(zh("Refund"))
    await chat.say("/refund R-2 20")
    second = chat.tap(zh("Refund"))
    stale = await chat._exchange(first)
    assert texts(stale) == zh("This button is no longer valid; nothing more was done.")
    assert await refunded(ctx) == [0, 0]

    await chat._exchange(second)
    assert await refunded(ctx) == [0, 2_000]


async def refunded(ctx: Context) -> list[int]:
    async with ctx.db.read() as s:
        return [s.refunded_fen for s in await s.scalars(select(SaleRow).order_by(SaleRow.id))]
