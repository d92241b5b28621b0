"""Members at the till: look one up (phone, member number, scanned card), register one."""

from __future__ import annotations

from bot.api.declare import Call, Reply, Route
from bot.api.models import Coupon, Member, MemberRef, NewMember, Tier
from core.context import Context
from core.integrations import till
from core.ledger.coupons import CouponView
from core.people.members import MemberView, mask_phone
from core.people.registration import register_member


def tier_of(ctx: Context, code: str) -> Tier:
    tier = ctx.shop.tier(code)
    return Tier(code=tier.code, name=tier.name, name_en=tier.name_en)


def coupon_of(coupon: CouponView) -> Coupon:
    return Coupon(
        code=coupon.code,
        reward=coupon.reward,
        value_fen=coupon.value_fen,
        expires_at=coupon.expires_at,
        used_at=coupon.used_at,
    )


def member_of(ctx: Context, member: MemberView, balance: int, coupons: list[CouponView]) -> Member:
    return Member(
        member_no=member.member_no,
        name=member.name,
        phone=mask_phone(member.phone) or None,
        tier=tier_of(ctx, member.tier),
        balance=balance,
        home_store=member.home_store,
        marketing_consent=member.marketing_consent,
        registered_at=member.registered_at,
        coupons=[coupon_of(c) for c in coupons],
    )


def member_ref(ref: MemberRef) -> till.MemberRef:
    return till.MemberRef(phone=ref.phone, member_no=ref.member_no, card=ref.card)


async def look_up(call: Call[MemberRef]) -> Reply:
    found = await till.member_summary(call.ctx, member_ref(call.data), actor=call.key.actor)
    return Reply(member_of(call.ctx, found.member, found.balance, found.coupons))


async def register(call: Call[NewMember]) -> Reply:
    new = call.data
    store = new.store or call.key.store
    if store is not None:
        call.key.act_for(store)
    member = await register_member(
        call.ctx,
        name=new.name,
        phone=new.phone,
        birthday=new.birthday,
        locale=new.locale,
        home_store=store,
        marketing_consent=new.marketing_consent,
        actor=call.key.actor,
    )
    found = await till.summary(call.ctx, member)
    return Reply(member_of(call.ctx, member, found.balance, found.coupons), status=201)


ROUTES = (
    Route(
        "GET",
        "/members",
        "lookUpMember",
        "A member by phone, member number or scanned card: tier, balance, usable coupons.",
        "members:read",
        look_up,
        answer=Member,
        query=MemberRef,
        problems=(404,),
    ),
    Route(
        "POST",
        "/members",
        "registerMember",
        "Register a member at the till.",
        "members:write",
        register,
        answer=Member,
        body=NewMember,
        status=201,
        problems=(404, 409),
    ),
)
