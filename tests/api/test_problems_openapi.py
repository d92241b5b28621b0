"""Problems in the caller's language, never a traceback; the OpenAPI document valid and
made from the declared routes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate

from bot.api.app import ROUTES
from bot.composition import compose
from bot.web import create_app
from core.context import Context
from storage.db import Database
from tests.api.conftest import Till, settings


async def test_problems_speak_the_callers_language(ctx: Context, till: Till) -> None:
    path = "/sales/main/R404/refunds"
    zh = await till.call("POST", path, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    en = await till.call("POST", path, headers={"Accept-Language": "en-US,zh;q=0.5"})
    default = await till.call("POST", path)
    assert zh.status == en.status == default.status == 404
    assert zh.headers["Content-Type"] == "application/problem+json"
    assert zh.body["type"] == en.body["type"] == "https://memberbot.dev/problems/unknown_sale"
    assert (zh.body["title"], en.body["title"]) == ("未找到", "Not found")
    assert "旗舰店" in zh.body["detail"] and "R404" in zh.body["detail"]
    assert en.body["detail"] == "No sale with receipt number R404 at Flagship store."
    assert default.body["detail"] == en.body["detail"]
    assert en.body["receipt_no"] == "R404"  # the error's params as extension members


async def test_each_fields_message_speaks_the_callers_language(till: Till) -> None:
    """Not only the detail: what is wrong with each field is said in the caller's language."""
    body = {"store": "main", "receipt_no": "R1", "member": {}, "amount_fen": "12.5", "tip": 1}
    answers = {
        lang: await till.call("POST", "/sales", json=body, headers={"Accept-Language": lang})
        for lang in ("zh-CN", "en")
    }
    assert {lang: a.status for lang, a in answers.items()} == {"zh-CN": 422, "en": 422}
    messages = {
        lang: {e["field"]: e["message"] for e in a.body["errors"]} for lang, a in answers.items()
    }
    assert messages["zh-CN"] == {
        "member": "`phone`、`member_no`、`card` 三者须填且只填一个。",
        "amount_fen": "应为整数。",
        "tip": "请求中没有这个字段。",
    }
    assert messages["en"] == {
        "member": "Give exactly one of `phone`, `member_no` and `card`.",
        "amount_fen": "Expected a whole number.",
        "tip": "This field is not part of the request.",
    }


async def test_unknown_routes_and_methods_are_problems(ctx: Context, till: Till) -> None:
    missing = await till.call("GET", "/nowhere", headers={"Accept-Language": "zh"})
    assert (missing.status, missing.body["code"]) == (404, "no_route")
    assert missing.body["detail"] == "没有这个接口地址。"
    wrong = await till.call("PUT", "/sales")
    assert (wrong.status, wrong.body["code"]) == (405, "method_not_allowed")
    assert wrong.headers["Allow"] == "POST"


async def test_a_failure_answers_500_without_internals(
    ctx: Context, tmp_path: Path, session: ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    app = create_app(compose(replace(ctx, db=broken), settings()))
    async with TestServer(app, host="127.0.0.1") as server:
        answer = await Till(session, server, "mbk_12345678_secret").call("GET", "/coupons/X")
    await broken.dispose()
    assert answer.status == 500
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert set(answer.body) == {"type", "title", "status", "detail", "code"}
    assert "Traceback" not in str(answer.body) and "sqlite" not in str(answer.body)
    assert "API GET /api/v1/coupons/X failed" in caplog.text
    assert "mbk_12345678_secret" not in caplog.text


async def test_the_openapi_document_is_valid_and_declares_every_route(
    ctx: Context, till: Till
) -> None:
    answer = await Till(till.session, till.server, None).call("GET", "/openapi.json")
    assert answer.status == 200
    spec = answer.body
    validate(spec)  # OpenAPI 3.1, by openapi-spec-validator
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for route in ROUTES:
        operation = spec["paths"]["/api/v1" + route.path][route.method.lower()]
        assert operation["operationId"] == route.name
        assert str(route.status) in operation["responses"]
        if route.body is not None:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            assert schema["$ref"].startswith("#/components/schemas/")
    sale = spec["components"]["schemas"]["NewSale"]
    assert sale["additionalProperties"] is False
    assert {"store", "receipt_no", "member", "amount_fen"} <= set(sale["required"])


async def test_a_route_with_only_path_parameters_declares_its_422(till: Till) -> None:
    """A control character in the path is refused (bot.api.app._check_path)."""
    document = (await till.call("GET", "/openapi.json")).body
    assert "422" in document["paths"]["/api/v1/coupons/{code}"]["get"]["responses"]
    answer = await till.call("GET", "/coupons/A%00B")
    assert answer.status == 422
