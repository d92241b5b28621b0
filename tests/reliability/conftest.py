"""The reliability suite drives the real dialogs, channels and processes."""

from __future__ import annotations

import pytest

from bot.dialogs.engine import Dialogs
from bot.dialogs.setup import create_dialogs
from core.context import Context


@pytest.fixture
def dialogs(ctx: Context) -> Dialogs:
    return create_dialogs(ctx)
