"""The WeChat endpoint over real HTTP on loopback: signed and encrypted as WeChat does it,
with customer-service messages and media going to a fake WeChat API server."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, text

from bot.composition import compose
from bot.dialogs.engine.dialogs import Dialogs, Flow, Turn
from bot.dialogs.engine.types import Reply, Step
from bot.handlers.wechat import WeChatEndpoint
from bot.i18n import gettext
from bot.web import create_app
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.ledger import statement
from core.ledger.coupons import member_coupons
from core.people.members import member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from core.service import bookings
from storage.db import Database
from storage.models import CheckinRow, CouponRow, DeliveryRow, IdentityRow
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.wechat_sim import (
    AES_KEY,
    APP_ID,
    TOKEN,
    WeChatSimulator,
    choices,
    signature,
    wechat_settings,
)
from tests.conftest import START
from tests.dialogs.conftest import hinted
from tests.factories import count

CUSTOM_SEND = "/cgi-bin/message/custom/send"
PHONES = itertools.count(1)


def zh(message: str, **params: object) -> str:
    return gettext("zh_CN", message, **params)


async def register(wechat: WeChatSimulator, openid: str, scene: str = "") -> None:
    """Follow the account (through a QR code's ``scene``) and register with name and phone,
    tapping the menu links."""
    welcome = await wechat.event(openid, "subscribe", key=scene and f"qrscene_{scene}")
    assert zh("Do you agree?") in welcome.content
    await wechat.tap(openid, welcome, zh("Agree"))
    await wechat.text(openid, "李雷")
    ask_birthday = await wechat.text(openid, f"139{next(PHONES):08d}")
    summary = await wechat.text(openid, str(choices(ask_birthday.content)[zh("Skip")]))
    await wechat.text(openid, str(choices(summary.content)[zh("Confirm")]))


async def test_official_sample_message_decrypts_and_our_reply_verifies(
    ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, session: ClientSession
) -> None:
    # WeChat's published sample (WXBizMsgCrypt demo): token, key, app id and ciphertext.
    token, key, app_id = (
        "spamtest",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        ("wx2c2769f8efd9abc2"),
    )
    encrypted = (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
        "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T33"
        "2jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCg"
        "avjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oewp"
        "usjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    )
    timestamp, nonce = "1409735669", "1320562132"
    clock.set(datetime.fromtimestamp(int(timestamp), UTC))  # the sample's own moment
    settings = wechat_settings(
        fake_wechat, wechat_token=token, wechat_encoding_aes_key=key, wechat_app_id=app_id
    )
    async with TestServer(create_app(compose(ctx, settings))) as test_server:
        url = str(test_server.make_url("/wechat"))
        sim = WeChatSimulator(
            session, url, clock=ctx.clock, aes_key=key, token=token, app_id=app_id
        )
        body = f"<xml><ToUserName>gh_10f6c3c3ac5a</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
        query = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": signature(token, timestamp, nonce),
            "encrypt_type": "aes",
            "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
        }
        headers = {"Content-Type": "text/xml"}
        async with session.post(sim.url, params=query, data=body, headers=headers) as response:
            assert response.status == 200
            sealed = await response.text()
    # The documented plaintext: text "abcdteT" from oyORnuP8q7ou2gfYjqLzSIWZf0rs.
    reply = sim._open(sealed, query, 200)
    assert reply is not None
    assert reply["ToUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert reply["FromUserName"] == "gh_10f6c3c3ac5a"
    assert zh("Do you agree?") in reply["Content"]
    async with ctx.db.read() as s:
        (who,) = await s.scalars(select(IdentityRow.external_id))
    assert who == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


async def test_url_verification_echoes_only_when_signed(
    wechat: WeChatSimulator, session: ClientSession
) -> None:
    query = {"timestamp": "1700000000", "nonce": "n1", "echostr": "echo-4711"}
    signed = query | {"signature": signature(TOKEN, "1700000000", "n1")}
    async with session.get(wechat.url, params=signed) as response:
        assert (response.status, await response.text()) == (200, "echo-4711")
    async with session.get(wechat.url, params=query | {"signature": "0" * 40}) as response:
        assert response.status == 403


@pytest.mark.parametrize("safe", [True, False], ids=["safe mode", "plaintext"])
async def test_conversation_subscribe_register_points_redeem(
    ctx: Context, wechat_server: TestServer, session: ClientSession, safe: bool
) -> None:
    url = str(wechat_server.make_url("/wechat"))
    wechat = WeChatSimulator(session, url, clock=ctx.clock, safe=safe)
    welcome = await wechat.event("o-lilei", "subscribe")
    assert zh("Do you agree?") in welcome.content
    assert welcome.message is not None and welcome.message["ToUserName"] == "o-lilei"
    ask_name = await wechat.tap("o-lilei", welcome, zh("Agree"))
    assert ask_name.content == hinted("zh_CN", zh("What is your name?"))
    await wechat.text("o-lilei", "李雷")
    ask_birthday = await wechat.text("o-lilei", "138 0013 8000")
    summary = await wechat.text("o-lilei", str(choices(ask_birthday.content)[zh("Skip")]))
    assert zh("Name: {name}", name="李雷") in summary.content
    joined = await wechat.text("o-lilei", zh("Confirm"))  # a label typed works like a tap
    member = await member_for_identity(ctx, "wechat", "o-lilei")
    assert member is not None and member.locale == "zh_CN"
    assert member.member_no in joined.content

    await loyalty.record_sale(
        ctx, store="main", receipt_no="W-1", member_id=member.id, amount_fen=150_000
    )
    points = await wechat.text("o-lilei", "积分")
    assert zh("Points: {balance}", balance=150) in points.content

    catalogue = await wechat.text("o-lilei", "兑换")
    (first, *_) = choices(catalogue.content).values()
    confirm = await wechat.text("o-lilei", str(first))
    done = await wechat.text("o-lilei", str(choices(confirm.content)[zh("Confirm")]))
    (coupon,) = await member_coupons(ctx, member.id)
    assert coupon.code[:5] in done.content
    assert (await statement.points_summary(ctx, member.id)).balance == 50


async def test_same_msgid_three_times_redeems_once_with_identical_replies(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    await register(wechat, "o-twice")
    member = await member_for_identity(ctx, "wechat", "o-twice")
    assert member is not None
    await loyalty.record_sale(
        ctx, store="main", receipt_no="W-2", member_id=member.id, amount_fen=100_000
    )
    catalogue = await wechat.text("o-twice", "兑换")
    confirm = await wechat.text("o-twice", str(next(iter(choices(catalogue.content).values()))))
    yes = wechat.text_xml("o-twice", str(choices(confirm.content)[zh("Confirm")]), msg_id=4242)
    together = await asyncio.gather(*(wechat.post(yes) for _ in range(3)))
    again = await wechat.post(yes)  # a retry after the first answer
    contents = {answer.content for answer in [*together, again]}
    assert len(contents) == 1
    assert zh("Done! Your coupon code: {code}", code="")[:4] in contents.pop()
    assert len(await member_coupons(ctx, member.id)) == 1
    assert await count(ctx, CouponRow) == 1


async def test_same_event_redelivered_is_processed_once(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    subscribe = wechat.xml("o-event", "event", Event="subscribe")
    first, second = await asyncio.gather(wechat.post(subscribe), wechat.post(subscribe))
    assert first.content == second.content
    async with ctx.db.read() as s:
        keys = list(await s.scalars(select(DeliveryRow.key)))
    sender = hashlib.sha256(b"o-event").hexdigest()[:16]  # a kept delivery names no one
    assert keys == [f"event:{sender}:{wechat.create_time}:subscribe"]


async def test_a_menu_click_delivered_again_checks_in_once(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """Events have no MsgId: sender and CreateTime key them. Processed twice, the second
    check-in would say "already checked in" — so equal replies show one processing."""
    await register(wechat, "o-click")
    click = wechat.xml("o-click", "event", Event="CLICK", EventKey="checkin")
    together = await asyncio.gather(*(wechat.post(click) for _ in range(3)))
    again = await wechat.post(click)  # a retry after the first answer
    contents = {answer.content for answer in [*together, again]}
    assert len(contents) == 1
    assert zh("Checked in! +{points} points.", points="").split("+")[0] in contents.pop()
    assert await count(ctx, CheckinRow) == 1
    fresh = await wechat.post(wechat.xml("o-click", "event", Event="CLICK", EventKey="checkin"))
    assert zh("You have already checked in today. Come back tomorrow!") in fresh.content


async def test_slow_dialog_answers_success_then_customer_service_message(
    ctx: Context, fake_wechat: FakeWeChat, session: ClientSession
) -> None:
    settings = wechat_settings(fake_wechat, wechat_reply_seconds=0.3)
    async with TestServer(create_app(compose(ctx, settings))) as test_server:
        wechat = WeChatSimulator(session, str(test_server.make_url("/wechat")), clock=ctx.clock)
        await wechat.event("o-slow", "subscribe")  # the chat account exists
        blocker = Database(ctx.db.url.render_as_string(hide_password=False))
        try:
            async with blocker.transaction() as s:
                # Another writer holds the database (SQLite) or the table the message is
                # claimed in (PostgreSQL): processing waits for it.
                if blocker.is_sqlite:
                    await s.execute(text("UPDATE channel_identities SET reachable = reachable"))
                else:
                    await s.execute(text("LOCK TABLE inbound_deliveries IN EXCLUSIVE MODE"))
                answer = await wechat.text("o-slow", "你好")
                assert (answer.status, answer.body) == (200, "success")
            (call,) = await fake_wechat.wait_for_calls(CUSTOM_SEND)
        finally:
            await blocker.dispose()
    assert call.json["touser"] == "o-slow"
    assert call.json["msgtype"] == "text"
    assert zh("Do you agree?") in call.json["text"]["content"]


async def test_member_card_image_is_uploaded_and_sent_after_the_text(
    ctx: Context, wechat: WeChatSimulator, fake_wechat: FakeWeChat
) -> None:
    await register(wechat, "o-card")
    answer = await wechat.event("o-card", "CLICK", key="card")
    member = await member_for_identity(ctx, "wechat", "o-card")
    assert member is not None and member.member_no in answer.content
    (upload,) = await fake_wechat.wait_for_calls("/cgi-bin/media/upload")
    (sent,) = await fake_wechat.wait_for_calls(CUSTOM_SEND)
    assert upload.uploads[0].data.startswith(b"\x89PNG")
    assert sent.json == {
        "touser": "o-card",
        "msgtype": "image",
        "image": {"media_id": upload.answer["media_id"]},
    }


async def test_store_qr_code_makes_the_home_store(ctx: Context, wechat: WeChatSimulator) -> None:
    await register(wechat, "o-river", scene="store-riverside")
    member = await member_for_identity(ctx, "wechat", "o-river")
    assert member is not None and member.home_store == "riverside"

    await register(wechat, "o-main")
    await wechat.event("o-main", "SCAN", key="store-main")
    member = await member_for_identity(ctx, "wechat", "o-main")
    assert member is not None and member.home_store == "main"
    await wechat.event("o-main", "SCAN", key="store-riverside")  # the first store stays
    member = await member_for_identity(ctx, "wechat", "o-main")
    assert member is not None and member.home_store == "main"


async def test_unsubscribe_marks_the_account_unreachable(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    await wechat.event("o-gone", "subscribe")
    answer = await wechat.event("o-gone", "unsubscribe")
    assert answer.body == "success"
    async with ctx.db.read() as s:
        identity = await s.scalar(select(IdentityRow).where(IdentityRow.external_id == "o-gone"))
    assert identity is not None and identity.reachable is False
    await wechat.text("o-gone", "你好")  # writing again makes it reachable
    async with ctx.db.read() as s:
        identity = await s.scalar(select(IdentityRow).where(IdentityRow.external_id == "o-gone"))
    assert identity is not None and identity.reachable is True


async def test_menu_media_and_unknown_messages(ctx: Context, wechat: WeChatSimulator) -> None:
    await register(wechat, "o-menu")
    points = await wechat.event("o-menu", "CLICK", key="points")
    assert zh("Points: {balance}", balance=0) in points.content
    view = await wechat.event("o-menu", "VIEW", key="https://example.com/")
    assert view.body == "success"
    picture = await wechat.post(
        wechat.xml("o-menu", "image", PicUrl="http://x/1.jpg", MediaId="m", MsgId="77")
    )
    assert picture.content == zh("Sorry, I can only read text. Please type, or use the menu.")
    voice = await wechat.post(
        wechat.xml("o-menu", "voice", MediaId="v", Format="amr", Recognition="积分", MsgId="78")
    )
    assert zh("Points: {balance}", balance=0) in voice.content
    odd = await wechat.post(wechat.xml("o-menu", "hologram", MsgId="79"))
    assert (odd.status, odd.body) == (200, "success")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-evil</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("bad signature", 403),
        ("wrong AES key", 403),
        ("malformed XML", 400),
        ("billion laughs", 400),
        ("external entity", 400),
        ("body over 1 MB", 413),
        ("missing fields", 400),
    ],
)
async def test_hostile_requests_are_refused_and_nothing_is_stored(
    ctx: Context, wechat_server: TestServer, session: ClientSession, case: str, status: int
) -> None:
    url = str(wechat_server.make_url("/wechat"))
    wechat = WeChatSimulator(session, url, clock=ctx.clock, safe=False)
    message = wechat.text_xml("o-evil", "积分")
    if case == "bad signature":
        answer = await wechat.post(message, query={"signature": "0" * 40})
    elif case == "wrong AES key":
        other_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
        other = WeChatSimulator(session, url, clock=ctx.clock, aes_key=other_key)
        answer = await other.post(message)
    elif case == "malformed XML":
        answer = await wechat.post(message[:-9])
    elif case == "billion laughs":
        answer = await wechat.post(BILLION_LAUGHS)
    elif case == "external entity":
        answer = await wechat.post(EXTERNAL_ENTITY)
    elif case == "body over 1 MB":
        answer = await wechat.post(wechat.text_xml("o-evil", "积" * 400_000))
    else:
        answer = await wechat.post("<xml><ToUserName>gh</ToUserName></xml>")
    assert answer.status == status
    assert await count(ctx, IdentityRow) == 0
    assert await count(ctx, DeliveryRow) == 0
    # And the server keeps serving.
    assert zh("Do you agree?") in (await wechat.text("o-fine", "你好")).content


async def test_a_failed_message_is_answered_503_and_its_retry_processed(
    ctx: Context, session: ClientSession
) -> None:
    failures = [RuntimeError("database went away")]

    async def fragile(turn: Turn) -> Step:
        if failures:
            raise failures.pop()
        return Step([Reply("ok")])

    flows = [Flow(name="fragile", start=fragile, needs_member=False)]
    dialogs = Dialogs(ctx, flows, registration="fragile", help="fragile")
    endpoint = WeChatEndpoint(ctx, dialogs, None, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY)
    app = web.Application()
    app.router.add_post("/wechat", endpoint.receive)
    async with TestServer(app) as test_server:
        wechat = WeChatSimulator(session, str(test_server.make_url("/wechat")), clock=ctx.clock)
        message = wechat.text_xml("o-retry", "fragile", msg_id=777)
        first = await wechat.post(message)
        retry = await wechat.post(message)
    assert first.status == 503
    assert retry.content == "ok"


async def test_clerk_records_a_sale_from_wechat(ctx: Context, wechat: WeChatSimulator) -> None:
    await register(wechat, "o-member")
    member = await member_for_identity(ctx, "wechat", "o-member")
    assert member is not None and member.phone is not None
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")
    done = await wechat.text("o-clerk", f"/sale {member.phone} 300 WX-1")
    recorded = zh("Recorded {amount} for {member}.", amount="¥300.00", member="李雷 (M000001")
    assert recorded.split(" (")[0] in done.content and "记录消费 ¥300.00" in done.content
    assert (await statement.points_summary(ctx, member.id)).balance == 30
    refused = await wechat.text("o-member", "/sale 13800138000 300")
    assert refused.content == zh("Sorry, this is only for {needed}.", needed=zh("shop staff"))


async def test_a_reply_too_long_for_one_message_arrives_in_several(
    ctx: Context, wechat: WeChatSimulator, fake_wechat: FakeWeChat
) -> None:
    """Today's 30 bookings of members with long names pass WeChat's 2 048 bytes: the
    passive reply takes what fits, cut between lines, and the rest follows as
    customer-service messages, each within the limit."""
    await add_staff(ctx, channel="wechat", external_id="o-manager", role="manager", store="main")
    names = []
    for n in range(30):
        names.append(f"{'很长的名字' * 4}{n:02d}")
        member = await register_member(ctx, name=names[-1], phone=f"1380000{n:04d}")
        slot = START + timedelta(minutes=30 * (1 + n // 4))  # 10:30 on, four to a slot
        await bookings.book(ctx, member.id, "main", slot, 1)

    answer = await wechat.text("o-manager", "/bookings main")
    rest = await fake_wechat.wait_for_calls(CUSTOM_SEND)

    parts = [answer.content, *(call.json["text"]["content"] for call in rest)]
    assert len(parts) == 2  # about 2.9 kB: the passive reply and one message more
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert all(name in "\n".join(parts) for name in names)


async def test_a_link_of_an_older_message_does_what_it_says(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """The help menu's first link, tapped after the redemption's "1) 确认" was shown: it
    shows the points, as it says, and never confirms the redemption, which spent the
    points; a link with a bare number (forged, or from before links had keys) is no longer
    valid; the number typed still means the newest message's choice."""
    await register(wechat, "o-scroll")
    member = await member_for_identity(ctx, "wechat", "o-scroll")
    assert member is not None
    await loyalty.record_sale(
        ctx, store="main", receipt_no="W-S", member_id=member.id, amount_fen=150_000
    )
    menu = await wechat.text("o-scroll", "帮助")
    (label, number), *_ = choices(menu.content).items()
    catalogue = await wechat.text("o-scroll", "兑换")
    confirm = await wechat.text("o-scroll", str(next(iter(choices(catalogue.content).values()))))
    assert choices(confirm.content)[zh("Confirm")] == number  # the same number, newest

    old_tap = await wechat.tap("o-scroll", menu, label)
    bare_tap = await wechat.text("o-scroll", zh("Confirm"), bizmsgmenuid=str(number))

    assert label == zh("My points") and "150" in old_tap.content
    assert bare_tap.content == zh("This button is no longer valid; nothing more was done.")
    assert await member_coupons(ctx, member.id) == []
    assert (await statement.points_summary(ctx, member.id)).balance == 150


async def test_voice_recognised_with_a_full_stop_is_read_without_it(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    """WeChat's speech recognition writes "同意。": the consent is taken, the name has no "。"."""
    welcome = await wechat.event("o-voice", "subscribe")
    assert zh("Do you agree?") in welcome.content
    voice = {"MediaId": "m1", "Format": "amr", "MsgId": "9001"}
    ask_name = await wechat.post(wechat.xml("o-voice", "voice", Recognition="同意。", **voice))
    assert ask_name.content == hinted("zh_CN", zh("What is your name?"))
    named = await wechat.post(
        wechat.xml("o-voice", "voice", Recognition="李雷。", **voice | {"MsgId": "9002"})
    )
    assert named.content == hinted(
        "zh_CN",
        zh(
            "Thank you, {name}. What is your mobile number? (You can also share your contact.)",
            name="李雷",
        ),
    )


async def test_two_menu_clicks_in_one_second_are_two_events(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    await register(wechat, "o-clicks")
    points = wechat.xml("o-clicks", "event", Event="CLICK", EventKey="points")
    wechat.create_time -= 1  # the next one in the same second
    menu = wechat.xml("o-clicks", "event", Event="CLICK", EventKey="help")
    assert "<CreateTime>" + str(wechat.create_time) in points  # really the same second
    answers = [await wechat.post(xml) for xml in (points, menu)]
    assert zh("Points: {balance}", balance=0) in answers[0].content
    assert zh("Points: {balance}", balance=0) not in answers[1].content


async def test_a_file_gets_the_text_only_answer(ctx: Context, wechat: WeChatSimulator) -> None:
    """wechatpy has no class for "file" messages; a member who sent one hears why nothing
    happens, as for pictures."""
    picture = await wechat.post(
        wechat.xml("o-file", "image", PicUrl="http://x/p.jpg", MediaId="m", MsgId="9101")
    )
    sent_file = await wechat.post(wechat.xml("o-file", "file", Title="a.pdf", MsgId="9102"))
    assert sent_file.content and sent_file.content == picture.content
