"""The flows memberbot serves, found in their modules, and the engine over them.

Every module of ``bot.dialogs.member`` and ``bot.dialogs.staff`` that holds flows names
them in a module-level ``FLOWS`` tuple; a module without one (shared helpers) holds none.
Adding a flow is adding its module: its declaration (``Flow``) says everything the menus,
help and channels need. The order is the flows' ``precedence``, then their names, never
the files'.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from bot.dialogs import member, staff
from bot.dialogs.engine.dialogs import Dialogs, Flow
from bot.dialogs.member import help, registration
from core.context import Context


def discover(*packages: ModuleType) -> tuple[Flow, ...]:
    """The flows the modules of ``packages`` name in their ``FLOWS``, in routing order."""
    found: dict[str, Flow] = {}
    for package in packages:
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            for flow in getattr(importlib.import_module(module.name), "FLOWS", ()):
                if found.setdefault(flow.name, flow) is not flow:
                    raise ValueError(f"two flows are named {flow.name!r}")
    return tuple(sorted(found.values(), key=lambda flow: (flow.precedence, flow.name)))


FLOWS = discover(member, staff)


def create_dialogs(ctx: Context) -> Dialogs:
    return Dialogs(ctx, FLOWS, registration=registration.NAME, help=help.NAME)
