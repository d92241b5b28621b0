"""A command that was tapped, not typed (a link or button that is not memberbot's), in both
languages: it is shown and runs only once confirmed, once however often Run is tapped;
anything else tapped that is not ours is no longer valid. And the console shows what people
typed without letting the terminal obey it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Event, Reply, Sender
from bot.handlers import console
from bot.i18n import LOCALES, gettext
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import SaleRow
from tests.dialogs.conftest import press, say

COMMAND = "/sale 13800138555 4000"


async def tap(dialogs: Dialogs, text: str, user: str, lang: str) -> list[Reply]:
    """What the bot answers when ``user`` taps a link that sends ``text``."""
    return await dialogs.handle(Event(Sender("console", user, lang), text=text, tapped=True))


async def sale_count(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(SaleRow)) or 0)


@pytest.fixture
async def clerk(ctx: Context) -> str:
    await register_member(ctx, name="王芳", phone="13800138555")
    await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store="main")
    return "clerk"


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_tapped_command_runs_once_confirmed(
    ctx: Context, dialogs: Dialogs, clerk: str, lang: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    (asked,) = await tap(dialogs, COMMAND, clerk, lang)
    assert asked.text == t(
        "A link you tapped sends this command:\n{command}\nRun it?", command=COMMAND
    )
    assert [b.label for b in asked.choices] == [t("Run it"), t("Cancel")]
    assert await sale_count(ctx) == 0

    (done,) = await say(dialogs, payload=press(asked, t("Run it")), user=clerk, lang=lang)
    (again,) = await say(dialogs, payload=press(asked, t("Run it")), user=clerk, lang=lang)

    assert done.text.startswith(t("Recorded {amount} for {member}.", amount="", member="")[:2])
    assert again.text == t("This button is no longer valid; nothing more was done.")
    assert await sale_count(ctx) == 1


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_tapped_text_that_is_not_ours_is_no_longer_valid(
    ctx: Context, dialogs: Dialogs, clerk: str, lang: str
) -> None:
    """The conversation waiting for an amount stays where it was."""
    await say(dialogs, "/sale 13800138555", user=clerk, lang=lang)
    (refused,) = await tap(dialogs, "40", clerk, lang)
    assert refused.text == gettext(lang, "This button is no longer valid; nothing more was done.")
    assert await sale_count(ctx) == 0
    await say(dialogs, "40", user=clerk, lang=lang)
    assert await sale_count(ctx) == 1


def test_the_console_shows_control_characters_instead_of_obeying_them(tmp_path: Path) -> None:
    text, _ = console.render([Reply("差评\x1b]0;pwned\x07\x1b[2J\n第二行\t!")], tmp_path)
    assert text == "差评\\x1b]0;pwned\\x07\\x1b[2J\n第二行\t!"
