"""The help menu: what a member can do, as buttons; the answer to anything not understood."""

from __future__ import annotations

from bot.dialogs import deeplinks
from bot.dialogs.engine import START, Flow, Turn
from bot.dialogs.types import Button, Payload, Reply, Step, buttons
from bot.i18n import N_
from core.audit import member_actor
from core.members import update_member

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
    """The menu; a member without a home store who scans a store's QR code gets that store."""
    store = deeplinks.store_code(turn)
    if store is not None and turn.member is not None and turn.member.home_store is None:
        turn.member = await update_member(
            turn.ctx, turn.member.id, actor=member_actor(turn.member.id), home_store=store
        )
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
