"""Dialog test wiring: the engine over the test database, one line per chat message, a
button pressed by its label, and texts as the reader sees them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import STAMP, Dialogs
from bot.dialogs.engine.types import Event, Payload, Reply, Sender
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.registry import create_dialogs
from bot.i18n import gettext
from core.context import Context
from storage.models import ConversationRow, IdentityRow


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
    """What the bot answers when ``user`` sends ``text`` (or presses ``payload``: a button
    written without a stamp is the one under the newest message, as a person taps it)."""
    sender = Sender(channel, user, locale_hint=lang)
    if payload is not None:
        payload = await newest(dialogs.ctx, channel, user, payload)
    return await dialogs.handle(Event(sender, text=text, payload=payload, **event))


async def newest(ctx: Context, channel: str, user: str, packed: str) -> str:
    """``packed`` as the newest message of ``user``'s conversation shows it (stamped)."""
    payload = Payload.unpack(packed)
    if payload is None or payload.stamp:
        return packed
    async with ctx.db.read() as s:
        data = await s.scalar(
            select(ConversationRow.data)
            .join(IdentityRow, IdentityRow.id == ConversationRow.identity_id)
            .where(IdentityRow.channel == channel, IdentityRow.external_id == user)
        )
    stamp = (data or {}).get(STAMP, "")
    return replace(payload, stamp=stamp).pack() if stamp else packed


def unstamped(packed: str) -> str:
    """A shown button's payload without the stamp of the message that showed it."""
    payload = Payload.unpack(packed)
    return replace(payload, stamp="").pack() if payload else packed


def press(reply: Reply, label: str, *, exact: bool = False) -> str:
    """The payload of the button labelled ``label``, else (unless ``exact``) of the first
    whose label contains it."""
    found = [b for b in reply.choices if b.label == label]
    if not found and not exact:
        found = [b for b in reply.choices if label in b.label]
    if not found:
        raise AssertionError(f"no button {label!r} in {[b.label for b in reply.choices]}")
    return found[0].payload


def t(locale: str, message: str, **params: object) -> str:
    """What the reader sees for ``message`` (the English source until it is translated)."""
    return gettext(locale, message, **params)


def hinted(locale: str, text: str) -> str:
    """``text`` as a step that waits shows it: with how to leave the step under it."""
    return f"{text}\n{gettext(locale, HINT)}"
