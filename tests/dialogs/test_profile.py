"""My profile, in both languages: view, edits, the once-only birthday change, language,
marketing, linking a second app, and deleting my data (asked twice)."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.i18n import gettext
from core import loyalty
from core.context import Context
from core.people.members import DELETED_NAME, get_member, member_for_identity
from storage.models import MemberRow, SaleRow
from tests.dialogs.conftest import hinted, press, say
from tests.factories import member

# The member of these tests, on the console.
lilei = partial(member, name="李雷", phone="13800138000", birthday="1990-05-01", user="u1")

LOCALES = ("zh_CN", "en")


@pytest.mark.parametrize("lang", LOCALES)
async def test_profile_shows_my_data_masked(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    await lilei(ctx, locale=lang)
    (view,) = await say(dialogs, "/profile")
    assert t("Name: {name}", name="李雷") in view.text
    assert t("Mobile: {phone}", phone="+86138****8000") in view.text
    assert "13800138000" not in view.text
    assert t("Offers and news: off") in view.text
    assert "M000001" in view.text
    assert t("Edit birthday") in [b.label for b in view.choices]


@pytest.mark.parametrize("lang", LOCALES)
async def test_edit_name_and_phone(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    member_id = await lilei(ctx, locale=lang)
    (view,) = await say(dialogs, "/profile")
    (ask,) = await say(dialogs, payload=press(view, t("Edit name")))
    assert ask.text == hinted(lang, t("Please type your new name."))
    (error,) = await say(dialogs, "")
    assert error.text == hinted(lang, t("The value for {field} is not valid.", field=t("name")))
    (saved,) = await say(dialogs, "韩梅梅")
    assert saved.text.startswith(t("Saved."))
    (ask,) = await say(dialogs, payload=press(view, t("Edit mobile")))
    (error,) = await say(dialogs, "abc")
    assert error.text == hinted(lang, t("{value} is not a valid mobile phone number.", value="abc"))
    await say(dialogs, "13900139000")
    changed = await get_member(ctx, member_id)
    assert (changed.name, changed.phone) == ("韩梅梅", "+8613900139000")


@pytest.mark.parametrize("lang", LOCALES)
async def test_birthday_can_be_changed_once(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    member_id = await lilei(ctx, locale=lang)
    (view,) = await say(dialogs, "/profile")
    edit_birthday = press(view, t("Edit birthday"))
    await say(dialogs, payload=edit_birthday)
    (error,) = await say(dialogs, "2024-02-30")
    assert "2024-02-30" in error.text
    (saved,) = await say(dialogs, "1990-06-01")
    assert t("Edit birthday") not in [b.label for b in saved.choices]
    (locked,) = await say(dialogs, payload=edit_birthday)  # the old button
    assert locked.text == t("The birthday can only be changed once; please ask the staff.")
    birthday = (await get_member(ctx, member_id)).birthday
    assert birthday is not None and birthday.isoformat() == "1990-06-01"


async def test_marketing_and_language(ctx: Context, dialogs: Dialogs) -> None:
    member_id = await lilei(ctx, locale="zh_CN")
    (view,) = await say(dialogs, "/profile")
    on = press(view, gettext("zh_CN", "Receive offers and news"))
    await say(dialogs, payload=on)
    await say(dialogs, payload=on)  # a double tap changes nothing more
    assert (await get_member(ctx, member_id)).marketing_consent is True
    (choose,) = await say(dialogs, "/lang")
    assert [b.label for b in choose.choices] == ["中文", "English"]
    (english,) = await say(dialogs, payload=press(choose, "English"))
    assert "Language: English" in english.text and "Offers and news: on" in english.text
    await say(dialogs, payload=press(english, "Stop offers and news"))
    changed = await get_member(ctx, member_id)
    assert (changed.locale, changed.marketing_consent) == ("en", False)


@pytest.mark.parametrize("lang", LOCALES)
async def test_link_another_app(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    member_id = await lilei(ctx, locale=lang)
    (view,) = await say(dialogs, "/profile")
    (code,) = await say(dialogs, payload=press(view, t("Link another chat app")))
    command = next(word for word in code.text.split() if word.startswith("link-"))
    await say(dialogs, "/start " + command, channel="telegram", user="tg")
    linked = await member_for_identity(ctx, "telegram", "tg")
    assert linked is not None and linked.id == member_id


@pytest.mark.parametrize("lang", LOCALES)
async def test_delete_my_data_asks_twice(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    member_id = await lilei(ctx, locale=lang)
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R1", member_id=member_id, amount_fen=10_000
    )
    (view,) = await say(dialogs, "/profile")
    (first,) = await say(dialogs, payload=press(view, t("Delete my data")))
    (back,) = await say(dialogs, payload=press(first, t("Cancel")))
    assert t("Name: {name}", name="李雷") in back.text
    (first,) = await say(dialogs, payload=press(view, t("Delete my data")))
    (second,) = await say(dialogs, payload=press(first, t("Yes, delete")))
    assert second.text == hinted(lang, t("Are you sure? This cannot be undone."))
    assert (await get_member(ctx, member_id)).name == "李雷"  # not yet
    final = press(second, t("Delete everything"))
    (gone,) = await say(dialogs, payload=final)
    assert gone.choices == []
    (again,) = await say(dialogs, payload=final, lang=lang)  # deletes nothing more
    assert gettext(lang, "Do you agree?") in again.text
    assert await member_for_identity(ctx, "console", "u1") is None
    async with ctx.db.read() as s:
        row = await s.get(MemberRow, member_id)
        assert row is not None
        assert (row.name, row.phone, row.birthday) == (DELETED_NAME, None, None)
        sale = await s.scalar(select(SaleRow))
        assert sale is not None and sale.amount_fen == 10_000
    # The chat is a stranger again: registration, not the profile.
    (welcome,) = await say(dialogs, "/profile", lang=lang)
    assert gettext(lang, "Do you agree?") in welcome.text
