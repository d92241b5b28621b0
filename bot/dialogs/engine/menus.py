"""A flow's places in the menus people see: the member menu, staff help, and a channel's
command menu. ``Flow`` declares them; the menus are made from the flows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Menu:
    """A flow's button in the member menu (help): its label and its place, lower first."""

    label: str
    order: int


@dataclass(frozen=True)
class StaffHelp:
    """A staff flow's line in help: what its first command does, and its place, lower
    first. Shown to the roles the flow allows."""

    line: str
    order: int


@dataclass(frozen=True)
class MenuCommand:
    """An entry of a channel's command menu (Telegram's): one of the flow's commands
    without its slash, what it does, and its place, lower first."""

    command: str
    description: str
    order: int
