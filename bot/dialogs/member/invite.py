"""Invite friends (老带新): the member's own invite code, the Telegram link that carries it
when the shop file names the bot, what the friend does with it, what both get, and how many
friends came so far. Also under "My profile"."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Flow, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Reply, Step
from core.engagement import referrals

NAME = "invite"


async def show(turn: Turn) -> Step:
    assert turn.member is not None
    ctx = turn.ctx
    invite = await referrals.invite_code(ctx, turn.member.id)
    rules = ctx.shop.referrals
    lines = [turn._("Your invite code: {code}", code=invite.code)]
    if invite.link:
        lines.append(turn._("Or send your friends this link: {link}", link=invite.link))
        how = turn._(
            "Friends who join with it type the code when they register (on WeChat or "
            "Telegram), or open the link."
        )
    else:  # no Telegram bot to link to: the code is the only way
        how = turn._(
            "Friends who join with it type the code when they register (on WeChat or Telegram)."
        )
    lines.append(how)
    if rules.referrer_points:
        lines.append(
            turn._(
                "When a friend makes their first purchase, you get {points} points.",
                points=rules.referrer_points,
            )
        )
    if rules.welcome_points:
        lines.append(
            turn._(
                "Your friend gets {points} points with that purchase too.",
                points=rules.welcome_points,
            )
        )
    summary = await referrals.member_referrals(ctx, turn.member.id)
    if summary.invited:
        lines.append(
            turn._(
                "Friends who joined: {count}; of them bought already: {rewarded}.",
                count=len(summary.invited),
                rewarded=summary.rewarded,
            )
        )
    return Step([Reply("\n".join(lines))])


flow = Flow(
    name=NAME,
    start=show,
    commands=("/invite",),
    intents=(
        Intents(
            zh=(
                "邀请",
                "邀请好友",
                "邀请朋友",
                "推荐朋友",
                "推荐好友",
                "推荐朋友有奖励吗",
                "老带新",
                "拉新",
                "分享给朋友",
                "邀请码",
                "带朋友来",
            ),
            en=(
                "invite",
                "invite a friend",
                "invite friends",
                "refer a friend",
                "referral",
                "referral code",
                "my invite link",
                "bring a friend",
                "refer friends",
            ),
        ),
    ),
    precedence=120,
)
FLOWS = (flow,)
