"""What a careless or hostile caller sends: control characters, bodies too large, repeated
query parameters, odd language headers. Each gets a problem naming what is wrong, never a
500 or a half-written change (PostgreSQL refuses NUL in text, so it must not get there)."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core.context import Context
from core.ledger.coupons import redeem_reward
from storage.models import MemberRow, SaleRow
from tests.api.conftest import Till
from tests.factories import count, registered

PHONE = "13800138000"


def new_sale(**fields: Any) -> dict[str, Any]:
    return {
        "store": "main",
        "receipt_no": "R1",
        "member": {"phone": PHONE},
        "amount_fen": 12_800,
    } | fields


async def test_control_characters_are_refused_with_the_field_named(
    ctx: Context, till: Till
) -> None:
    await registered(ctx, phone=PHONE)
    await till.call("POST", "/sales", json=new_sale(receipt_no="R0"))
    cases: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", "/sales", new_sale(receipt_no="R\x001"), "receipt_no"),
        ("POST", "/sales", new_sale(receipt_no="R\t1"), "receipt_no"),
        ("POST", "/sales", new_sale(store="ma\x00in"), "store"),
        ("POST", "/sales", new_sale(member={"member_no": "M1\x00"}), "member.member_no"),
        (
            "POST",
            "/sales",
            new_sale(lines=[{"product": "a\x00", "quantity": 1, "amount_fen": 12_800}]),
            "lines.0.product",
        ),
        ("POST", "/members", {"phone": "13900000000", "name": "a\x00b"}, "name"),
        ("POST", "/sales/main/R%000/refunds", {}, "receipt"),
        ("POST", "/sales/ma%00in/R0/refunds", {}, "store"),
        ("POST", "/coupons/A%00B/redeem", {}, "code"),
        ("GET", "/coupons/A%00B", None, "code"),
    ]
    for method, path, body, field in cases:
        answer = await till.call(method, path, json=body)
        assert (answer.status, answer.body["code"]) in {
            (422, "invalid_request"),
            (422, "invalid_input"),
        }, (path, body, answer.body)
        assert field in [e["field"] for e in answer.body["errors"]], answer.body
    assert await count(ctx, SaleRow) == 1
    assert await count(ctx, MemberRow) == 1


async def test_a_body_too_large_is_a_problem(ctx: Context, till: Till) -> None:
    headers = {"Authorization": f"Bearer {till.key}", "Content-Type": "application/json"}
    url = till.server.make_url("/api/v1/sales")
    body = io.BytesIO(b'{"x": "' + b"x" * 3_000_000 + b'"}')
    async with till.session.post(url, data=body, headers=headers) as response:
        assert response.status == 413
        assert response.content_type == "application/problem+json"
        assert (await response.json(content_type=None))["code"] == "request_too_large"
    assert await count(ctx, SaleRow) == 0


async def test_a_repeated_query_parameter_is_refused_not_half_read(
    ctx: Context, till: Till
) -> None:
    await registered(ctx, phone=PHONE)
    answer = await till.call("GET", f"/members?phone={PHONE}&phone=13900000000")
    assert (answer.status, answer.body["code"]) == (422, "invalid_request")
    assert [e["field"] for e in answer.body["errors"]] == ["phone"]


async def test_language_weights_may_have_spaces(ctx: Context, till: Till) -> None:
    for header, title in (
        ("en; q=0.1, zh", "请求无效"),
        ("zh;Q=0.2, en;q=0.9", "Invalid request"),
        ("zh-CN ; q=0.8, en ; q=0.5", "请求无效"),
        ("zh;q=0, en", "Invalid request"),
    ):
        answer = await till.call("GET", "/members", headers={"Accept-Language": header})
        assert answer.body["title"] == title, header


async def test_times_in_a_problem_are_iso_8601(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE, points=300)
    code = (await redeem_reward(ctx, member.id, "coupon10")).code
    await till.call("POST", f"/coupons/{code}/redeem", json={})
    again = await till.call("POST", f"/coupons/{code}/redeem", json={})
    assert again.body["code"] == "coupon_used"
    used = (await till.call("GET", f"/coupons/{code}")).body["used_at"]
    assert again.body["used_at"] == used


async def test_bytes_that_are_not_http_are_a_400_and_one_log_line(
    server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A NUL in a header: aiohttp refuses it before our app sees it, and its log says so in
    one line, not as an ERROR with a traceback."""
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: till\r\nX-Probe: \x00\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] == b"400"
    (record,) = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert (record.levelname, record.exc_info) == ("INFO", None)
    assert record.getMessage().startswith("refused a malformed request (400): ")
