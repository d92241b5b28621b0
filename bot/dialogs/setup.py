"""The flows memberbot serves, in one list, and the engine over them."""

from __future__ import annotations

from bot.dialogs import help, points
from bot.dialogs.engine import Dialogs
from core.context import Context

FLOWS = (help.flow, points.flow)


def create_dialogs(ctx: Context) -> Dialogs:
    return Dialogs(ctx, FLOWS, registration=help.NAME, help=help.NAME)
