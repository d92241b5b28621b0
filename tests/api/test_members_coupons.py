"""Members and coupons at the till: look-ups by phone, member number and scanned card;
registering; a coupon checked without being used, then used once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from core.clock import FixedClock
from core.context import Context
from core.ledger.coupons import redeem_reward
from storage.models import AuditRow, CouponRow, MemberRow
from tests.api.conftest import Till
from tests.factories import count, registered

PHONE = "13800138000"


async def test_a_member_by_phone_number_and_card(ctx: Context, till: Till) -> None:
    member = await registered(ctx, phone=PHONE, points=150)
    coupon = await redeem_reward(ctx, member.id, "coupon10")
    for query in ({"phone": PHONE}, {"member_no": member.member_no}, {"card": member.member_no}):
        answer = await till.call("GET", "/members", params=query)
        assert answer.status == 200, query
        assert answer.body["member_no"] == member.member_no
        assert answer.body["balance"] == 50
        assert answer.body["phone"] == "+86138****8000"
        assert [c["code"] for c in answer.body["coupons"]] == [coupon.code]


async def test_member_look_ups_that_name_nobody(ctx: Context, till: Till) -> None:
    cases = [
        ({"phone": "13900000000"}, 404, "unknown_member"),
        ({"member_no": "M999999"}, 404, "unknown_member"),
        ({"card": "not a card"}, 422, "invalid_input"),
        ({"phone": "12"}, 422, "invalid_phone"),
        ({}, 422, "invalid_request"),
        ({"phone": PHONE, "member_no": "M1"}, 422, "invalid_request"),
        ({"name": "Li"}, 422, "invalid_request"),
    ]
    for query, status, code in cases:
        answer = await till.call("GET", "/members", params=query)
        assert (answer.status, answer.body["code"]) == (status, code), query


async def test_registering_a_member_at_the_till(ctx: Context, till: Till) -> None:
    new = {"phone": PHONE, "name": "李雷", "marketing_consent": True}
    answer = await till.call("POST", "/members", json=new)
    assert answer.status == 201
    assert answer.body["home_store"] == "main"
    assert answer.body["marketing_consent"] is True
    again = await till.call("POST", "/members", json=new)
    assert (again.status, again.body["code"]) == (409, "phone_taken")
    elsewhere = await till.call("POST", "/members", json=new | {"store": "riverside"})
    assert (elsewhere.status, elsewhere.body["code"]) == (403, "other_store")
    typo = await till.call("POST", "/members", json=new | {"consent": True})
    assert (typo.status, typo.body["errors"][0]["field"]) == (422, "consent")
    assert await count(ctx, MemberRow) == 1


async def test_a_coupon_is_checked_then_used_once(
    ctx: Context, till: Till, clock: FixedClock
) -> None:
    member = await registered(ctx, phone=PHONE, points=300)
    coupon = await redeem_reward(ctx, member.id, "coupon10")
    checked = await till.call("GET", f"/coupons/{coupon.code.lower()}")
    assert checked.status == 200
    assert (checked.body["usable"], checked.body["refused"]) == (True, None)
    assert checked.body["member_no"] == member.member_no
    used = await till.call("POST", f"/coupons/{coupon.code}/redeem", json={})
    assert (used.status, used.body["code"]) == (200, coupon.code)
    assert used.body["used_at"] is not None
    twice = await till.call("POST", f"/coupons/{coupon.code}/redeem")
    assert (twice.status, twice.body["code"]) == (409, "coupon_used")
    after = await till.call("GET", f"/coupons/{coupon.code}")
    assert (after.body["usable"], after.body["refused"]) == (False, "coupon_used")
    unknown = await till.call("POST", "/coupons/NOSUCHCODE/redeem", json={})
    assert (unknown.status, unknown.body["code"]) == (404, "unknown_coupon")
    assert (await till.call("GET", "/coupons/NOSUCHCODE")).status == 404
    expiring = await redeem_reward(ctx, member.id, "coupon10")
    clock.advance(timedelta(days=31))
    late = await till.call("POST", f"/coupons/{expiring.code}/redeem", json={})
    assert (late.status, late.body["code"]) == (409, "coupon_expired")
    assert await count(ctx, CouponRow, CouponRow.used_at.is_not(None)) == 1


async def test_a_keyed_redeem_retried_on_two_workers_at_once_answers_the_first_use(
    ctx: Context, two_workers: list[Till]
) -> None:
    """A till that lost the answer to its redeem sends it again with the same
    Idempotency-Key, maybe on another worker at the same moment: every copy gets the first
    use; without the key (or with another) the coupon is used already."""
    member = await registered(ctx, phone=PHONE, points=150)
    coupon = await redeem_reward(ctx, member.id, "coupon10")
    path = f"/coupons/{coupon.code}/redeem"
    keyed = {"Idempotency-Key": "redeem-1"}
    answers = await asyncio.gather(
        *(till.call("POST", path, headers=keyed) for till in two_workers * 3)
    )
    unkeyed = await two_workers[0].call("POST", path)
    other_key = await two_workers[1].call("POST", path, headers={"Idempotency-Key": "redeem-2"})
    assert {a.status for a in answers} == {200}, [a.body for a in answers]
    assert all(a.body == answers[0].body for a in answers)
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert answers[0].body["used_at"] is not None
    assert (unkeyed.status, unkeyed.body["code"]) == (409, "coupon_used")
    assert (other_key.status, other_key.body["code"]) == (409, "coupon_used")
    async with ctx.db.read() as s:
        uses = await s.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.action == "coupon.used")
        )
    assert uses == 1
