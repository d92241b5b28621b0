"""Rewards: the catalogue with the member's balance → choose a reward → confirm (cost,
balance after, validity) → the coupon's code and expiry.

Confirm and Cancel are the two answers of one ``once`` step, so whichever is tapped first
wins: a double tap on Confirm redeems once, and Confirm after Cancel does nothing.

Goods rewards (商品兑换) show how many pieces are left; their coupon is a pickup code for
the counter. The last piece taken by someone else meanwhile is said, with nothing spent.
"""

from __future__ import annotations

from datetime import timedelta

from bot.dialogs.engine.dialogs import START, Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.member import coupons
from bot.i18n import N_, localized
from core.engagement import products
from core.errors import NotEnoughPoints, OutOfStock, UnknownReward
from core.ledger import statement
from core.ledger.coupons import CouponView, redeem_reward
from core.shop import Reward

NAME = "rewards"
CHOOSE = "choose"
CONFIRM = "confirm"
YES = "yes"
NO = "no"


def reward_name(turn: Turn, reward: Reward) -> str:
    return localized(reward.name, reward.name_en, turn.locale)


async def balance(turn: Turn) -> int:
    assert turn.member is not None
    return (await statement.points_summary(turn.ctx, turn.member.id)).balance


async def show(turn: Turn) -> Step:
    """The catalogue; the rewards the member can afford now are buttons."""
    rewards = turn.ctx.shop.rewards
    if not rewards:
        return Step([Reply(turn._("There are no rewards at the moment."))])
    points = await balance(turn)
    stock = await products.stock_left(turn.ctx)
    lines = [turn._("Rewards — you have {balance} points:", balance=points)]
    choices = []
    for number, reward in enumerate(rewards, start=1):
        name = reward_name(turn, reward)
        if reward.goods is not None:
            left = stock.get(reward.code, 0)
            lines.append(
                turn._(
                    "{number}. {reward}: {points} points, {left} left",
                    number=number,
                    reward=name,
                    points=reward.points,
                    left=left,
                )
                if left
                else turn._(
                    "{number}. {reward}: {points} points, sold out",
                    number=number,
                    reward=name,
                    points=reward.points,
                )
            )
            if not left:
                continue
        else:
            lines.append(
                turn._(
                    "{number}. {reward}: {points} points, worth {value}, valid for {days} days",
                    number=number,
                    reward=name,
                    points=reward.points,
                    value=turn.money(reward.coupon_value_fen),
                    days=reward.valid_days,
                )
            )
        if reward.points <= points:
            choices.append(
                Payload(NAME, CHOOSE, reward.code).button(
                    turn._("{reward} ({points} points)", reward=name, points=reward.points)
                )
            )
    if not choices:
        available = [r for r in rewards if r.goods is None or stock.get(r.code)]
        if available:  # else every one is goods that ran out
            cheapest = min(available, key=lambda r: r.points)
            lines.append(
                turn._(
                    "Collect {missing} more points for {reward}.",
                    missing=cheapest.points - points,
                    reward=reward_name(turn, cheapest),
                )
            )
        return Step([Reply("\n".join(lines))])
    lines.append(turn._("Which one would you like?"))
    return Step([Reply("\n".join(lines), buttons(*([choice] for choice in choices)))], next=CHOOSE)


async def choose(turn: Turn) -> Step:
    """Ask before spending: what it costs, what is left, how long the coupon is valid."""
    if turn.payload is None:  # typed text instead of a button: show the choices again
        return await show(turn)
    reward = turn.ctx.shop.reward(turn.payload.value)
    if reward is None:
        raise UnknownReward(reward=turn.payload.value)
    points = await balance(turn)
    if points < reward.points:
        raise NotEnoughPoints(balance=points, needed=reward.points)
    if reward.goods is not None and not (await products.stock_left(turn.ctx)).get(reward.code):
        raise OutOfStock(reward=reward.code)
    turn.data["reward"] = reward.code
    return confirm_screen(turn, reward, points)


def confirm_screen(turn: Turn, reward: Reward, points: int) -> Step:
    until = turn.ctx.now() + timedelta(days=reward.valid_days)
    text = "\n".join(
        (
            turn._(
                "Redeem {points} points for {reward}?",
                points=reward.points,
                reward=reward_name(turn, reward),
            ),
            turn._("Points left afterwards: {balance}", balance=points - reward.points),
            turn._("You pick it up at the counter with a code, until {day}.", day=turn.day(until))
            if reward.goods is not None
            else turn._(
                "The coupon is worth {value} and valid until {day}.",
                value=turn.money(reward.coupon_value_fen),
                day=turn.day(until),
            ),
        )
    )
    answers = buttons(
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Confirm")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    )
    return Step([Reply(text, answers)], next=CONFIRM)


async def confirm(turn: Turn) -> Step:
    """Redeem (once, however often Confirm is tapped) or cancel."""
    assert turn.member is not None
    reward = turn.ctx.shop.reward(str(turn.data.get("reward", "")))
    if reward is None:
        raise UnknownReward(reward=turn.data.get("reward", ""))
    if turn.payload is None:  # typed text instead of a button: ask again
        return confirm_screen(turn, reward, await balance(turn))
    if turn.payload.value != YES:
        return Step([Reply(turn._("Cancelled; no points were spent."))])
    coupon = await redeem_reward(turn.ctx, turn.member.id, reward.code)
    if reward.goods is not None:
        return Step([await _picked(turn, reward, coupon)])
    text = "\n".join(
        (
            turn._(
                "Done! Your coupon code: {code}",
                code=coupons.format_coupon_code(coupon.code),
            ),
            turn._(
                "{reward}, worth {value}, valid until {day}.",
                reward=reward_name(turn, reward),
                value=turn.money(coupon.value_fen),
                day=turn.day(coupon.expires_at),
            ),
            turn._(
                "Show the code at the counter. Points left: {balance}", balance=await balance(turn)
            ),
        )
    )
    return Step([Reply(text, buttons([Payload(coupons.NAME, START).button(turn._("My coupons"))]))])


async def _picked(turn: Turn, reward: Reward, coupon: CouponView) -> Reply:
    text = "\n".join(
        (
            turn._("Done! Your pickup code: {code}", code=coupons.format_coupon_code(coupon.code)),
            turn._(
                "Show it at the counter to get {reward}, until {day}.",
                reward=reward_name(turn, reward),
                day=turn.day(coupon.expires_at),
            ),
            turn._("Points left: {balance}", balance=await balance(turn)),
        )
    )
    return Reply(text, buttons([Payload(coupons.NAME, START).button(turn._("My coupons"))]))


flow = Flow(
    name=NAME,
    start=show,
    steps={CHOOSE: choose, CONFIRM: confirm},
    once=frozenset({CONFIRM}),
    shown_again=frozenset({CONFIRM}),
    commands=("/rewards",),
    intents=(
        Intents(
            zh=(
                "兑换",
                "积分兑换",
                "积分能换什么",
                "积分可以换什么",
                "用积分换优惠券",
                "积分换券",
                "积分换礼品",
                "兑换礼品",
                "礼品",
                "有什么奖品",
                "换礼物",
                "积分怎么用",
                "积分能干嘛",
                "我要兑换",
                "兑换券",
                "积分能抵钱吗",
                "积分抵扣",
            ),
            en=(
                "rewards",
                "reward",
                "redeem",
                "redeem points",
                "redeem my points",
                "what can i get with my points",
                "exchange points",
                "spend my points",
                "use my points",
                "use points for a coupon",
                "gifts",
                "points for a voucher",
                "what can i redeem",
                "swap points",
            ),
        ),
    ),
    precedence=30,
    menu=Menu(N_("Rewards"), order=20),
    command_menu=(MenuCommand("rewards", N_("Redeem points for coupons"), order=30),),
)
FLOWS = (flow,)
