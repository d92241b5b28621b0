"""Formats people type, through the real engine in both languages: birthdays as the bot
itself shows them, amounts with thousands separators, phones in groups, short member numbers
and names with a typo at the counter."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.staff.adjust import split_arguments
from bot.dialogs.staff.bookings import parse_day
from bot.dialogs.staff.event_input import read_day
from bot.dialogs.staff.references import split_reference
from bot.i18n import LOCALES, format_money
from core.context import Context
from core.ledger import statement
from core.people.members import get_member, member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.models import MemberRow
from tests import factories
from tests.dialogs.conftest import hinted, press, say, t


@pytest.fixture
async def clerk(ctx: Context) -> str:
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    return "cleo"


@pytest.mark.parametrize("lang", LOCALES)
async def test_registration_takes_the_birthday_as_the_bot_writes_it(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    (welcome,) = await say(dialogs, "hi", lang=lang)
    await say(dialogs, payload=press(welcome, t(lang, "Agree")), lang=lang)
    await say(dialogs, "李雷", lang=lang)
    await say(dialogs, "+86 138-0013-8000", lang=lang)
    (refused,) = await say(dialogs, "1990/5/32", lang=lang)
    assert refused.text.startswith(
        t(lang, "{value} is not a valid birthday (use YYYY-MM-DD).", value="1990/5/32")
    )  # what was typed, not a rewritten "1990-5-32"
    (summary,) = await say(dialogs, "1990年5月12日", lang=lang)
    await say(dialogs, payload=press(summary, t(lang, "Confirm")), lang=lang)
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None
    assert (member.phone, str(member.birthday)) == ("+8613800138000", "1990-05-12")


@pytest.mark.parametrize("lang", LOCALES)
async def test_profile_takes_an_english_birthday(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    member = await factories.registered(
        ctx, name="李雷", phone="13800138000", user="u1", locale=lang
    )
    (view,) = await say(dialogs, "/profile")
    await say(dialogs, payload=press(view, t(lang, "Edit birthday")))
    (saved,) = await say(dialogs, "May 12 1990")
    assert saved.text.startswith(t(lang, "Saved."))
    assert str((await get_member(ctx, member.id)).birthday) == "1990-05-12"


@pytest.mark.parametrize("lang", LOCALES)
async def test_sale_amounts_with_thousands_separators(
    ctx: Context, dialogs: Dialogs, clerk: str, lang: str
) -> None:
    member = await factories.registered(ctx, name="李雷", phone="13800138000")
    (done,) = await say(dialogs, "/sale 13800138000 1,200.50 R-1", user=clerk, lang=lang)
    assert format_money(120_050, lang) in done.text
    (done,) = await say(dialogs, "/sale 138 0013 8000 ￥１，０００ R-2", user=clerk, lang=lang)
    assert format_money(100_000, lang) in done.text
    (asked,) = await say(dialogs, "/sale 13800138000 1,20 R-3", user=clerk, lang=lang)
    assert asked.text == "\n".join(
        (
            t(
                lang,
                "{value} is not a valid amount: a comma only separates thousands, as in 1,200.50.",
                value="1,20",
            ),
            t(lang, "How much did they spend?"),
            t(lang, HINT),
        )
    )
    await say(dialogs, "120元", user=clerk, lang=lang)
    summary = await statement.points_summary(ctx, member.id)
    assert summary.window_spend_fen == 120_050 + 100_000 + 12_000


@pytest.mark.parametrize("lang", LOCALES)
async def test_member_number_without_its_zeros(
    ctx: Context, dialogs: Dialogs, clerk: str, lang: str
) -> None:
    async with ctx.db.transaction() as s:  # member number 302 without 301 registrations
        s.add(MemberRow(id=302, name="Bob Chen", tier="member", registered_at=ctx.now()))
    (card,) = await say(dialogs, "/member 302", user=clerk, lang=lang)
    assert "Bob Chen (M000302)" in card.text
    (card,) = await say(dialogs, "/member ０００３０２", user=clerk, lang=lang)  # full-width
    assert "Bob Chen (M000302)" in card.text


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_name_with_a_typo_lists_candidates(
    ctx: Context, dialogs: Dialogs, clerk: str, lang: str
) -> None:
    bob = await register_member(ctx, name="Bob Chen", phone="13900139000")
    await register_member(ctx, name="Alice Wang", phone="13700137000")
    (which,) = await say(dialogs, "/member Bob Chenn", user=clerk, lang=lang)
    assert which.text == hinted(
        lang, t(lang, "Which member do you mean by “{reference}”?", reference="Bob Chenn")
    )
    assert [b.label for b in which.choices] == ["Bob Chen (M000001, +86139****9000)"]
    (card,) = await say(dialogs, payload=which.choices[0].payload, user=clerk, lang=lang)
    assert f"Bob Chen ({bob.member_no}" in card.text
    (nobody,) = await say(dialogs, "/member Zhang Wei", user=clerk, lang=lang)
    assert nobody.text == t(lang, "No such member.")


def test_a_phone_typed_in_groups_stays_one_member_reference() -> None:
    assert split_arguments("/adjust 138 0013 8000 +50 goodwill") == {
        "reference": "138 0013 8000",
        "points": "+50",
        "reason": "goodwill",
    }
    assert split_arguments("/adjust +86 138-0013-8000 -5")["reference"] == "+86 138-0013-8000"
    assert split_arguments("/adjust 302 +5")["reference"] == "302"
    words = ["+1", "4155550100", "12", "R-1"]
    assert split_reference(words, str.isdecimal) == ("+1 4155550100", ["12", "R-1"])


def test_staff_days_are_read_as_people_write_them() -> None:
    today = date(2026, 1, 1)
    for typed in ("2026-01-05", "2026/1/5", "2026年1月5日", "２０２６．１．５"):
        assert parse_day(typed, today) == date(2026, 1, 5)
        assert read_day(typed) == date(2026, 1, 5)
    assert parse_day("明天", today) == date(2026, 1, 2)
    assert parse_day("2026-02-30", today) is None
