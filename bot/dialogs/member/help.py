"""The help menu: what a member can do, as buttons; the answer to anything not understood."""

from __future__ import annotations

from bot.dialogs.engine import deeplinks
from bot.dialogs.engine.dialogs import START, Flow, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import Button, Payload, Reply, Step, buttons
from bot.i18n import N_
from core.audit import member_actor
from core.people.members import update_member

NAME = "help"


def menu_buttons(turn: Turn) -> tuple[tuple[Button, ...], ...]:
    """The member menu: a button for each flow with a ``Menu``, in its order, two a row."""
    entries = sorted((f.menu.order, f.name, f.menu.label) for f in turn.flows if f.menu)
    items = [Payload(name, START).button(turn._(label)) for _, name, label in entries]
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
    if turn.suggestions:
        return Step([_did_you_mean(turn)])
    text = turn._("Hello {name}! What would you like to do?", name=turn.member.name)
    hint = turn._("You can also type: points, coupons, book, feedback, or /help.")
    return Step([Reply("\n".join(filter(None, (text, hint, staff))), menu_buttons(turn))])


def _did_you_mean(turn: Turn) -> Reply:
    """Free text that came close to a few flows: a button starting each, and the menu."""
    choices = [
        [Payload(t.flow, t.step, t.value).button(turn._(t.label) if t.label else t.flow)]
        for t in turn.suggestions
    ]
    choices.append([Payload(NAME, START).button(turn._("Menu"))])
    return Reply(turn._("Did you mean …?"), buttons(*choices))


def _staff_help(turn: Turn) -> str:
    """The commands of the staff flows this person's role allows, one per line, in their
    ``StaffHelp`` order; empty for members."""
    if turn.staff is None:
        return ""
    role = turn.staff.role
    entries = sorted(
        (f.staff_help.order, f.commands[0], f.staff_help.line)
        for f in turn.flows
        if f.staff_help and f.role and role.allows(f.role)
    )
    lines = [turn._("Staff commands:")]
    lines += [f"{command} — {turn._(line)}" for _, command, line in entries]
    return "\n".join(lines)


flow = Flow(
    name=NAME,
    start=show_menu,
    commands=("/help", "/start", "/menu"),
    intents=(
        Intents(
            zh=("帮助", "菜单", "主菜单", "功能", "你能做什么", "怎么用", "有什么功能"),
            en=("help", "menu", "main menu", "what can you do", "options", "how does this work"),
        ),
    ),
    precedence=10,
    command_menu=(
        MenuCommand("start", N_("Start, or show the menu"), order=10),
        MenuCommand("help", N_("Help"), order=100),
    ),
)
FLOWS = (flow,)
