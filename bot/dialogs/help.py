"""The help menu: what a member can do, as buttons; the answer to anything not understood."""

from __future__ import annotations

from bot.dialogs.engine import START, Flow, Turn
from bot.dialogs.types import Button, Payload, Reply, Step, buttons
from bot.i18n import N_

NAME = "help"
# (flow, label) in menu order; each flow module registers itself under its name.
MENU = (
    ("points", N_("My points")),
    ("rewards", N_("Rewards")),
    ("coupons", N_("My coupons")),
    ("card", N_("Member card")),
    ("booking", N_("Book a visit")),
    ("feedback", N_("Feedback")),
    ("profile", N_("My profile")),
)


def menu_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    items = [Payload(flow, START).button(turn._(label)) for flow, label in MENU]
    return buttons(*(items[i : i + 2] for i in range(0, len(items), 2)))


async def show_menu(turn: Turn) -> Step:
    name = turn.member.name if turn.member else ""
    text = turn._("Hello {name}! What would you like to do?", name=name)
    hint = turn._("You can also type: points, coupons, book, feedback, or /help.")
    return Step([Reply(f"{text}\n{hint}", menu_buttons(turn))])


flow = Flow(
    name=NAME,
    start=show_menu,
    commands=("/help", "/start", "/menu"),
    keywords=("help", "帮助", "菜单", "menu"),
)
