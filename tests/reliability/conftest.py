"""The reliability suite drives the real dialogs, channels and processes."""

from __future__ import annotations

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.registry import create_dialogs
from core.context import Context
from tests.channels.conftest import fake_telegram, fake_wechat, session

__all__ = ["fake_telegram", "fake_wechat", "session"]  # the channels' fixtures, shared


@pytest.fixture
def dialogs(ctx: Context) -> Dialogs:
    return create_dialogs(ctx)
