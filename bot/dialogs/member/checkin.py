"""Daily check-in: "签到" or /checkin gives today's points (once per shop day) and shows the
streak, the bonus it brought or how far the next one is, and the monthly cap when reached."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import START, Flow, Menu, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.member import points
from bot.i18n import N_
from core.engagement import checkins

NAME = "checkin"


async def check_in(turn: Turn) -> Step:
    assert turn.member is not None
    rules = turn.ctx.shop.checkin
    if not rules.enabled:
        return Step([Reply(turn._("Check-in is not offered at the moment."))])
    done = await checkins.check_in(turn.ctx, turn.member.id)
    if done.already:
        lines = [
            turn._("You have already checked in today. Come back tomorrow!"),
            turn._("Days in a row: {days}", days=done.streak),
        ]
    else:
        lines = [turn._("Checked in! +{points} points.", points=done.points)]
        if done.bonus:
            lines.append(
                turn._(
                    "That includes a bonus of {bonus} points for {days} days in a row!",
                    bonus=done.bonus,
                    days=done.streak,
                )
            )
        lines.append(turn._("Days in a row: {days}", days=done.streak))
        if done.capped:
            lines.append(
                turn._(
                    "This month's check-in points are used up ({cap} points); your streak "
                    "still counts.",
                    cap=rules.monthly_cap,
                )
            )
    if done.next_bonus_in is not None:
        lines.append(
            turn._(
                "Check-ins to the next bonus of {bonus} points: {days}",
                days=done.next_bonus_in,
                bonus=rules.streak_bonus,
            )
        )
    lines.append(turn._("Points: {balance}", balance=done.balance))
    more = buttons([Payload(points.NAME, START).button(turn._("My points"))])
    return Step([Reply("\n".join(lines), more)])


flow = Flow(
    name=NAME,
    start=check_in,
    commands=("/checkin",),
    intents=(
        Intents(
            zh=("签到", "打卡", "每日签到", "今日签到", "我要签到", "签个到"),
            en=("check in", "check-in", "checkin", "daily check in", "sign in today"),
        ),
    ),
    precedence=110,
    menu=Menu(N_("Check in"), order=80),
)
FLOWS = (flow,)
