"""Replies under Telegram's flood control, over real HTTP: a 429 is waited out as asked
within ``reply_wait_seconds``; beyond that the reply goes through the outbox and still
arrives, with its buttons; nothing is lost without a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.dialogs.registry import create_dialogs
from bot.handlers.telegram import TelegramChannel, TelegramPushes, Webhook
from core.clock import FixedClock
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from core.pushes import work_queue
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.pushing import dispatcher, outbox, virtual_sleep
from tests.channels.test_telegram import SECRET, USER, Chat, create_bot, texts

UNDO = "Undo (within 5 min)"


@pytest.fixture
async def channel(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram
) -> AsyncIterator[TelegramChannel]:
    """The bot whose replies wait on the test's clock."""
    bot = create_bot(fake_telegram.token, fake_telegram.base_url)
    telegram = TelegramChannel(ctx, create_dialogs(ctx), bot, sleep=virtual_sleep(clock))
    yield telegram
    await telegram.close()


@pytest.fixture
async def chat(
    channel: TelegramChannel, fake_telegram: FakeTelegram, session: ClientSession
) -> AsyncIterator[Chat]:
    app = web.Application()
    app.router.add_post("/telegram", Webhook(channel, SECRET).receive)
    async with TestServer(app) as server:
        yield Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "en")


async def clerk_and_members(ctx: Context, count: int) -> None:
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="clerk", store="main")
    for n in range(count):
        await register_member(ctx, name=f"Lily {n}", phone=f"1360013{n:04d}", locale="en")


async def test_a_reply_waits_out_a_short_flood_control_and_arrives(
    ctx: Context, clock: FixedClock, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    """Telegram answered 429 (retry after 3 s) to the sale's confirmation: the sale was
    recorded and its confirmation never sent."""
    await clerk_and_members(ctx, 1)
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)
    start = clock.now()

    calls = await chat.say("/sale 13600130000 88.80")

    first, second = [c for c in calls if c.method == "sendMessage"]
    assert (first.status, second.status) == (429, 200)
    assert "Recorded" in texts([second])
    assert second.at is not None and first.at is not None
    assert second.at - first.at >= timedelta(seconds=3)  # waited as asked, no sooner
    assert clock.now() - start == timedelta(seconds=3)
    assert await outbox(ctx, "reply") == []  # nothing left for later


async def test_a_reply_held_longer_than_a_member_should_wait_goes_as_a_push(
    ctx: Context,
    clock: FixedClock,
    channel: TelegramChannel,
    chat: Chat,
    fake_telegram: FakeTelegram,
) -> None:
    """Ten sales, two of whose confirmations Telegram holds back for 40 s: all ten arrive,
    each with its Undo button, the two held ones through the outbox once the wait is over."""
    await clerk_and_members(ctx, 10)
    for n in range(10):
        if n in (3, 7):
            fake_telegram.fail_next("sendMessage", 429, retry_after=40)
        calls = await chat.say(f"/sale 1360013{n:04d} {10 + n}.00")
        delivered = texts([c for c in calls if c.status == 200])
        assert ("Recorded" in delivered) is (n not in (3, 7))
    start = clock.now()

    held = await outbox(ctx, "reply")
    assert [(row.status, row.next_attempt_at - start) for row in held] == [
        ("pending", timedelta(seconds=40))
    ] * 2
    assert {row.last_error for row in held} == {"telegram: retry after 40 s"}  # `memberbot outbox`
    summary = await work_queue.summary(ctx)
    assert summary.counts[("reply", "pending")] == 2

    await dispatcher(ctx, clock, {"telegram": TelegramPushes(channel)}).drain()

    confirmations = [
        c
        for c in fake_telegram.calls_to("sendMessage")
        if c.status == 200 and "Recorded" in str(c.params.get("text"))
    ]
    assert len(confirmations) == 10
    for n in range(10):
        (mine,) = [c for c in confirmations if f"Lily {n} (" in c.params["text"]]
        labels = [b["text"] for row in mine.params["reply_markup"]["inline_keyboard"] for b in row]
        assert UNDO in labels
    late = confirmations[-2:]
    assert all(c.at is not None and c.at >= start + timedelta(seconds=40) for c in late)
    sent = await outbox(ctx, "reply")
    assert [(row.status, row.params) for row in sent] == [("sent", {})] * 2  # words not kept

    undone = await chat.press(UNDO)  # the button of a reply that went late works
    assert texts(undone).startswith("Undone:")
