"""The flows' declarations agree with each other and with what is made of them: every
command routes to its flow, every menu button, WeChat key and button naming a flow by a
literal starts a flow that exists, Telegram's commands are commands of flows, every staff
flow is in help, and no module defines a flow the registry does not serve. A flow added or
changed in one place only cannot drift from the menus."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

from bot.dialogs import member, staff
from bot.dialogs.engine.dialogs import START, Dialogs, Flow, Turn
from bot.dialogs.engine.types import Event, Payload, Sender
from bot.dialogs.member import help
from bot.dialogs.registry import FLOWS
from bot.handlers.telegram import command_menu
from bot.handlers.wechat_setup import MENU_KEYS
from core.context import Context
from core.people.staff import Role, StaffView

NAMES = {flow.name for flow in FLOWS}
DIALOGS = Path(member.__file__).parent.parent
# A button naming the flow it starts by a literal, where importing the flow's NAME would make
# an import cycle (coupons ↔ rewards).
STARTED_BY_NAME = re.compile(r'Payload\(\s*"([^"]+)",\s*START\b')


def turn(ctx: Context, text: str, role: Role | None = None) -> Turn:
    staff = StaffView(1, "console", "x", role, None, "x", "en") if role else None
    return Turn(
        ctx=ctx,
        event=Event(Sender("console", "x"), text=text),
        identity=None,  # type: ignore[arg-type]
        member=None,
        locale="en",
        staff=staff,
        flows=FLOWS,
    )


def test_every_command_routes_to_its_flow(ctx: Context, dialogs: Dialogs) -> None:
    for flow in FLOWS:
        for command in flow.commands:
            assert command.startswith("/") and command == command.lower(), command
            routed, step = dialogs._route(turn(ctx, f"{command} x", flow.role), None)
            assert (routed.name, step) == (flow.name, START), command


def test_the_member_menu_starts_member_flows_that_exist(ctx: Context) -> None:
    menus = sorted((f.menu.order, f.name) for f in FLOWS if f.menu and f.role is None)
    assert len({order for order, _ in menus}) == len(menus) == sum(bool(f.menu) for f in FLOWS)
    pressed = [Payload.unpack(b.payload) for row in help.menu_buttons(turn(ctx, "")) for b in row]
    assert pressed == [Payload(name, START) for _, name in menus]
    assert {name for _, name in menus} <= NAMES


def test_telegram_commands_are_commands_of_their_flows() -> None:
    entries = command_menu(FLOWS)
    assert [e.command for e in entries][:1] == ["start"]
    assert {"start", "help", "lang"} <= {e.command for e in entries}
    assert len({e.command for e in entries}) == len({e.order for e in entries}) == len(entries)
    for flow in FLOWS:
        assert all(f"/{e.command}" in flow.commands for e in flow.command_menu), flow.name
        assert flow.role is None or not flow.command_menu, flow.name  # members' menu only


def test_every_staff_flow_with_a_role_has_a_help_line_and_only_those() -> None:
    for flow in FLOWS:
        assert (flow.role is not None) == (flow.staff_help is not None), flow.name
        assert not flow.staff_help or flow.commands, flow.name
    orders = [flow.staff_help.order for flow in FLOWS if flow.staff_help]
    assert len(set(orders)) == len(orders)


def test_keywords_are_tried_in_a_declared_order() -> None:
    worded = [flow for flow in FLOWS if flow.keywords]
    assert len({flow.precedence for flow in worded}) == len(worded)
    assert all(flow.role is None for flow in worded)  # a keyword never starts a staff flow


def test_wechat_menu_keys_are_the_flows() -> None:
    assert MENU_KEYS == NAMES


def test_buttons_that_start_a_flow_by_its_name_start_one_that_exists() -> None:
    named = {
        (path.name, name)
        for path in DIALOGS.rglob("*.py")
        for name in STARTED_BY_NAME.findall(path.read_text(encoding="utf-8"))
    }
    assert named  # the pattern still finds them
    assert all(name in NAMES for _, name in named), named


@pytest.mark.parametrize("package", [member, staff], ids=lambda p: p.__name__)
def test_no_module_defines_a_flow_it_does_not_serve(package: ModuleType) -> None:
    for found in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(found.name)
        defined = [value for value in vars(module).values() if isinstance(value, Flow)]
        served = getattr(module, "FLOWS", ())
        assert all(flow in served and flow in FLOWS for flow in defined), found.name
