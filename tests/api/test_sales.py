"""Sales and refunds from the till: once per receipt and per Idempotency-Key, also when the
retries arrive at the same moment on two workers; bad input named; the same refund rule and
receipt push as a chat sale."""

from __future__ import annotations

import asyncio
from typing import Any

from core.context import Context
from core.ledger.refunds import refund_sale
from core.loyalty import record_sale
from storage.models import ApiAnswerRow, OutboxRow, RefundRow, SaleRow
from tests.api.conftest import Till
from tests.factories import balance, count, registered

PHONE = "13800138000"


def new_sale(receipt: str = "R1", amount_fen: int = 12_800, **fields: Any) -> dict[str, Any]:
    return {
        "store": "main",
        "receipt_no": receipt,
        "member": {"phone": PHONE},
        "amount_fen": amount_fen,
    } | fields


async def test_a_sale_earns_points_and_queues_the_receipt_push(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE)
    answer = await till.call("POST", "/sales", json=new_sale())
    assert answer.status == 201
    assert answer.body["member_no"] == member.member_no
    assert answer.body["points"] > 0
    assert answer.body["balance"] == answer.body["points"] == await balance(ctx, member.id)
    assert answer.body["tier"]["code"] == "member"
    assert "Idempotent-Replayed" not in answer.headers
    assert await count(ctx, OutboxRow, OutboxRow.kind == "receipt") == 1


async def test_a_retry_gets_the_first_answer_and_changes_nothing(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE)
    first = await till.call("POST", "/sales", json=new_sale())
    await record_sale(  # points earned since: the retry still answers what the sale did
        ctx, store="main", receipt_no="CHAT-1", member_id=member.id, amount_fen=5000
    )
    again = await till.call("POST", "/sales", json=new_sale())
    assert again.status == 201
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(ctx, SaleRow) == 2
    assert await count(ctx, OutboxRow, OutboxRow.kind == "receipt") == 2


async def test_a_retry_written_another_way_is_the_same_sale(ctx: Context, till: Till) -> None:
    """What makes a sale the same is what it records — store, receipt, member, amount, lines
    — not how the request spelled them: the member by number instead of phone, the receipt
    with spaces around it."""
    member = await registered(ctx, phone=PHONE)
    first = await till.call("POST", "/sales", json=new_sale())
    by_number = new_sale(" R1 ", member={"member_no": member.member_no})
    again = await till.call("POST", "/sales", json=by_number)
    assert (again.status, again.body) == (201, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count(ctx, SaleRow) == 1


async def test_an_idempotency_key_reused_for_another_sale_is_refused(
    ctx: Context, till: Till
) -> None:
    await registered(ctx, phone=PHONE)
    headers = {"Idempotency-Key": "pos-42"}
    first = await till.call("POST", "/sales", json=new_sale(), headers=headers)
    assert first.status == 201
    again = await till.call("POST", "/sales", json=new_sale(), headers=headers)
    assert (again.status, again.body) == (201, first.body)
    other = await till.call("POST", "/sales", json=new_sale("R2"), headers=headers)
    assert (other.status, other.body["code"]) == (409, "idempotency_key_reused")
    changed = await till.call("POST", "/sales", json=new_sale(amount_fen=100))
    assert (changed.status, changed.body["code"]) == (409, "receipt_differs")
    assert await count(ctx, SaleRow) == 1


async def test_duplicates_at_the_same_moment_on_two_workers_are_one_sale(
    ctx: Context, two_workers: list[Till]
) -> None:
    """Two app instances with their own database connections, as two `serve` workers."""
    member = await registered(ctx, phone=PHONE)
    for receipt, headers in (("R1", {}), ("R2", {"Idempotency-Key": "k-2"})):
        answers = await asyncio.gather(
            *(
                till.call("POST", "/sales", json=new_sale(receipt), headers=headers)
                for till in two_workers * 3
            )
        )
        assert {a.status for a in answers} == {201}
        assert all(a.body == answers[0].body for a in answers)
        assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert await count(ctx, SaleRow) == 2
    assert await balance(ctx, member.id) == 2 * answers[0].body["points"]


async def test_bad_input_names_the_field_and_records_nothing(ctx: Context, till: Till) -> None:
    await registered(ctx, phone=PHONE)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"data": "{not json"}, 422, "invalid_request", "body"),
        ({"json": new_sale(discount=5)}, 422, "invalid_request", "discount"),
        ({"json": new_sale(amount_fen="128.00")}, 422, "invalid_request", "amount_fen"),
        ({"json": new_sale(amount_fen=-1)}, 422, "invalid_request", "amount_fen"),
        ({"json": new_sale(member={})}, 422, "invalid_request", "member"),
        ({"json": new_sale(member={"phone": "12"})}, 422, "invalid_phone", "phone"),
        (
            {"json": new_sale(lines=[{"product": "x", "quantity": 1, "amount_fen": "1"}])},
            422,
            "invalid_request",
            "lines.0.amount_fen",
        ),
    ]
    for request, status, code, field in cases:
        answer = await till.call("POST", "/sales", **request)
        assert (answer.status, answer.body["code"]) == (status, code), request
        assert field in [e["field"] for e in answer.body["errors"]], answer.body
    unknown = await till.call("POST", "/sales", json=new_sale(member={"phone": "13900000000"}))
    assert (unknown.status, unknown.body["code"]) == (404, "unknown_member")
    assert await count(ctx, SaleRow) == 0


async def test_refunds_follow_the_chats_rule(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE)
    await till.call("POST", "/sales", json=new_sale("R1", 20_000))
    await till.call("POST", "/sales", json=new_sale("R2", 20_000))
    part = await till.call("POST", "/sales/main/R1/refunds", json={"amount_fen": 5_000})
    assert part.status == 201
    assert part.body["amount_fen"] == 5_000
    # The same refund by the core use case the chat's /refund calls, on the twin sale.
    expected = await refund_sale(ctx, store="main", receipt_no="R2", amount_fen=5_000)
    assert part.body["points_reversed"] == expected.points_reversed
    rest = await till.call("POST", "/sales/main/R1/refunds")
    assert (rest.status, rest.body["amount_fen"]) == (201, 15_000)
    beyond = await till.call("POST", "/sales/main/R1/refunds", json={"amount_fen": 1})
    assert (beyond.status, beyond.body["code"]) == (409, "refund_too_large")
    assert beyond.body["refundable_fen"] == 0
    unknown = await till.call("POST", "/sales/main/NOPE/refunds", json={})
    assert (unknown.status, unknown.body["code"]) == (404, "unknown_sale")
    assert await count(ctx, RefundRow) == 3
    assert await balance(ctx, member.id) == rest.body["balance"]


async def test_a_refund_retried_with_its_key_is_done_once(ctx: Context, till: Till) -> None:
    await registered(ctx, phone=PHONE)
    await till.call("POST", "/sales", json=new_sale("R1", 20_000))
    headers = {"Idempotency-Key": "refund-1"}
    answers = [
        await till.call("POST", "/sales/main/R1/refunds", json={"amount_fen": 500}, headers=headers)
        for _ in range(2)
    ]
    assert answers[0].body == answers[1].body
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert await count(ctx, RefundRow) == 1
    assert await count(ctx, ApiAnswerRow) == 2  # the sale's receipt, the refund's key


async def test_a_refund_retried_at_the_same_moment_on_two_workers_is_done_once(
    ctx: Context, two_workers: list[Till]
) -> None:
    """The copies race past the kept-answer check; the losers answer the winner's refund
    (on PostgreSQL they used to answer 500)."""
    await registered(ctx, phone=PHONE)
    await two_workers[0].call("POST", "/sales", json=new_sale("R1", 20_000))
    answers = await asyncio.gather(
        *(
            till.call(
                "POST",
                "/sales/main/R1/refunds",
                json={"amount_fen": 500},
                headers={"Idempotency-Key": "refund-1"},
            )
            for till in two_workers * 3
        )
    )
    assert {a.status for a in answers} == {201}, [a.body for a in answers]
    assert all(a.body == answers[0].body for a in answers)
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert await count(ctx, RefundRow) == 1
