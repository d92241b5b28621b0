"""Hostile requests at both webhooks, beyond the channel tests' own cases: a 5 MB body, the
wrong content type or none, truncated documents, a signature missing or from the right token
on another body, entities inside a correctly encrypted message — always a 4xx, never a
crash, nothing stored, and the server goes on serving."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator

import pytest
import xmltodict
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.composition import compose
from bot.handlers.telegram import SECRET_HEADER
from bot.web import create_app
from core.context import Context
from storage.models import Base
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.test_telegram import SECRET, telegram_settings
from tests.channels.test_wechat import BILLION_LAUGHS, EXTERNAL_ENTITY
from tests.channels.wechat_sim import TOKEN, WeChatSimulator, signature, wechat_settings

FIVE_MB = 5 * 1024 * 1024
DROPPED = {  # a case, and the query parameter WeChat always sends that it leaves out
    "no signature": "signature",
    "no timestamp": "timestamp",
    "no message signature": "msg_signature",
}


async def rows(ctx: Context) -> int:
    """Rows in every table but the catalogue the shop file fills."""
    total = 0
    async with ctx.db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name not in ("stores", "rewards", "products", "events"):
                total += int(await s.scalar(select(func.count()).select_from(table)) or 0)
    return total


@pytest.fixture
async def server(
    ctx: Context, fake_wechat: FakeWeChat, fake_telegram: FakeTelegram
) -> AsyncIterator[TestServer]:
    settings = wechat_settings(fake_wechat).model_copy(
        update={
            "telegram_token": telegram_settings(fake_telegram).telegram_token,
            "telegram_webhook_secret": telegram_settings(fake_telegram).telegram_webhook_secret,
            "telegram_api_base": fake_telegram.base_url,
        }
    )
    async with TestServer(create_app(compose(ctx, settings))) as test_server:
        yield test_server


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("5 MB body", 413),
        ("truncated", 400),
        ("JSON instead of XML", 400),
        ("signed, then altered", 403),
        ("XML, said to be JSON", 415),
        ("no content type", 415),
        ("no signature", 403),
        ("no timestamp", 403),
        ("no message signature", 403),
        ("billion laughs, encrypted", 400),
        ("external entity, encrypted", 400),
    ],
)
async def test_wechat_refuses_and_stores_nothing(
    ctx: Context, server: TestServer, session: ClientSession, case: str, status: int
) -> None:
    url = str(server.make_url("/wechat"))
    plain = WeChatSimulator(session, url, clock=ctx.clock, safe=False)
    safe = WeChatSimulator(session, url, clock=ctx.clock)
    before = await rows(ctx)
    message = plain.text_xml("o-evil", "积分")
    if case == "5 MB body":
        answer = await plain.post("<xml>" + "A" * FIVE_MB + "</xml>")
    elif case == "truncated":
        answer = await safe.post(message[: len(message) // 2])
    elif case == "JSON instead of XML":
        answer = await plain.post(json.dumps({"FromUserName": "o-evil", "Content": "积分"}))
    elif case == "signed, then altered":  # a signed envelope, another's message put in it
        sealed = xmltodict.parse(safe.crypto.encrypt_message(message, "n1", "1"))["xml"]
        other_message = plain.text_xml("o-b", "x")
        other = xmltodict.parse(safe.crypto.encrypt_message(other_message, "n1", "1"))["xml"]
        query = {
            "timestamp": "1",
            "nonce": "n1",
            "signature": signature(TOKEN, "1", "n1"),
            "encrypt_type": "aes",
            "msg_signature": sealed["MsgSignature"],
        }
        envelope = "<xml><ToUserName>gh</ToUserName><Encrypt>{}</Encrypt></xml>"
        answer = await plain.post(envelope.format(other["Encrypt"]), query=query)
    elif case == "XML, said to be JSON":
        answer = await plain.post(message, content_type="application/json")
    elif case == "no content type":
        answer = await plain.post(message, content_type="")
    elif case in DROPPED:
        answer = await safe.post(message, query={DROPPED[case]: None})
    else:  # signed and encrypted with the right key: only the inner XML is hostile
        answer = await safe.post(BILLION_LAUGHS if "laughs" in case else EXTERNAL_ENTITY)
    assert answer.status == status, answer.body
    assert await rows(ctx) == before
    assert (await plain.text("o-fine", "你好")).status == 200


@pytest.mark.parametrize(
    "case",
    [
        "5 MB body",
        "form instead of JSON",
        "JSON, said to be text",
        "truncated JSON",
        "an array",
        "wrong secret",
        "no secret",
    ],
)
async def test_telegram_refuses_and_stores_nothing(
    ctx: Context, server: TestServer, session: ClientSession, case: str
) -> None:
    url = str(server.make_url("/telegram"))
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    update = json.dumps(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "E"},
                "text": "/start",
            },
        }
    )
    before = await rows(ctx)
    body: str | bytes = update
    if case == "5 MB body":
        body = '{"update_id": 1, "x": "' + "A" * FIVE_MB + '"}'
    elif case == "form instead of JSON":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = "update_id=1&message=hello"
    elif case == "JSON, said to be text":
        headers["Content-Type"] = "text/plain"
    elif case == "truncated JSON":
        body = update[: len(update) // 2]
    elif case == "an array":
        body = "[1, 2, 3]"
    elif case == "wrong secret":
        headers[SECRET_HEADER] = SECRET + "x"
    else:
        del headers[SECRET_HEADER]
    data = io.BytesIO(body.encode() if isinstance(body, str) else body)
    async with session.post(url, data=data, headers=headers) as response:
        assert 400 <= response.status < 500, await response.text()
    assert await rows(ctx) == before
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with session.post(url, data=update, headers=headers) as response:
        assert response.status == 200  # and the next real update is served
