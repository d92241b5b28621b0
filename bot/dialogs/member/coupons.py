"""My coupons: the unused ones with code, value and expiry (soonest to expire first), and on
request the used and expired ones."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import START, Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.i18n import N_, localized
from core.ledger.coupons import CouponView, member_coupons

NAME = "coupons"
CLOSED = "closed"
CODE_GROUP = 5
CLOSED_SHOWN = 20  # the most recent ones; older coupons are history nobody needs in a chat


def format_coupon_code(code: str) -> str:
    """Groups of five (``ABCDE-FGHJK``) are easier to read aloud and type at the counter;
    the counter accepts the code with or without the dashes."""
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def reward_name(turn: Turn, coupon: CouponView) -> str:
    """The reward's name in the reader's language; the value if it left the shop file."""
    reward = turn.ctx.shop.reward(coupon.reward)
    if reward is None:
        return turn.money(coupon.value_fen)
    return localized(reward.name, reward.name_en, turn.locale)


async def show(turn: Turn) -> Step:
    assert turn.member is not None
    coupons = await member_coupons(turn.ctx, turn.member.id)
    closed_button = Payload(NAME, CLOSED).button(turn._("Show used and expired"))
    if not coupons:
        text = turn._("You have no coupons to use right now. Redeem points for one:")
        rewards_button = Payload("rewards", START).button(turn._("Rewards"))
        return Step([Reply(text, buttons([rewards_button], [closed_button]))])
    lines = [turn._("Your coupons (show the code at the counter):")]
    for number, coupon in enumerate(coupons, start=1):
        lines.append(
            turn._(
                "{number}. {code} — {reward}, worth {value}, valid until {day}",
                number=number,
                code=format_coupon_code(coupon.code),
                reward=reward_name(turn, coupon),
                value=turn.money(coupon.value_fen),
                day=turn.day(coupon.expires_at),
            )
        )
    return Step([Reply("\n".join(lines), buttons([closed_button]))])


async def closed(turn: Turn) -> Step:
    """Used and expired coupons, the most recent first."""
    assert turn.member is not None
    now = turn.ctx.now()
    coupons = [
        coupon
        for coupon in await member_coupons(turn.ctx, turn.member.id, include_closed=True)
        if coupon.used_at is not None or coupon.expires_at <= now
    ]
    if not coupons:
        return Step([Reply(turn._("You have no used or expired coupons."))])
    coupons.sort(key=lambda c: c.used_at or c.expires_at, reverse=True)
    lines = [turn._("Used and expired coupons:")]
    for coupon in coupons[:CLOSED_SHOWN]:
        code = format_coupon_code(coupon.code)
        reward = reward_name(turn, coupon)
        if coupon.used_at is not None:
            line = turn._(
                "{code} — {reward}, used on {day}",
                code=code,
                reward=reward,
                day=turn.day(coupon.used_at),
            )
        else:
            line = turn._(
                "{code} — {reward}, expired on {day}",
                code=code,
                reward=reward,
                day=turn.day(coupon.expires_at),
            )
        lines.append(line)
    return Step([Reply("\n".join(lines))])


flow = Flow(
    name=NAME,
    start=show,
    steps={CLOSED: closed},
    stateless=frozenset({CLOSED}),
    commands=("/coupons",),
    intents=(
        Intents(
            zh=(
                "优惠券",
                "我的优惠券",
                "我的券",
                "查看优惠券",
                "有什么券",
                "代金券",
                "卡券",
                "我有几张券",
                "券",
                "优惠卷",
                "抵用券",
                "我的优惠",
                "优惠码",
            ),
            en=(
                "coupons",
                "coupon",
                "my coupons",
                "show my vouchers",
                "vouchers",
                "voucher",
                "my vouchers",
                "my discount codes",
                "do i have any coupons",
                "discount code",
                "my discounts",
            ),
        ),
    ),
    precedence=40,
    menu=Menu(N_("My coupons"), order=40),
    command_menu=(MenuCommand("coupons", N_("My coupons"), order=40),),
)
FLOWS = (flow,)
