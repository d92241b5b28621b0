"""Referrals: the inviter is rewarded on the new member's first purchase, once; one's own
phone and a phone invited before earn nothing; invite codes are stable."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from core.context import Context
from core.engagement import referrals
from core.errors import AlreadyReferred, InviteCodeInvalid, SelfReferral
from core.ledger import statement
from core.ledger.points import expire_points
from core.people.erasure import delete_member
from core.people.registration import register_member
from core.pushes.outbox import SERVICE_KINDS
from storage.db import Database
from storage.models import LedgerRow, OutboxRow, ReferralRow
from tests.factories import member, sale
from tests.shop_with_products import product_context


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    # referrer_points = 100, welcome_points = 30, min_purchase_yuan = 10
    return await product_context(db, clock, tmp_path)


async def points(ctx: Context, member_id: int, kind: str = "referral") -> list[int]:
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(LedgerRow.points)
            .where(LedgerRow.member_id == member_id, LedgerRow.kind == kind)
            .order_by(LedgerRow.id)
        )
        return list(rows)


async def pushes(ctx: Context) -> list[tuple[int | None, dict[str, object]]]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(OutboxRow.member_id, OutboxRow.params)
            .where(OutboxRow.kind == referrals.PUSH_KIND)
            .order_by(OutboxRow.id)
        )
        return [(m, p) for m, p in rows]


async def test_the_inviter_is_rewarded_on_the_first_purchase_only_once(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    invite = await referrals.invite_code(ctx, inviter)
    assert invite.link == f"https://t.me/example_shop_bot?start=ref-{invite.code}"
    friend = await member(
        ctx, name="会员", phone="13900000002", invite_code=invite.code.lower(), invited_via="link"
    )

    assert await points(ctx, inviter) == []  # registering alone earns nothing
    # below min_purchase_yuan = 10: does not count yet
    small = await sale(ctx, friend, fen=500, notify=True)
    assert await points(ctx, inviter) == []
    first = await sale(ctx, friend, fen=12_000, notify=True)
    assert await points(ctx, inviter) == [100]
    assert await points(ctx, friend) == [30]  # the welcome bonus
    assert first.balance == first.points + small.points + 30
    await sale(ctx, friend, fen=50_000, notify=True)
    await sale(ctx, friend, fen=12_000, notify=True)
    assert await points(ctx, inviter) == [100]
    assert await points(ctx, friend) == [30]
    assert await pushes(ctx) == [
        (inviter, {"role": "referrer", "points": 100}),
        (friend, {"role": "welcome", "points": 30}),
    ]
    assert referrals.PUSH_KIND in SERVICE_KINDS
    summary = await referrals.member_referrals(ctx, inviter)
    assert [(r.member_id, r.via) for r in summary.invited] == [(friend, "link")]
    assert summary.rewarded == 1 and summary.invited_by is None
    invited_by = (await referrals.member_referrals(ctx, friend)).invited_by
    assert invited_by is not None and invited_by.member_id == inviter
    # Referral points are no spending: the inviter's tier window is untouched.
    assert (await statement.points_summary(ctx, inviter)).window_spend_fen == 0


async def test_concurrent_first_purchases_reward_once(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    code = (await referrals.invite_code(ctx, inviter)).code
    friend = await member(ctx, name="会员", phone="13900000002", invite_code=code)

    await asyncio.gather(*(sale(ctx, friend, notify=True) for _ in range(10)))

    assert await points(ctx, inviter) == [100]
    assert await points(ctx, friend) == [30]


async def test_referral_points_expire_like_all_points(ctx: Context, clock: FixedClock) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    code = (await referrals.invite_code(ctx, inviter)).code
    await sale(
        ctx, await member(ctx, name="会员", phone="13900000002", invite_code=code), notify=True
    )
    assert (await statement.points_summary(ctx, inviter)).balance == 100
    clock.advance(timedelta(days=366))
    report = await expire_points(ctx)
    assert report.points >= 100
    assert (await statement.points_summary(ctx, inviter)).balance == 0


async def test_ones_own_phone_earns_nothing(ctx: Context) -> None:
    inviter = await member(
        ctx, name="会员", phone="13800000001", channel="telegram", external_id="tg-1"
    )
    code = (await referrals.invite_code(ctx, inviter)).code
    with pytest.raises(SelfReferral):
        await referrals.check_invite(ctx, code, "138 0000 0001")
    # The inviter's own phone shared from another chat app claims the inviter: no referral.
    claimed = await register_member(
        ctx,
        name="会员",
        phone="13800000001",
        channel="wechat",
        external_id="wx-1",
        phone_verified=True,
        invite_code=code,
        invited_via="qr",
    )
    assert claimed.id == inviter
    await sale(ctx, inviter, notify=True)
    assert await points(ctx, inviter) == []
    assert (await referrals.member_referrals(ctx, inviter)).invited == []


async def test_a_second_account_of_the_same_phone_earns_nothing(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    other = await member(ctx, name="会员", phone="13800000003")
    code = (await referrals.invite_code(ctx, inviter)).code
    other_code = (await referrals.invite_code(ctx, other)).code
    friend = await member(ctx, name="会员", phone="13900000002", invite_code=code)
    await sale(ctx, friend, notify=True)
    assert await points(ctx, inviter) == [100]

    # The friend deletes their data and comes back with the same phone, through the same
    # invite or another one: nobody earns a second reward.
    await delete_member(ctx, friend, actor="member:friend")
    with pytest.raises(AlreadyReferred):
        await referrals.check_invite(ctx, other_code, "13900000002")
    again = await member(ctx, name="会员", phone="13900000002", invite_code=other_code)
    await sale(ctx, again, notify=True)
    assert await points(ctx, inviter) == [100]
    assert await points(ctx, other) == []
    assert await points(ctx, again) == []
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count(ReferralRow.id))) == 1


async def test_a_phone_invited_before_is_not_invited_again_even_unrewarded(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    code = (await referrals.invite_code(ctx, inviter)).code
    friend = await member(ctx, name="会员", phone="13900000002", invite_code=code)
    await delete_member(ctx, friend, actor="member:friend")  # never bought
    again = await member(ctx, name="会员", phone="13900000002", invite_code=code)
    await sale(ctx, again, notify=True)
    # The first account's referral stays unrewarded; the second one has none.
    assert await points(ctx, inviter) == []


async def test_unknown_and_void_codes(ctx: Context) -> None:
    with pytest.raises(InviteCodeInvalid):
        await referrals.check_invite(ctx, "ABCDEFGH")
    with pytest.raises(InviteCodeInvalid):
        await referrals.check_invite(ctx, "not a code at all")
    inviter = await member(ctx, name="会员", phone="13800000001")
    code = (await referrals.invite_code(ctx, inviter)).code
    found = await referrals.check_invite(ctx, f"ref-{code[:4]} {code[4:]}", "13900000002")
    assert (found.member_id, found.code) == (inviter, code)
    await delete_member(ctx, inviter, actor="member:inviter")
    with pytest.raises(InviteCodeInvalid):
        await referrals.check_invite(ctx, code)
    # A registration with a void code goes on, without a referral.
    friend = await member(ctx, name="会员", phone="13900000002", invite_code=code)
    await sale(ctx, friend, notify=True)
    assert await points(ctx, friend) == []


async def test_the_invite_code_is_made_once_and_stays(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    codes = await asyncio.gather(*(referrals.invite_code(ctx, inviter) for _ in range(5)))
    assert len({c.code for c in codes}) == 1
    assert (await referrals.invite_code(ctx, inviter)).code == codes[0].code
    code = codes[0].code
    assert len(code) == referrals.INVITE_CODE_LENGTH
    assert set(code) <= set(referrals.INVITE_ALPHABET)
    assert referrals.normalize_invite_code(f" ref-{code.lower()} ") == code
    other = await referrals.invite_code(ctx, await member(ctx, name="会员", phone="13800000009"))
    assert other.code != code


async def test_a_deleted_inviter_gets_nothing_but_the_welcome_counts(ctx: Context) -> None:
    inviter = await member(ctx, name="会员", phone="13800000001")
    code = (await referrals.invite_code(ctx, inviter)).code
    friend = await member(ctx, name="会员", phone="13900000002", invite_code=code)
    await delete_member(ctx, inviter, actor="member:inviter")
    await sale(ctx, friend, notify=True)
    assert await points(ctx, inviter) == []
    assert await points(ctx, friend) == [30]
