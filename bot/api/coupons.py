"""Coupons at the till: check one without using it, and use it (once; the reason when
not)."""

from __future__ import annotations

from bot.api.declare import Call, Empty, Reply, Route
from bot.api.members import coupon_of
from bot.api.models import Coupon, CouponCheck, CouponUse
from bot.api.sales import REPLAYED, RETRY_SAFE, key_scopes
from core.integrations.once import Once, fingerprint
from core.ledger.coupons import check_coupon, normalize_coupon_code, use_coupon
from core.people.members import format_member_no


async def check(call: Call[Empty]) -> Reply:
    found = await check_coupon(call.ctx, call.path["code"], actor=call.key.actor)
    coupon = coupon_of(found.coupon)
    answer = CouponCheck(
        **coupon.model_dump(),
        usable=found.refused is None,
        refused=found.refused,
        member_no=format_member_no(found.coupon.member_id),
    )
    return Reply(answer)


async def redeem(call: Call[CouponUse]) -> Reply:
    store = call.data.store or call.key.store
    if store is not None:
        call.key.act_for(store)
    code = normalize_coupon_code(call.path["code"])
    scopes = key_scopes(call)
    once = Once(fingerprint("redeem", code, store), scopes) if scopes else None
    used = await use_coupon(call.ctx, code, store=store, actor=call.key.actor, once=once)
    return Reply(coupon_of(used), headers=REPLAYED if used.replayed else {})


ROUTES = (
    Route(
        "GET",
        "/coupons/{code}",
        "checkCoupon",
        "A coupon and whether it can be used now, without using it.",
        "coupons:read",
        check,
        answer=CouponCheck,
        problems=(404,),
    ),
    Route(
        "POST",
        "/coupons/{code}/redeem",
        "redeemCoupon",
        "Use a coupon at the till: once; a second time answers why not (used, expired). "
        "With an Idempotency-Key, a retry gets the first answer.",
        "coupons:write",
        redeem,
        answer=Coupon,
        body=CouponUse,
        problems=(404, 409),
        headers=RETRY_SAFE,
    ),
)
