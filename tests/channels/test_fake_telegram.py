"""The fake Telegram server against aiogram's real client: if aiogram can talk to it, the
adapter's tests exercise the same requests and parsing that production does."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import segno
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BufferedInputFile,
    ChatMemberBanned,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web

from core.clock import FixedClock
from tests.channels.fake_telegram import SECRET_HEADER, FakeTelegram

USER = 700_001


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    api = TelegramAPIServer.from_base(fake_telegram.base_url)
    client = Bot(fake_telegram.token, session=AiohttpSession(api=api))
    yield client
    await client.session.close()


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=item.title(), callback_data=item) for item in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def test_get_me_answers_the_bot_named_by_the_token(fake_telegram: FakeTelegram, bot: Bot):
    me = await bot.get_me()

    assert me.id == fake_telegram.bot_id == 123456789
    assert me.is_bot
    assert me.username == "memberbot_test_bot"


async def test_a_message_with_a_keyboard_is_recorded_decoded(fake_telegram: FakeTelegram, bot: Bot):
    first = await bot.send_message(USER, "Pick one", reply_markup=keyboard("yes", "no"))
    second = await bot.send_message(USER, "123")

    call = fake_telegram.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == USER
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    assert fake_telegram.calls_to("sendMessage")[1].params["text"] == "123"  # stays text
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.from_user is not None and first.from_user.id == fake_telegram.bot_id
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard("yes", "no").model_dump()
    assert second.reply_markup is None


async def test_a_photo_upload_is_recorded_as_bytes(fake_telegram: FakeTelegram, bot: Bot):
    png = io.BytesIO()
    segno.make("https://example.test/card/42").save(png, kind="png", scale=10)

    sent = await bot.send_photo(
        USER, BufferedInputFile(png.getvalue(), filename="card.png"), caption="Your card"
    )

    call = fake_telegram.calls_to("sendPhoto")[0]
    assert call.files["photo"] == png.getvalue()
    assert call.filenames["photo"] == "card.png"
    assert sent.caption == "Your card"
    assert sent.photo is not None
    largest = sent.photo[-1]
    assert largest.width == largest.height > 90
    assert largest.file_id != sent.photo[0].file_id


async def test_a_blocked_chat_refuses_sends_and_edits(fake_telegram: FakeTelegram, bot: Bot):
    sent = await bot.send_message(USER, "Welcome", reply_markup=keyboard("go"))
    fake_telegram.block(USER)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "Still there?")
    with pytest.raises(TelegramForbiddenError):
        await bot.edit_message_text("Gone", chat_id=USER, message_id=sent.message_id)

    assert [call.status for call in fake_telegram.calls_to("sendMessage")] == [200, 403]
    assert await bot.send_message(USER + 1, "Others still get messages")


async def test_an_unknown_chat_is_a_bad_request(fake_telegram: FakeTelegram, bot: Bot):
    fake_telegram.unknown_chat(USER)

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "Hello")


async def test_flood_control_fails_the_next_call_once(fake_telegram: FakeTelegram, bot: Bot):
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(USER, "Hello")
    assert raised.value.retry_after == 3
    assert await bot.send_message(USER, "Hello again")


async def test_a_long_poll_returns_an_update_pushed_while_it_waits(
    fake_telegram: FakeTelegram, bot: Bot
):
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake_telegram.wait_for_calls("getUpdates")
    assert not poll.done()
    pushed = await fake_telegram.push_update(fake_telegram.message_update(USER, "/start"))

    updates = await poll

    assert [update.update_id for update in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.from_user is not None and message.from_user.language_code == "en"
    # The next poll's offset confirms it, so it comes back empty at once.
    assert await bot.get_updates(offset=updates[0].update_id + 1) == []


async def test_a_button_press_parses_and_its_message_can_be_edited(
    fake_telegram: FakeTelegram, bot: Bot
):
    sent = await bot.send_message(USER, "Pick one", reply_markup=keyboard("yes", "no"))
    raw = fake_telegram.callback_update(USER, "yes", message_id=sent.message_id)

    update = Update.model_validate(raw, context={"bot": bot})

    query = update.callback_query
    assert query is not None and query.data == "yes"
    assert isinstance(query.message, Message)
    assert query.message.chat.id == USER
    assert query.message.reply_markup is not None  # the message as sent, keyboard and all
    assert query.message.reply_markup.model_dump() == keyboard("yes", "no").model_dump()
    assert await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)  # Telegram takes one answer
    edited = await bot.edit_message_text("You said yes", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("You said yes", chat_id=USER, message_id=sent.message_id)


async def test_contact_and_chat_member_updates_parse(fake_telegram: FakeTelegram, bot: Bot):
    contact = Update.model_validate(
        fake_telegram.contact_update(USER, "+8613800000000", contact_user_id=USER)
    )
    blocked = Update.model_validate(fake_telegram.my_chat_member_update(USER, "kicked"))

    assert contact.message is not None and contact.message.contact is not None
    assert contact.message.contact.user_id == USER
    assert contact.update_id < blocked.update_id
    assert blocked.my_chat_member is not None
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)


async def test_webhook_settings_are_kept_and_block_polling(fake_telegram: FakeTelegram, bot: Bot):
    url = "https://bot.example.test/telegram/webhook"
    assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])

    info = await bot.get_webhook_info()
    assert (info.url, fake_telegram.webhook_secret) == (url, "s3cret")
    assert info.allowed_updates == ["message"]
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_an_unknown_method_is_not_found(fake_telegram: FakeTelegram):
    url = f"{fake_telegram.base_url}/bot{fake_telegram.token}/sendTelepathy"
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_closing_the_fake_ends_a_waiting_long_poll(clock: FixedClock):
    """Teardown must not wait out a bot's long poll."""
    async with FakeTelegram(clock) as fake:
        api = TelegramAPIServer.from_base(fake.base_url)
        client = Bot(fake.token, session=AiohttpSession(api=api))
        poll = asyncio.create_task(client.get_updates(timeout=60))
        await fake.wait_for_calls("getUpdates")
    try:
        async with asyncio.timeout(5):
            assert await poll == []
    finally:
        await client.session.close()


async def test_deliver_posts_an_update_with_the_secret_token(fake_telegram: FakeTelegram):
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake_telegram.webhook_secret = "s3cret"
    update = fake_telegram.message_update(USER, "hi")
    try:
        assert await fake_telegram.deliver(update, url=f"http://{host}:{port}/hook") == 200
    finally:
        await runner.cleanup()

    assert received == [("s3cret", update)]
