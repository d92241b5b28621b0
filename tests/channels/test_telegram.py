"""The Telegram channel over real HTTP on loopback: updates posted to the webhook as
Telegram does, aiogram's real client answering through a fake Bot API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.composition import compose
from bot.dialogs.engine.dialogs import Dialogs, Flow, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.member.coupons import format_coupon_code
from bot.handlers.telegram import SECRET_HEADER, TelegramChannel, Webhook, create_bot
from bot.i18n import LOCALES, gettext
from bot.settings import Settings
from bot.web import create_app
from core import loyalty
from core.context import Context
from core.ledger import adjustments, statement
from core.ledger.coupons import member_coupons
from core.people.members import create_link_code, member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from core.service import bookings
from storage.models import IdentityRow
from tests.channels.fake_telegram import Call, FakeTelegram
from tests.conftest import START
from tests.dialogs.conftest import hinted

SECRET = "webhook-secret_1"
USER = 4242


class Chat:
    """One Telegram user talking to the bot through the webhook."""

    def __init__(
        self, fake: FakeTelegram, session: ClientSession, url: str, user: int, lang: str
    ) -> None:
        self.fake, self.session, self.url, self.user = fake, session, url, user
        self.lang = "zh-hans" if lang == "zh_CN" else "en"

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self.session.post(self.url, json=update, headers=headers) as response:
            return response.status

    async def _exchange(self, update: dict[str, Any]) -> list[Call]:
        seen = len(self.fake.calls)
        assert await self.post(update) == 200
        return self.fake.calls[seen:]

    async def say(self, text: str) -> list[Call]:
        update = self.fake.message_update(self.user, text, language_code=self.lang)
        return await self._exchange(update)

    async def share_contact(self, phone: str, owner: int | None = None) -> list[Call]:
        owner = self.user if owner is None else owner
        return await self._exchange(
            self.fake.contact_update(self.user, phone, contact_user_id=owner)
        )

    async def press(self, label: str) -> list[Call]:
        """Tap the newest button with this label, on the message that shows it."""
        return await self._exchange(self.tap(label))

    def tap(self, label: str) -> dict[str, Any]:
        """The update of a tap on the newest button with this label."""
        for call in reversed(self.fake.calls):
            markup = call.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return self.fake.callback_update(
                            self.user,
                            button["callback_data"],
                            message_id=call.answer["result"]["message_id"],
                            language_code=self.lang,
                        )
        raise AssertionError(f"no button {label!r}")


def texts(calls: list[Call]) -> str:
    return "\n".join(
        str(c.params.get("text") or c.params.get("caption") or "")
        for c in calls
        if c.method in ("sendMessage", "editMessageText", "sendPhoto")
    )


def methods(calls: list[Call]) -> list[str]:
    return [c.method for c in calls]


def telegram_settings(fake: FakeTelegram) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_token=fake.token,
        telegram_webhook_secret=SECRET,
        telegram_api_base=fake.base_url,
    )


@pytest.fixture
async def server(ctx: Context, fake_telegram: FakeTelegram) -> AsyncIterator[TestServer]:
    async with TestServer(
        create_app(compose(ctx, telegram_settings(fake_telegram)))
    ) as test_server:
        yield test_server


@pytest.fixture
def chat(fake_telegram: FakeTelegram, session: ClientSession, server: TestServer) -> Chat:
    return Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, "en")


async def count_identities(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(IdentityRow)) or 0)


@pytest.mark.parametrize("lang", LOCALES)
async def test_conversation_start_register_points_redeem(
    ctx: Context,
    fake_telegram: FakeTelegram,
    session: ClientSession,
    server: TestServer,
    lang: str,
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    chat = Chat(fake_telegram, session, str(server.make_url("/telegram")), USER, lang)
    welcome = await chat.say("/start")
    assert t("Do you agree?") in texts(welcome)
    agreed = await chat.press(t("Agree"))
    assert methods(agreed) == ["answerCallbackQuery", "sendMessage"]
    assert texts(agreed) == hinted(lang, t("What is your name?"))
    ask_phone = await chat.say("Lee")
    (keyboard,) = [c.params["reply_markup"] for c in ask_phone]
    assert keyboard["keyboard"] == [[{"text": t("Share my phone"), "request_contact": True}]]
    ask_birthday = await chat.share_contact("+8613800138000")
    assert t("Skip") in str(ask_birthday[0].params["reply_markup"])
    summary = await chat.press(t("Skip"))
    assert t("Mobile: {phone}", phone="+8613800138000") in texts(summary)
    joined = await chat.press(t("Confirm"))
    assert methods(joined) == ["answerCallbackQuery", "editMessageText"]  # the menu in place
    member = await member_for_identity(ctx, "telegram", str(USER))
    assert member is not None and member.locale == lang and member.phone == "+8613800138000"

    await loyalty.record_sale(
        ctx, store="main", receipt_no="T-1", member_id=member.id, amount_fen=150_000
    )
    points = await chat.press(t("My points"))
    assert t("Points: {balance}", balance=150) in texts(points)
    catalogue = await chat.say("/rewards")
    first_reward = catalogue[0].params["reply_markup"]["inline_keyboard"][0][0]["text"]
    confirm = await chat.press(first_reward)
    assert t("Points left afterwards: {balance}", balance=50) in texts(confirm)
    done = await chat.press(t("Confirm"))
    (coupon,) = await member_coupons(ctx, member.id)
    assert coupon.code[:5] in texts(done)
    assert all(c.params.get("parse_mode") in (None, "HTML") for c in fake_telegram.calls)
    answered = fake_telegram.calls_to("answerCallbackQuery")
    assert len(answered) == 6 and all(c.status == 200 for c in answered)  # every tap, once


async def test_same_update_twice_is_processed_once(chat: Chat, fake_telegram: FakeTelegram) -> None:
    update = fake_telegram.message_update(USER, "/start")
    assert await chat.post(update) == 200
    assert await chat.post(update) == 200
    assert len(fake_telegram.calls_to("sendMessage")) == 1


async def test_a_redelivered_confirm_redeems_once(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    member = await register_member(
        ctx, name="Lee", phone="13900000077", locale="en", channel="telegram", external_id=str(USER)
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="T-9", member_id=member.id, amount_fen=150_000
    )
    (menu,) = [c for c in await chat.say("/rewards") if "reply_markup" in c.params]
    await chat.press(menu.params["reply_markup"]["inline_keyboard"][0][0]["text"])
    confirm = chat.tap(gettext("en", "Confirm"))
    seen = len(fake_telegram.calls)
    statuses = await asyncio.gather(*(chat.post(confirm) for _ in range(3)))
    statuses.append(await chat.post(confirm))  # and once more, after the first was answered
    # One processes it; one arriving meanwhile is asked again later (503), one after is
    # skipped (200).
    assert 200 in statuses[:3] and set(statuses) <= {200, 503} and statuses[3] == 200
    assert len(await member_coupons(ctx, member.id)) == 1
    calls = fake_telegram.calls[seen:]
    assert methods(calls) == ["answerCallbackQuery", "editMessageText"]  # one processing


async def test_a_second_tap_on_confirm_shows_the_coupon_code_again(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    """Seen: the second tap on Confirm edited the coupon code away into the menu. The
    second tap (its own update, sent before the first one's edit reached the phone) now
    shows the same result, the code, again."""
    member = await register_member(
        ctx, name="Lee", phone="13900000078", locale="en", channel="telegram", external_id=str(USER)
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="T-10", member_id=member.id, amount_fen=150_000
    )
    (menu,) = [c for c in await chat.say("/rewards") if "reply_markup" in c.params]
    await chat.press(menu.params["reply_markup"]["inline_keyboard"][0][0]["text"])
    first, second = chat.tap(gettext("en", "Confirm")), chat.tap(gettext("en", "Confirm"))
    assert await chat.post(first) == 200
    assert await chat.post(second) == 200
    (coupon,) = await member_coupons(ctx, member.id)
    shown = fake_telegram.message(USER, second["callback_query"]["message"]["message_id"])
    assert shown is not None and format_coupon_code(coupon.code) in shown["text"]


async def test_someone_elses_contact_is_refused(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    await chat.say("/start")
    await chat.press("Agree")
    await chat.say("Lee")
    refused = await chat.share_contact("+8613900139000", owner=USER + 1)
    assert texts(refused) == gettext(
        "en", "Please share your own phone number with the button, or type it."
    )
    assert await member_for_identity(ctx, "telegram", str(USER)) is None
    asked_again = await chat.share_contact("+8613900139000")  # the own one still works
    assert gettext("en", "Skip") in str(asked_again[0].params["reply_markup"])


@pytest.mark.parametrize("secret", [None, "wrong"], ids=["missing", "wrong"])
async def test_webhook_without_the_secret_is_refused(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram, secret: str | None
) -> None:
    status = await chat.post(fake_telegram.message_update(USER, "/start"), secret=secret)
    assert status == 403
    assert fake_telegram.calls_to("sendMessage") == []
    assert await count_identities(ctx) == 0


async def test_malformed_update_is_a_400(chat: Chat, fake_telegram: FakeTelegram) -> None:
    assert await chat.post({"update_id": "not a number", "message": 7}) == 400
    assert fake_telegram.calls_to("sendMessage") == []


async def test_payload_longer_than_64_bytes_round_trips(
    ctx: Context, fake_telegram: FakeTelegram, session: ClientSession
) -> None:
    long_value = "长" * 40  # 120 bytes of UTF-8
    received: list[str] = []

    async def offer(turn: Turn) -> Step:
        button = Payload("long", "pick", long_value).button("Pick")
        return Step([Reply("Choose", buttons([button]))], next="pick")

    async def pick(turn: Turn) -> Step:
        assert turn.payload is not None
        received.append(turn.payload.value)
        return Step([Reply("Picked")])

    flow = Flow(name="long", start=offer, steps={"pick": pick}, needs_member=False)
    dialogs = Dialogs(ctx, [flow], registration="long", help="long")
    channel = TelegramChannel(ctx, dialogs, create_bot(fake_telegram.token, fake_telegram.base_url))
    app = web.Application()
    app.router.add_post("/telegram", Webhook(channel, SECRET).receive)
    try:
        async with TestServer(app) as test_server:
            chat = Chat(fake_telegram, session, str(test_server.make_url("/telegram")), USER, "en")
            offered = await chat.say("hello")
            data = offered[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            assert len(data.encode()) <= 64
            await chat.press("Pick")
    finally:
        await channel.close()
    assert received == [long_value]


async def test_member_linked_from_wechat_sees_the_same_balance(ctx: Context, chat: Chat) -> None:
    member = await register_member(
        ctx,
        name="韩梅梅",
        phone="13700137000",
        locale="en",
        channel="wechat",
        external_id="o-hmm",
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="L-1", member_id=member.id, amount_fen=80_000
    )
    code = await create_link_code(ctx, member.id)
    linked = await chat.say(f"/start link-{code.code}")
    assert member.member_no in texts(linked)
    points = await chat.say("/points")
    assert gettext("en", "Points: {balance}", balance=80) in texts(points)
    found = await member_for_identity(ctx, "telegram", str(USER))
    assert found is not None and found.id == member.id


async def test_names_are_escaped_for_html(ctx: Context, chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Agree")
    asked = await chat.say("<b>*_")
    assert asked[0].params["text"].startswith("Thank you, &lt;b&gt;*_.")
    assert asked[0].params["parse_mode"] == "HTML"


async def test_blocked_bot_marks_the_account_unreachable(
    ctx: Context, chat: Chat, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.block(USER)
    assert await chat.post(fake_telegram.message_update(USER, "/start")) == 200
    async with ctx.db.read() as s:
        identity = await s.scalar(select(IdentityRow))
    assert identity is not None and identity.reachable is False

    fake_telegram.unblock(USER)
    await chat.say("hello")  # writing again makes it reachable
    await chat.post(fake_telegram.my_chat_member_update(USER, "kicked"))
    async with ctx.db.read() as s:
        identity = await s.scalar(select(IdentityRow))
    assert identity is not None and identity.reachable is False


async def test_group_chats_get_one_notice(chat: Chat, fake_telegram: FakeTelegram) -> None:
    for text in ("/start", "/points", "hello"):
        update = fake_telegram.message_update(USER, text, chat_type="group", chat_id=-100500)
        assert await chat.post(update) == 200
    (notice,) = fake_telegram.calls_to("sendMessage")
    assert notice.params["chat_id"] == -100500
    assert notice.params["text"] == gettext(
        "en", "I only chat in private: please write to me directly."
    )


async def test_command_menu_is_set_in_both_languages(
    server: TestServer, fake_telegram: FakeTelegram
) -> None:
    calls = await fake_telegram.wait_for_calls("setMyCommands", count=3)
    by_language = {c.params.get("language_code"): c.params["commands"] for c in calls}
    assert set(by_language) == {None, "zh", "en"}
    assert by_language["en"][1] == {"command": "points", "description": "My points and tier"}
    assert by_language["zh"][1]["description"] == gettext("zh_CN", "My points and tier")


async def test_clerk_records_a_sale_and_undoes_it_from_telegram(ctx: Context, chat: Chat) -> None:
    member = await register_member(ctx, name="Lily", phone="13600136000", locale="en")
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="clerk", store="main")
    done = await chat.say("/sale 13600136000 88.80")
    assert "Recorded" in texts(done) and "Lily (M000001" in texts(done)
    assert (await statement.points_summary(ctx, member.id)).balance == 0  # under ¥100: no points
    undone = await chat.press("Undo (within 5 min)")
    assert methods(undone) == ["answerCallbackQuery", "sendMessage"]
    assert texts(undone).startswith("Undone:")


async def test_a_reply_too_long_for_one_message_arrives_in_several(
    ctx: Context, chat: Chat
) -> None:
    """60 bookings of members with long names: today's list is over Telegram's 4 096
    characters, which it refuses in one message; it arrives whole, in parts cut between
    lines, the mark buttons under the last."""
    await add_staff(ctx, channel="telegram", external_id=str(USER), role="manager", store="main")
    names = []
    for n in range(60):
        names.append(f"{'很长的名字' * 9}{n:02d}")
        member = await register_member(ctx, name=names[-1], phone=f"1380000{n:04d}")
        slot = START + timedelta(minutes=30 * (1 + n // 4))  # 10:30 on, four to a slot
        await bookings.book(ctx, member.id, "main", slot, 1)

    calls = await chat.say("/bookings main")

    sent = [c for c in calls if c.method == "sendMessage"]
    assert len(sent) >= 2
    assert all(c.status == 200 for c in sent)
    text = texts(sent)
    assert all(name in text for name in names)
    assert all("reply_markup" not in c.params for c in sent[:-1])


async def test_a_command_with_the_bot_name_is_the_command(ctx: Context, chat: Chat) -> None:
    member = await register_member(
        ctx,
        name="Lily",
        phone="13600136001",
        locale="en",
        channel="telegram",
        external_id=str(USER),
    )
    await adjustments.adjust_points(ctx, member.id, 42, "welcome", actor="staff:1")
    assert "Points: 42" in texts(await chat.say("/points@memberbot_test_bot"))
    assert texts(await chat.say("/points@memberbot_test_bot")) == texts(await chat.say("/points"))


async def test_where_is_the_shop_sends_a_map_pin(ctx: Context, chat: Chat) -> None:
    await chat.say("where is the shop")  # anyone may ask, member or not
    sent = await chat.press("Flagship store")
    assert methods(sent)[-2:] == ["editMessageText", "sendLocation"]  # the choice, answered
    assert "100 Nanjing Road East" in texts(sent)
    pin = sent[-1]
    assert (pin.params["latitude"], pin.params["longitude"]) == (31.2381, 121.4812)
    assert pin.answer["result"]["location"] == {"latitude": 31.2381, "longitude": 121.4812}
