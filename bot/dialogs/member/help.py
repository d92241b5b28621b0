"""The help menu: what a member can do, as buttons; the answer to anything not understood."""

from __future__ import annotations

from bot.dialogs.engine import deeplinks
from bot.dialogs.engine.dialogs import START, Flow, Turn
from bot.dialogs.engine.types import Button, Payload, Reply, Step, buttons
from bot.i18n import N_
from core.audit import member_actor
from core.people.members import update_member
from core.people.staff import Role

NAME = "help"
# (flow, label) in menu order; each flow module registers itself under its name.
MENU = (
    ("points", N_("My points")),
    ("rewards", N_("Rewards")),
    ("for_you", N_("For you")),
    ("coupons", N_("My coupons")),
    ("card", N_("Member card")),
    ("booking", N_("Book a visit")),
    ("events", N_("Events")),
    ("checkin", N_("Check in")),
    ("feedback", N_("Feedback")),
    ("profile", N_("My profile")),
)


# (command, what it does, lowest role) for the staff part of the help.
STAFF_COMMANDS = (
    ("/sale", N_("record a purchase"), Role.CLERK),
    ("/use", N_("mark a coupon used"), Role.CLERK),
    ("/member", N_("look up a member"), Role.CLERK),
    ("/bookings", N_("today's bookings"), Role.CLERK),
    ("/feedback", N_("answer feedback"), Role.CLERK),
    ("/event", N_("events: sign-ups, attendance, new events"), Role.CLERK),
    ("/refund", N_("refund a sale"), Role.MANAGER),
    ("/adjust", N_("adjust points by hand"), Role.MANAGER),
    ("/stats", N_("figures and chart"), Role.MANAGER),
    ("/campaign", N_("send a campaign"), Role.MANAGER),
    ("/staff", N_("the team and invites"), Role.MANAGER),
    ("/alerts", N_("alerts to approve"), Role.OWNER),
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
    staff = _staff_help(turn)
    if turn.member is None:  # staff who are not members: only their commands
        return Step([Reply(staff)])
    text = turn._("Hello {name}! What would you like to do?", name=turn.member.name)
    hint = turn._("You can also type: points, coupons, book, feedback, or /help.")
    return Step([Reply("\n".join(filter(None, (text, hint, staff))), menu_buttons(turn))])


def _staff_help(turn: Turn) -> str:
    """The staff commands this person's role allows, one per line; empty for members."""
    if turn.staff is None:
        return ""
    lines = [turn._("Staff commands:")]
    lines += [
        f"{command} — {turn._(what)}"
        for command, what, role in STAFF_COMMANDS
        if turn.staff.role.allows(role)
    ]
    return "\n".join(lines)


flow = Flow(
    name=NAME,
    start=show_menu,
    commands=("/help", "/start", "/menu"),
    keywords=("help", "帮助", "菜单", "menu"),
)
