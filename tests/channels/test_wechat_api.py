"""The WeChat API client over real HTTP on loopback, against the fake WeChat server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.handlers.wechat_api import WeChatAPI, WeChatAPIError
from core.clock import FixedClock
from storage.db import Database
from storage.tokens import load_token
from tests.channels.fake_wechat import STABLE_TOKEN, FakeWeChat

APP_ID = "wx-test-app"
APP_SECRET = "test-app-secret"
SEND = "/cgi-bin/message/custom/send"
TOKEN_NAME = f"wechat:{APP_ID}"


def make_api(db: Database, clock: FixedClock, fake: FakeWeChat) -> WeChatAPI:
    return WeChatAPI(db, clock, app_id=APP_ID, app_secret=APP_SECRET, base_url=fake.base_url)


@pytest.fixture
async def api(db: Database, clock: FixedClock, fake_wechat: FakeWeChat) -> AsyncIterator[WeChatAPI]:
    client = make_api(db, clock, fake_wechat)
    yield client
    await client.close()


@pytest.fixture
async def other_process(
    db: Database, clock: FixedClock, fake_wechat: FakeWeChat
) -> AsyncIterator[WeChatAPI]:
    """A second client on its own engine over the same database, as another process has."""
    database = Database(db.url.render_as_string(hide_password=False))
    client = make_api(database, clock, fake_wechat)
    yield client
    await client.close()
    await database.dispose()


def forced(fake: FakeWeChat) -> list[bool]:
    """The force_refresh flag of each token request, in order."""
    return [call.json["force_refresh"] for call in fake.calls_to(STABLE_TOKEN)]


def tokens_used(fake: FakeWeChat, path: str = SEND) -> list[str]:
    return [call.query["access_token"] for call in fake.calls_to(path)]


# The access token


async def test_the_token_is_fetched_once_reused_and_stored(
    api: WeChatAPI, fake_wechat: FakeWeChat, db: Database, clock: FixedClock
) -> None:
    for n in range(3):
        await api.send_text("openid-1", f"message {n}")

    [request] = fake_wechat.calls_to(STABLE_TOKEN)
    assert request.json == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": APP_SECRET,
        "force_refresh": False,
    }
    assert tokens_used(fake_wechat) == ["TOKEN-1"] * 3
    assert await load_token(db, TOKEN_NAME) == ("TOKEN-1", clock.now() + timedelta(hours=2))


async def test_an_expired_token_is_replaced_once_and_the_call_retried(
    api: WeChatAPI, fake_wechat: FakeWeChat, db: Database
) -> None:
    await api.send_text("openid-1", "first")
    fake_wechat.fail_next(SEND, 42001)

    await api.send_text("openid-1", "second")

    assert forced(fake_wechat) == [False, True]
    assert tokens_used(fake_wechat) == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]
    assert fake_wechat.calls_to(SEND)[-1].json["text"] == {"content": "second"}
    assert (await load_token(db, TOKEN_NAME) or ("",))[0] == "TOKEN-2"


async def test_two_processes_share_one_token(
    api: WeChatAPI, other_process: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    await api.send_text("openid-1", "from the web process")
    await other_process.send_text("openid-2", "from the scheduler")

    assert forced(fake_wechat) == [False]
    assert tokens_used(fake_wechat) == ["TOKEN-1", "TOKEN-1"]


async def test_a_token_another_process_replaced_is_taken_from_the_database(
    api: WeChatAPI, other_process: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    await api.send_text("openid-1", "a")
    await other_process.send_text("openid-2", "b")
    fake_wechat.fail_next(SEND, 40001)
    await other_process.send_text("openid-2", "c")  # forces TOKEN-2, which retires TOKEN-1

    await api.send_text("openid-1", "d")  # TOKEN-1 is rejected; TOKEN-2 is in the database

    assert forced(fake_wechat) == [False, True]
    assert tokens_used(fake_wechat)[-2:] == ["TOKEN-1", "TOKEN-2"]


async def test_concurrent_calls_without_a_token_fetch_it_once(
    api: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    await asyncio.gather(*(api.send_text(f"openid-{n}", "hello") for n in range(10)))

    assert forced(fake_wechat) == [False]
    assert tokens_used(fake_wechat) == ["TOKEN-1"] * 10


async def test_concurrent_calls_rejected_together_force_one_refresh(
    api: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    await api.send_text("openid-0", "warm up")
    fake_wechat.reset_token()  # TOKEN-2 issued elsewhere: TOKEN-1, which we hold, is dead

    await asyncio.gather(*(api.send_text(f"openid-{n}", "hello") for n in range(10)))

    assert forced(fake_wechat) == [False, True]
    assert sorted(tokens_used(fake_wechat)[1:]) == ["TOKEN-1"] * 10 + ["TOKEN-3"] * 10


async def test_a_token_near_expiry_is_refreshed_before_use(
    api: WeChatAPI, fake_wechat: FakeWeChat, clock: FixedClock
) -> None:
    await api.send_text("openid-1", "a")
    clock.advance(timedelta(hours=2) - timedelta(minutes=5) - timedelta(seconds=1))
    await api.send_text("openid-1", "b")
    assert forced(fake_wechat) == [False]

    clock.advance(timedelta(seconds=2))  # under 5 minutes left
    await api.send_text("openid-1", "c")

    assert forced(fake_wechat) == [False, False]
    assert tokens_used(fake_wechat) == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]


async def test_a_second_token_error_is_raised(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    await api.access_token()
    fake_wechat.fail_next(SEND, 42001)
    fake_wechat.fail_next(SEND, 40014)

    with pytest.raises(WeChatAPIError) as raised:
        await api.send_text("openid-1", "hello")

    assert raised.value.errcode == 40014
    assert forced(fake_wechat) == [False, True]
    assert tokens_used(fake_wechat) == ["TOKEN-1", "TOKEN-2"]


async def test_other_errors_are_raised_without_a_refresh(
    api: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.fail_next(SEND, 45015)  # the user has not written for 48 hours

    with pytest.raises(WeChatAPIError) as raised:
        await api.send_text("openid-1", "hello")

    assert raised.value.errcode == 45015
    assert raised.value.errmsg == "failure set by the test"
    assert "45015" in str(raised.value)
    assert forced(fake_wechat) == [False]
    assert len(fake_wechat.calls_to(SEND)) == 1


async def test_a_wrong_secret_is_an_error_and_nothing_is_stored(
    db: Database, clock: FixedClock
) -> None:
    async with FakeWeChat(clock, app_id=APP_ID, app_secret=APP_SECRET) as strict:
        api = WeChatAPI(db, clock, app_id=APP_ID, app_secret="wrong", base_url=strict.base_url)
        try:
            with pytest.raises(WeChatAPIError) as raised:
                await api.send_text("openid-1", "hello")
        finally:
            await api.close()

        assert raised.value.errcode == 40125
        assert strict.calls_to(SEND) == []
    assert await load_token(db, TOKEN_NAME) is None


async def test_http_errors_propagate_without_the_token(
    api: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.fail_next_http(SEND, 502)

    with pytest.raises(aiohttp.ClientResponseError) as raised:
        await api.send_text("openid-1", "hello")

    assert raised.value.status == 502
    assert SEND in str(raised.value)
    assert "TOKEN-1" not in str(raised.value) + repr(raised.value)


async def test_our_logs_never_show_the_secret_or_the_token(
    api: WeChatAPI, fake_wechat: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    fake_wechat.fail_next(SEND, 42001)
    fake_wechat.fail_next(SEND, 42001)

    with pytest.raises(WeChatAPIError):
        await api.send_text("openid-1", "hello")

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "42001" in ours
    for secret in (APP_SECRET, "TOKEN-1", "TOKEN-2"):
        assert secret not in ours


# Request shapes


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (STABLE_TOKEN, "<html><body>502 Bad Gateway</body></html>"),
        (STABLE_TOKEN, '["not", "an", "object"]'),
        (STABLE_TOKEN, '{"expires_in": 7200}'),
        (STABLE_TOKEN, '{"access_token": "t", "expires_in": "soon"}'),
        ("/cgi-bin/qrcode/create", '{"errcode": 0}'),
    ],
)
async def test_an_answer_that_cannot_be_read_is_a_busy_error(
    api: WeChatAPI, fake_wechat: FakeWeChat, db: Database, path: str, text: str
) -> None:
    """A gateway's page, JSON of another shape, a missing token or URL: WeChatAPIError
    with errcode -1 ("system busy", retried later by the pushes), nothing stored."""
    fake_wechat.answer_next_raw(path, text)
    with pytest.raises(WeChatAPIError) as caught:
        await api.create_qrcode("store-main")
    assert caught.value.errcode == -1
    if path == STABLE_TOKEN:
        assert await load_token(db, TOKEN_NAME) is None
    assert await api.create_qrcode("store-main")  # the next answer is read as usual


async def test_send_text_sends_utf8_json(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    sending = asyncio.create_task(api.send_text("openid-1", "会员卡已激活"))
    [call] = await fake_wechat.wait_for_calls(SEND)
    await sending

    assert call.json == {
        "touser": "openid-1",
        "msgtype": "text",
        "text": {"content": "会员卡已激活"},
    }
    assert "会员卡已激活".encode() in call.raw  # not \\u escapes
    assert call.query["access_token"] == "TOKEN-1"


async def test_send_image(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    await api.send_image("openid-1", "MEDIA-7")

    [call] = fake_wechat.calls_to(SEND)
    assert call.json == {"touser": "openid-1", "msgtype": "image", "image": {"media_id": "MEDIA-7"}}


async def test_upload_image_sends_the_bytes_intact(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 5000  # every byte value, over 1 MiB

    media_id = await api.upload_image(png, "card.png")

    assert media_id == "MEDIA-1"
    [call] = fake_wechat.calls_to("/cgi-bin/media/upload")
    assert call.query == {"type": "image", "access_token": "TOKEN-1"}
    [upload] = call.uploads
    assert (upload.field, upload.filename, upload.content_type) == (
        "media",
        "card.png",
        "image/png",
    )
    assert upload.data == png
    assert call.files == {"media": png}
    assert call.answer["media_id"] == media_id


async def test_an_upload_is_sent_again_after_a_token_error(
    api: WeChatAPI, fake_wechat: FakeWeChat
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    await api.access_token()
    fake_wechat.fail_next("/cgi-bin/media/upload", 42001)

    assert await api.upload_image(png) == "MEDIA-1"

    first, second = fake_wechat.calls_to("/cgi-bin/media/upload")
    assert first.uploads == second.uploads
    assert second.uploads[0].data == png
    assert second.uploads[0].filename == "image.png"


async def test_send_template(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    data = {"first": "积分到账", "keyword1": "120"}
    with_link = await api.send_template("openid-1", "TPL-1", data, url="https://example.com/c")
    without_link = await api.send_template("openid-1", "TPL-1", {"first": "hi"})

    assert isinstance(with_link, int)
    assert with_link != without_link
    first, second = fake_wechat.calls_to("/cgi-bin/message/template/send")
    assert first.json == {
        "touser": "openid-1",
        "template_id": "TPL-1",
        "url": "https://example.com/c",
        "data": {"first": {"value": "积分到账"}, "keyword1": {"value": "120"}},
    }
    assert second.json == {
        "touser": "openid-1",
        "template_id": "TPL-1",
        "data": {"first": {"value": "hi"}},
    }


async def test_menus(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    menu = {"button": [{"type": "click", "name": "会员卡", "key": "CARD"}]}
    conditional = {**menu, "matchrule": {"tag_id": "2"}}

    await api.create_menu(menu)
    menu_id = await api.add_conditional_menu(conditional)

    [created] = fake_wechat.calls_to("/cgi-bin/menu/create")
    [added] = fake_wechat.calls_to("/cgi-bin/menu/addconditional")
    assert created.json == menu
    assert added.json == conditional
    assert isinstance(menu_id, str)
    assert menu_id


async def test_create_qrcode(api: WeChatAPI, fake_wechat: FakeWeChat) -> None:
    url = await api.create_qrcode("store-01")

    assert url == "http://weixin.qq.com/q/store-01"
    [call] = fake_wechat.calls_to("/cgi-bin/qrcode/create")
    assert call.json == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "store-01"}},
    }
    assert call.query["access_token"] == "TOKEN-1"
