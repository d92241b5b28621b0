"""A person when asked, across channels over real HTTP: a member on WeChat (signed,
encrypted XML) asks for a person in a sentence that says why; the clerk on Telegram gets
that sentence and the next message as pushes with Answer, answers, sees the answer again,
confirms; the answer reaches the member through WeChat's customer-service API; the member's
reply reaches the clerk; the member ends the chat. The database keeps each word once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.composition import Process, compose
from bot.web import create_app
from core.clock import FixedClock
from core.context import Context
from core.people.members import member_for_identity
from core.people.staff import add_staff
from core.service import handoff
from storage.models import HandoffMessageRow, HandoffRow
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.pushing import dispatcher
from tests.channels.test_telegram import SECRET, USER, Chat, texts
from tests.channels.test_wechat import CUSTOM_SEND, register, zh
from tests.channels.wechat_sim import WeChatSimulator, links, wechat_settings
from tests.dialogs.conftest import hinted

MEMBER = "o-handoff-member-000000000001"
ASK = "转人工，我的积分不对"
QUESTION = "上周六买的咖啡没有积分"
ANSWER = "Sorry about that: we added the 20 points today."
THANKS = "好的，谢谢"


@pytest.fixture
async def process(
    ctx: Context, fake_wechat: FakeWeChat, fake_telegram: FakeTelegram
) -> AsyncIterator[Process]:
    """``memberbot serve``'s process for a shop on both WeChat and Telegram."""
    settings = wechat_settings(
        fake_wechat,
        telegram_token=fake_telegram.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base=fake_telegram.base_url,
    )
    yield compose(ctx, settings)


@pytest.fixture
async def server(process: Process) -> AsyncIterator[TestServer]:
    async with TestServer(create_app(process)) as test_server:
        yield test_server


@pytest.fixture
def member(ctx: Context, server: TestServer, session: ClientSession) -> WeChatSimulator:
    return WeChatSimulator(session, str(server.make_url("/wechat")), clock=ctx.clock)


@pytest.fixture
def clerk(fake_telegram: FakeTelegram, session: ClientSession, server: TestServer) -> Chat:
    return Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "en")


async def test_a_wechat_member_and_a_telegram_clerk_chat_until_the_member_ends_it(
    ctx: Context,
    clock: FixedClock,
    process: Process,
    member: WeChatSimulator,
    clerk: Chat,
    fake_telegram: FakeTelegram,
    fake_wechat: FakeWeChat,
) -> None:
    await register(member, MEMBER)
    found = await member_for_identity(ctx, "wechat", MEMBER)
    assert found is not None
    await add_staff(
        ctx, channel="telegram", external_id=str(USER), role="clerk", store="main", locale="en"
    )
    pushes = dispatcher(ctx, clock, process.pushes)

    opened = (await member.text(MEMBER, ASK)).content
    assert zh("Your message was passed on to them.") in opened
    assert zh("To end the chat, send \u201cend chat\u201d or tap the button.") in opened
    sent = (await member.text(MEMBER, QUESTION)).content
    assert sent.startswith(zh("Sent to our staff."))

    seen = len(fake_telegram.calls)
    await pushes.drain()
    told = texts(fake_telegram.calls[seen:])
    assert told.count("李雷") == 2  # one push per message, each naming the member
    assert ASK in told and QUESTION in told
    await clerk.press("Answer")
    shown = texts(await clerk.say(ANSWER))
    assert shown == hinted("en", f"Send this to 李雷?\n\n{ANSWER}")
    assert fake_wechat.calls_to(CUSTOM_SEND) == []  # nothing goes before the clerk confirms
    done = texts(await clerk.press("Send"))
    assert done == "Your answer was sent to 李雷."

    await pushes.drain()
    (delivered,) = [c.json for c in fake_wechat.calls_to(CUSTOM_SEND) if c.json["touser"] == MEMBER]
    assert ANSWER in delivered["text"]["content"]
    assert zh("Message from our staff:\n{answer}", answer=ANSWER) in delivered["text"]["content"]

    assert (await member.text(MEMBER, THANKS)).content.startswith(zh("Sent to our staff."))
    seen = len(fake_telegram.calls)
    await pushes.drain()
    assert THANKS in texts(fake_telegram.calls[seen:])
    ended = (await member.text(MEMBER, "结束")).content
    assert ended.startswith(zh("The chat with our staff has ended. Thank you!"))

    async with ctx.db.read() as s:
        chat = (await s.scalars(select(HandoffRow).where(HandoffRow.member_id == found.id))).one()
        words = await s.scalars(
            select(HandoffMessageRow.text)
            .where(HandoffMessageRow.handoff_id == chat.id)
            .order_by(HandoffMessageRow.id)
        )
        assert list(words) == [ASK, QUESTION, ANSWER, THANKS]
    assert chat.status == handoff.CLOSED


async def test_a_telegram_member_is_told_when_a_wechat_clerk_closes_the_chat(
    ctx: Context,
    clock: FixedClock,
    process: Process,
    member: WeChatSimulator,
    fake_telegram: FakeTelegram,
    fake_wechat: FakeWeChat,
    session: ClientSession,
    server: TestServer,
) -> None:
    telegram = Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "en")
    await register_on_telegram(telegram)
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")
    quiet = await member.text("o-clerk", "/handoff")  # WeChat lets us write to who wrote lately
    assert quiet.content == zh("No member is waiting to chat with staff.")
    pushes = dispatcher(ctx, clock, process.pushes)

    opened = texts(await telegram.say("talk to a human, my points are wrong"))
    assert "Your message was passed on to them." in opened
    await pushes.drain()
    (pushed,) = [c.json for c in fake_wechat.calls_to(CUSTOM_SEND) if c.json["touser"] == "o-clerk"]
    content = pushed["text"]["content"]
    assert "talk to a human, my points are wrong" in content
    close = zh("Close chat")
    closed = await member.text("o-clerk", close, bizmsgmenuid=links(content)[close])
    assert closed.content.startswith(zh("The chat with {member} is closed.", member="Lily"))

    seen = len(fake_telegram.calls)
    await pushes.drain()
    told = fake_telegram.calls[seen:]
    assert [c.params["chat_id"] for c in told] == [USER]
    markup = told[0].params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in markup] == ["Talk to a person"]
    later = texts(await telegram.say("hello?"))
    assert later.startswith("Our staff have closed this chat, so your message was not sent.")


async def register_on_telegram(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Agree")
    await chat.say("Lily")
    await chat.say("13600135555")
    await chat.press("Skip")
    await chat.press("Confirm")
