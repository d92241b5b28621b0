"""Who may call: no key or a revoked one → 401, a missing scope or another store → 403, too
many calls → 429 with Retry-After; every call audited with the key's name."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.composition import compose
from bot.web import create_app
from core.clock import FixedClock
from core.context import Context
from core.integrations.api_keys import create_key, list_keys, revoke_key
from storage.models import AuditRow
from tests.api.conftest import Till, settings
from tests.factories import registered, sale

PHONE = "13800138000"


async def test_no_key_a_wrong_one_and_a_revoked_one_are_refused(ctx: Context, till: Till) -> None:
    await registered(ctx, phone=PHONE)
    anonymous = Till(till.session, till.server, None)
    for answer in (
        await anonymous.call("GET", "/members", params={"phone": PHONE}),
        await till.call("GET", "/members", params={"phone": PHONE}, key="mbk_00000000_nope"),
    ):
        assert answer.status == 401
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert answer.body["code"] == "api_key_invalid"
    assert (await till.call("GET", "/members", params={"phone": PHONE})).status == 200
    await revoke_key(ctx, "till-1")
    revoked = await till.call("GET", "/members", params={"phone": PHONE})
    assert revoked.status == 401


async def test_a_key_does_only_what_its_scopes_allow(ctx: Context, till: Till) -> None:
    await registered(ctx, phone=PHONE)
    _, reader = await create_key(ctx, name="reader", store="main", scopes=["members:read"])
    assert (await till.call("GET", "/members", params={"phone": PHONE}, key=reader)).status == 200
    refused = await till.call(
        "POST",
        "/sales",
        key=reader,
        json={"store": "main", "receipt_no": "R1", "member": {"phone": PHONE}, "amount_fen": 100},
    )
    assert refused.status == 403
    assert refused.body["code"] == "scope_missing"
    assert refused.body["scope"] == "sales:write"


async def test_a_stores_key_cannot_touch_another_stores_sales(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE)
    elsewhere = await sale(ctx, member.id, store="riverside", receipt="RV-1")
    sale_there = {"store": "riverside", "receipt_no": "R2", "member": {"phone": PHONE}}
    answer = await till.call("POST", "/sales", json=sale_there | {"amount_fen": 900})
    assert (answer.status, answer.body["code"]) == (403, "other_store")
    refund = await till.call("POST", f"/sales/riverside/{elsewhere.receipt_no}/refunds", json={})
    assert (refund.status, refund.body["code"]) == (403, "other_store")
    _, head_office = await create_key(ctx, name="head-office", store=None)
    refunded = await till.call(
        "POST", f"/sales/riverside/{elsewhere.receipt_no}/refunds", json={}, key=head_office
    )
    assert refunded.status == 201
    assert [k.store for k in await list_keys(ctx)] == ["main", None]


async def test_calls_are_audited_with_the_keys_name(ctx: Context, till: Till) -> None:
    await registered(ctx, phone=PHONE)
    await till.call("GET", "/members", params={"phone": PHONE})
    await till.call(
        "POST",
        "/sales",
        json={"store": "main", "receipt_no": "R1", "member": {"phone": PHONE}, "amount_fen": 9900},
    )
    async with ctx.db.read() as s:
        rows = (await s.execute(select(AuditRow.actor, AuditRow.action))).all()
    assert ("api:till-1", "member.looked_up") in rows
    assert ("api:till-1", "sale.recorded") in rows


async def test_too_many_calls_wait_as_retry_after_says(
    ctx: Context, clock: FixedClock, session: ClientSession
) -> None:
    await registered(ctx, phone=PHONE)
    app = create_app(compose(ctx, settings(api_rate_per_second=1, api_rate_burst=2)))
    async with TestServer(app, host="127.0.0.1") as server:
        _, key = await create_key(ctx, name="busy", store="main")
        till = Till(session, server, key)
        statuses = [
            (await till.call("GET", "/members", params={"phone": PHONE})).status for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        limited = await till.call("GET", "/members", params={"phone": PHONE})
        assert limited.headers["Retry-After"] == "1"
        assert limited.body["code"] == "rate_limited"
        _, other = await create_key(ctx, name="other", store="main")
        fresh = await till.call("GET", "/members", params={"phone": PHONE}, key=other)
        assert fresh.status == 200  # each key has its own bucket
        clock.advance(timedelta(seconds=1))
        assert (await till.call("GET", "/members", params={"phone": PHONE})).status == 200
