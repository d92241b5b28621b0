"""What a careless or hostile caller sends: control characters, bodies too large, repeated
query parameters, odd language headers. Each gets a problem naming what is wrong, never a
500 or a half-written change (PostgreSQL refuses NUL in text, so it must not get there)."""

from __future__ import annotations

from typing import Any

from core.context import Context
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
