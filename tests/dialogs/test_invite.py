"""Invites through the dialogs, in both languages: the invite entry, registration through a
Telegram link, a WeChat QR scene or a typed code, refusals said at once, the reward after
the first purchase at the counter, the pushes, and what staff see in /member."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Payload, Reply
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.registry import create_dialogs
from bot.pushes import texts as pushes
from core.clock import FixedClock
from core.context import Context
from core.engagement import referrals
from core.ledger import statement
from core.people.erasure import delete_member
from core.people.members import MemberView, member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from core.pushes import work_queue
from storage.db import Database
from storage.models import ReferralRow
from tests.dialogs.conftest import press, say, t
from tests.shop_with_products import product_context

LOCALES = pytest.mark.parametrize("lang", ["zh_CN", "en"])


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    # referrer_points = 100, welcome_points = 30, min_purchase_yuan = 10, bot example_shop_bot
    return await product_context(db, clock, tmp_path)


@pytest.fixture
async def ann(ctx: Context) -> MemberView:
    return await register_member(
        ctx, name="安妮", phone="13800000001", channel="console", external_id="ann"
    )


async def code_of(ctx: Context, member: MemberView) -> str:
    return (await referrals.invite_code(ctx, member.id)).code


async def register(
    dialogs: Dialogs, lang: str, user: str, channel: str, phone: str = "13900000002", **event: str
) -> Reply:
    """From the first contact (with ``event``, e.g. ``start``) to the summary."""
    welcome = (await say(dialogs, user=user, channel=channel, lang=lang, **event))[-1]
    await say(dialogs, payload=press(welcome, t(lang, "Agree")), user=user, channel=channel)
    await say(dialogs, "李雷", user=user, channel=channel)
    await say(dialogs, phone, user=user, channel=channel)
    skip = Payload("registration", "birthday", "skip").pack()
    (summary,) = await say(dialogs, payload=skip, user=user, channel=channel)
    return summary


async def via_of(ctx: Context, member_id: int) -> str | None:
    async with ctx.db.read() as s:
        return await s.scalar(select(ReferralRow.via).where(ReferralRow.member_id == member_id))


@LOCALES
async def test_the_invite_entry_shows_code_link_and_rewards(
    ctx: Context, dialogs: Dialogs, ann: MemberView, lang: str
) -> None:
    await say(dialogs, "/lang", user="ann")  # the member's language is their profile's
    await say(dialogs, payload=Payload("profile", "lang", lang).pack(), user="ann")
    (reply,) = await say(dialogs, "邀请好友" if lang == "zh_CN" else "invite friends", user="ann")
    code = await code_of(ctx, ann)
    assert reply.text.splitlines()[:2] == [
        t(lang, "Your invite code: {code}", code=code),
        t(
            lang,
            "Or send your friends this link: {link}",
            link=f"https://t.me/example_shop_bot?start=ref-{code}",
        ),
    ]
    assert (
        t(lang, "When a friend makes their first purchase, you get {points} points.", points=100)
        in reply.text
    )
    assert (
        t(lang, "Your friend gets {points} points with that purchase too.", points=30) in reply.text
    )
    # The same from "My profile", and the code stays the same.
    (profile,) = await say(dialogs, "/profile", user="ann")
    (again,) = await say(dialogs, payload=press(profile, t(lang, "Invite friends")), user="ann")
    assert again.text == reply.text

    # A shop with no Telegram bot has no link to show, nor to mention.
    referrals_without_bot = ctx.shop.referrals.model_copy(update={"telegram_bot": ""})
    shop = ctx.shop.model_copy(update={"referrals": referrals_without_bot})
    (no_link,) = await say(create_dialogs(replace(ctx, shop=shop)), "/invite", user="ann")
    assert no_link.text.splitlines()[:2] == [
        t(lang, "Your invite code: {code}", code=code),
        t(
            lang,
            "Friends who join with it type the code when they register (on WeChat or Telegram).",
        ),
    ]


@LOCALES
async def test_a_telegram_link_counts_and_the_first_purchase_rewards_once(
    ctx: Context, dialogs: Dialogs, ann: MemberView, lang: str
) -> None:
    code = await code_of(ctx, ann)
    # Telegram delivers the deep link t.me/<bot>?start=ref-CODE as "/start ref-CODE".
    summary = await register(dialogs, lang, "tg-lei", "telegram", text=f"/start ref-{code}")
    assert t(lang, "Invited by: {name}", name="安妮") in summary.text
    await say(
        dialogs, payload=press(summary, t(lang, "Confirm")), user="tg-lei", channel="telegram"
    )
    lei = await member_for_identity(ctx, "telegram", "tg-lei")
    assert lei is not None and await via_of(ctx, lei.id) == "link"

    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    await say(dialogs, "/sale 13900000002 120 R-1", user="cleo", lang=lang)
    await say(dialogs, "/sale 13900000002 80 R-2", user="cleo", lang=lang)
    assert (await statement.points_summary(ctx, ann.id)).balance == 100
    assert (
        await statement.points_summary(ctx, lei.id)
    ).balance == 10 + 30  # ¥120 earns 10, ¥80 none

    # Both are told, each in their language, as a service push.
    claimed = [p for p in await work_queue.claim(ctx, 20) if p.kind == referrals.PUSH_KIND]
    texts = {
        p.member_id: (await pushes.render(ctx, p, p.recipients[0])).replies[0].text for p in claimed
    }
    assert texts == {
        ann.id: t(
            "zh_CN", pushes.TEXTS["referral_referrer"], name="安妮", points=100
        ),  # Ann reads Chinese
        lei.id: t(lang, pushes.TEXTS["referral_welcome"], name="李雷", points=30),
    }
    # "Why?" on the points explains them.
    (points,) = await say(dialogs, "/points", user="ann")
    (why,) = await say(dialogs, payload=points.choices[0].payload, user="ann")
    assert why.text == t(
        "zh_CN", "Thank you for inviting a friend: they made their first purchase."
    )

    # Staff see who invited whom.
    (card,) = await say(dialogs, "/member 13800000001", user="cleo", lang=lang)
    assert (
        t(lang, "Invited {count} members, {rewarded} of them bought already:", count=1, rewarded=1)
        in card.text
    )
    assert f"李雷 ({lei.member_no}) — {t(lang, 'bought')}" in card.text
    (friend_card,) = await say(dialogs, f"/member {lei.member_no}", user="cleo", lang=lang)
    assert t(lang, "Invited by: {name}", name=f"安妮 ({ann.member_no})") in friend_card.text


@LOCALES
async def test_a_wechat_qr_scene_and_a_typed_code_count_too(
    ctx: Context, dialogs: Dialogs, ann: MemberView, lang: str
) -> None:
    code = await code_of(ctx, ann)
    summary = await register(dialogs, lang, "wx-lei", "wechat", start=f"ref-{code}")
    await say(dialogs, payload=press(summary, t(lang, "Confirm")), user="wx-lei", channel="wechat")
    lei = await member_for_identity(ctx, "wechat", "wx-lei")
    assert lei is not None and await via_of(ctx, lei.id) == "qr"

    # Without a link: the summary invites to type the code; the code (any case, spaced)
    # is taken there, without a step more for anyone.
    summary = await register(dialogs, lang, "bob", "console", phone="13900000003", text="hi")
    assert t(lang, "Invited by a friend? Type their invite code now.") in summary.text
    assert [b.label for b in summary.choices] == [t(lang, "Confirm"), t(lang, "Start over")]
    (typed,) = await say(dialogs, f"{code[:4].lower()} {code[4:]}", user="bob")
    assert t(lang, "Invited by: {name}", name="安妮") in typed.text
    await say(dialogs, payload=press(typed, t(lang, "Confirm")), user="bob")
    bob = await member_for_identity(ctx, "console", "bob")
    assert bob is not None and await via_of(ctx, bob.id) == "code"
    assert len((await referrals.member_referrals(ctx, ann.id)).invited) == 2


@LOCALES
async def test_invites_that_cannot_count_are_said_and_dropped(
    ctx: Context, dialogs: Dialogs, ann: MemberView, lang: str
) -> None:
    # An unknown code in the link: said, and registration is offered as usual.
    (error, welcome) = await say(dialogs, user="u1", lang=lang, start="ref-ABCDEFGH")
    assert error.text == t(lang, "{code} is not a valid invite code.", code="ABCDEFGH")
    assert t(lang, "Do you agree?") in welcome.text
    # A typed code that is nobody's: said, the summary again.
    summary = await register(dialogs, lang, "u2", "console", phone="13900000004", text="hi")
    (refusal, again) = await say(dialogs, "ZZZZZZZZ", user="u2")
    assert refusal.text == t(lang, "{code} is not a valid invite code.", code="ZZZZZZZZ")
    assert again.text == summary.text  # the summary again, saying how to leave once
    assert summary.text.count(t(lang, HINT)) == 1 and summary.text.endswith(t(lang, HINT))
    # The inviter's own phone, shared from Telegram: the invite is dropped at once, and the
    # registration finds the inviter instead.
    code = await code_of(ctx, ann)
    (welcome,) = await say(
        dialogs, user="tg-ann", channel="telegram", lang=lang, start=f"ref-{code}"
    )
    await say(dialogs, payload=press(welcome, t(lang, "Agree")), user="tg-ann", channel="telegram")
    await say(dialogs, "安妮", user="tg-ann", channel="telegram")
    note, _ask_birthday = await say(
        dialogs, user="tg-ann", channel="telegram", phone="+8613800000001"
    )
    assert note.text == t(
        lang, "This is the inviter's own phone number, so the invite cannot count."
    )
    skip = Payload("registration", "birthday", "skip").pack()
    (summary,) = await say(dialogs, payload=skip, user="tg-ann", channel="telegram")
    assert t(lang, "Invited by: {name}", name="安妮") not in summary.text


@LOCALES
async def test_a_phone_invited_before_is_refused_after_a_deletion(
    ctx: Context, dialogs: Dialogs, ann: MemberView, lang: str
) -> None:
    code = await code_of(ctx, ann)
    friend = await register_member(ctx, name="李雷", phone="13900000002", invite_code=code)
    await delete_member(ctx, friend.id, actor="member")
    (welcome,) = await say(dialogs, user="u3", lang=lang, start=f"ref-{code}")
    await say(dialogs, payload=press(welcome, t(lang, "Agree")), user="u3")
    await say(dialogs, "李雷", user="u3")
    note, _ask_birthday = await say(dialogs, "13900000002", user="u3")
    assert note.text == t(
        lang, "This phone number was invited before, so the invite cannot count again."
    )
