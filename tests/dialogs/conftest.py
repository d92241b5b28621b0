"""Dialog test wiring: the engine over the test database, and one line per chat message."""

from __future__ import annotations

import pytest

from bot.dialogs.engine import Dialogs
from bot.dialogs.setup import create_dialogs
from bot.dialogs.types import Event, Reply, Sender
from core.context import Context


@pytest.fixture
def dialogs(ctx: Context) -> Dialogs:
    return create_dialogs(ctx)


async def say(
    dialogs: Dialogs,
    text: str = "",
    *,
    payload: str | None = None,
    user: str = "u1",
    lang: str | None = None,
    channel: str = "console",
    **event: str,
) -> list[Reply]:
    """What the bot answers when ``user`` sends ``text`` (or presses ``payload``)."""
    sender = Sender(channel, user, locale_hint=lang)
    return await dialogs.handle(Event(sender, text=text, payload=payload, **event))
