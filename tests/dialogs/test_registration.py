"""Registration, scripted in both languages: nothing stored before "Confirm", bad input
answered and survived, a restart or a second engine continues, silence starts over."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Payload, Reply
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.registry import create_dialogs
from bot.i18n import gettext
from core.clock import FixedClock
from core.context import Context
from core.people import conversations
from core.people.members import create_link_code, member_for_identity
from core.people.registration import register_member
from storage.models import MemberRow
from tests.dialogs.conftest import hinted, press, say

LOCALES = ("zh_CN", "en")


async def members(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count(MemberRow.id))) or 0)


def labels(reply: Reply) -> list[str]:
    return [button.label for button in reply.choices]


async def up_to_confirm(dialogs: Dialogs, lang: str) -> Reply:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    (welcome,) = await say(dialogs, "hi", lang=lang)
    await say(dialogs, payload=press(welcome, t("Agree")), lang=lang)
    await say(dialogs, "李雷", lang=lang)
    await say(dialogs, "138 0013 8000", lang=lang)
    (summary,) = await say(dialogs, "1990-05-01", lang=lang)
    assert labels(summary) == [t("Confirm"), t("Start over")]
    return summary


@pytest.mark.parametrize("lang", LOCALES)
async def test_full_registration(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    (welcome,) = await say(dialogs, "hello", lang=lang)
    assert t("Do you agree?") in welcome.text
    other = "English" if lang == "zh_CN" else "中文"
    assert labels(welcome) == [t("Agree"), t("Decline"), other]
    (ask_name,) = await say(dialogs, payload=press(welcome, t("Agree")), lang=lang)
    assert ask_name.text == hinted(lang, t("What is your name?"))
    (ask_phone,) = await say(dialogs, "  李   雷 ", lang=lang)
    assert "李 雷" in ask_phone.text
    (ask_birthday,) = await say(dialogs, "138 0013 8000", lang=lang)
    assert labels(ask_birthday) == [t("Skip")]
    (summary,) = await say(dialogs, "1990/05/01", lang=lang)
    assert t("Name: {name}", name="李 雷") in summary.text
    assert t("Mobile: {phone}", phone="+8613800138000") in summary.text
    assert await members(ctx) == 0  # nothing stored before "Confirm"
    (done,) = await say(dialogs, payload=press(summary, t("Confirm")), lang=lang)
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None
    assert (member.name, member.phone, member.locale) == ("李 雷", "+8613800138000", lang)
    assert member.birthday is not None and member.birthday.isoformat() == "1990-05-01"
    assert member.marketing_consent is False
    assert member.member_no in done.text
    assert labels(done)[0] == t("My points")
    # Now a member: the menu, not the registration.
    (menu,) = await say(dialogs, "/help", lang=lang)
    assert t("Hello {name}! What would you like to do?", name="李 雷") in menu.text


async def test_language_button_switches_and_is_kept(ctx: Context, dialogs: Dialogs) -> None:
    (welcome,) = await say(dialogs, "hi", lang="zh_CN")
    (english,) = await say(dialogs, payload=press(welcome, "English"))
    assert "Do you agree?" in english.text
    assert labels(english)[-1] == "中文"
    await say(dialogs, payload=press(english, "Agree"))
    await say(dialogs, "Lily")
    await say(dialogs, "13900139000")
    (summary,) = await say(dialogs, payload=Payload("registration", "birthday", "skip").pack())
    assert "Birthday: not given" in summary.text
    assert "Language: English" in summary.text
    await say(dialogs, payload=press(summary, "Confirm"))
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None and member.locale == "en" and member.birthday is None


@pytest.mark.parametrize("lang", LOCALES)
async def test_decline_stores_nothing(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    (welcome,) = await say(dialogs, "hi", lang=lang)
    (bye,) = await say(dialogs, payload=press(welcome, t("Decline")), lang=lang)
    assert bye.text == t(
        "No problem — nothing about you was stored. If you change your mind, just send us a "
        "message. Goodbye!"
    )
    assert bye.choices == []
    assert await members(ctx) == 0


@pytest.mark.parametrize("lang", LOCALES)
@pytest.mark.parametrize(
    ("step", "typed", "expected"),
    [
        ("name", "", "The value for {field} is not valid."),
        ("name", "x" * 10_000, "The value for {field} is not valid."),
        ("phone", "abc", "{value} is not a valid mobile phone number."),
        ("phone", "😀😀", "{value} is not a valid mobile phone number."),
        ("phone", "<b>*_", "{value} is not a valid mobile phone number."),
        ("phone", "9" * 10_000, "{value} is not a valid mobile phone number."),
        ("birthday", "2024-02-30", "{value} is not a valid birthday (use YYYY-MM-DD)."),
        ("birthday", "2099-01-01", "{value} is not a valid birthday (use YYYY-MM-DD)."),
        ("birthday", "<b>*_", "{value} is not a valid birthday (use YYYY-MM-DD)."),
    ],
)
async def test_bad_input_is_answered_and_the_flow_goes_on(
    ctx: Context, dialogs: Dialogs, lang: str, step: str, typed: str, expected: str
) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    (welcome,) = await say(dialogs, "hi", lang=lang)
    await say(dialogs, payload=press(welcome, t("Agree")), lang=lang)
    answers = {"name": "李雷", "phone": "13800138000"}
    for earlier in ("name", "phone", "birthday"):
        if earlier == step:
            break
        await say(dialogs, answers[earlier], lang=lang)
    (error,) = await say(dialogs, typed, lang=lang)
    # The sentence, translated; its parameters (the typed value, the field) may differ.
    head = t(expected, field="\0", value="\0").split("\0")
    assert all(part in error.text for part in head if part)
    assert len(error.text) < 200  # nonsense is not echoed back at length
    # The same step goes on with a good answer.
    for later in ("name", "phone", "birthday"):
        if ["name", "phone", "birthday"].index(later) < ["name", "phone", "birthday"].index(step):
            continue
        (reply,) = await say(dialogs, {**answers, "birthday": "1990-05-01"}[later], lang=lang)
    assert labels(reply) == [t("Confirm"), t("Start over")]
    assert await members(ctx) == 0


@pytest.mark.parametrize("lang", LOCALES)
async def test_empty_messages_repeat_the_question(dialogs: Dialogs, lang: str) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    (welcome,) = await say(dialogs, "hi", lang=lang)
    (again,) = await say(dialogs, "", lang=lang)
    assert again.text == welcome.text  # the welcome again, saying how to leave once
    assert welcome.text.count(t(HINT)) == 1 and welcome.text.endswith(t(HINT))
    await say(dialogs, payload=press(welcome, t("Agree")), lang=lang)
    await say(dialogs, "李雷", lang=lang)
    (phone_again,) = await say(dialogs, "   ", lang=lang)
    assert "李雷" in phone_again.text
    await say(dialogs, "13800138000", lang=lang)
    (birthday_again,) = await say(dialogs, "", lang=lang)
    assert labels(birthday_again) == [t("Skip")]


async def test_markup_and_emoji_in_a_name_are_kept_as_typed(ctx: Context, dialogs: Dialogs) -> None:
    (welcome,) = await say(dialogs, "hi", lang="en")
    await say(dialogs, payload=press(welcome, "Agree"))
    await say(dialogs, "<b>*_Amy 🌸")
    await say(dialogs, "13800138000")
    (summary,) = await say(dialogs, payload=Payload("registration", "birthday", "skip").pack())
    assert "Name: <b>*_Amy 🌸" in summary.text  # channels escape it where they show it
    await say(dialogs, payload=press(summary, "Confirm"))
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None and member.name == "<b>*_Amy 🌸"


@pytest.mark.parametrize("lang", LOCALES)
async def test_double_tap_on_confirm_registers_once(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    summary = await up_to_confirm(dialogs, lang)
    confirm = press(summary, gettext(lang, "Confirm"))
    first, second = await say(dialogs, payload=confirm), await say(dialogs, payload=confirm)
    assert await members(ctx) == 1
    assert first[0].choices and second[0].choices  # both show a usable menu
    assert await say(dialogs, payload=confirm) == second


async def test_a_confirm_already_claimed_is_not_run_again(ctx: Context, dialogs: Dialogs) -> None:
    summary = await up_to_confirm(dialogs, "en")
    identity = await conversations.arrive(ctx, "console", "u1")
    # Another worker took the tap a moment ago.
    assert await conversations.claim_step(ctx, identity.id, "registration", "confirm")
    await say(dialogs, payload=press(summary, "Confirm"))
    assert await members(ctx) == 0


async def test_two_taps_at_the_same_moment_register_once(ctx: Context) -> None:
    summary = await up_to_confirm(create_dialogs(ctx), "en")
    confirm = press(summary, "Confirm")
    await asyncio.gather(
        say(create_dialogs(ctx), payload=confirm), say(create_dialogs(ctx), payload=confirm)
    )
    assert await members(ctx) == 1


@pytest.mark.parametrize("lang", LOCALES)
async def test_start_over_keeps_the_language_and_forgets_the_answers(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    t = lambda m, **p: gettext(lang, m, **p)  # noqa: E731
    summary = await up_to_confirm(dialogs, lang)
    (welcome,) = await say(dialogs, payload=press(summary, t("Start over")))
    assert t("Do you agree?") in welcome.text
    await say(dialogs, payload=press(welcome, t("Agree")))
    await say(dialogs, "韩梅梅")
    await say(dialogs, "13900139000")
    (summary,) = await say(dialogs, "1991-02-03")
    assert "韩梅梅" in summary.text and "李雷" not in summary.text
    await say(dialogs, payload=press(summary, t("Confirm")))
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None and member.name == "韩梅梅" and member.locale == lang


async def test_a_new_engine_continues_where_the_conversation_was(ctx: Context) -> None:
    (welcome,) = await say(create_dialogs(ctx), "hi", lang="en")
    await say(create_dialogs(ctx), payload=press(welcome, "Agree"))
    await say(create_dialogs(ctx), "Lily")
    (birthday,) = await say(create_dialogs(ctx), "13900139000")
    assert labels(birthday) == ["Skip"]
    (summary,) = await say(create_dialogs(ctx), "1990-01-02")
    await say(create_dialogs(ctx), payload=press(summary, "Confirm"))
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None and member.phone == "+8613900139000"


async def test_silence_past_the_timeout_starts_over(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    (welcome,) = await say(dialogs, "hi", lang="en")
    await say(dialogs, payload=press(welcome, "Agree"))
    await say(dialogs, "Lily")
    clock.advance(conversations.TIMEOUT + timedelta(seconds=1))
    (again,) = await say(dialogs, "13900139000", lang="en")
    assert "Do you agree?" in again.text
    assert await members(ctx) == 0


async def test_phone_already_registered_is_said_at_once(ctx: Context, dialogs: Dialogs) -> None:
    await register_member(ctx, name="Old", phone="13800138000")
    (welcome,) = await say(dialogs, "hi", lang="en")
    await say(dialogs, payload=press(welcome, "Agree"))
    await say(dialogs, "Lily")
    (taken,) = await say(dialogs, "13800138000")
    assert taken.text == hinted(
        "en", "The phone number +86138****8000 already belongs to a member."
    )
    (birthday,) = await say(dialogs, "13900139000")
    assert labels(birthday) == ["Skip"]


async def test_shared_contact_claims_an_imported_member(ctx: Context, dialogs: Dialogs) -> None:
    imported = await register_member(ctx, name="王芳", phone="13800138000")
    (welcome,) = await say(dialogs, "hi", lang="zh_CN", channel="telegram")
    await say(dialogs, payload=press(welcome, gettext("zh_CN", "Agree")), channel="telegram")
    await say(dialogs, "王芳", channel="telegram")
    await say(dialogs, phone="+8613800138000", channel="telegram")
    (summary,) = await say(dialogs, "1990-01-02", channel="telegram")
    await say(dialogs, payload=press(summary, gettext("zh_CN", "Confirm")), channel="telegram")
    member = await member_for_identity(ctx, "telegram", "u1")
    assert member is not None and member.id == imported.id
    assert await members(ctx) == 1


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_link_code_attaches_this_chat_instead(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    member = await register_member(
        ctx, name="李雷", phone="13800138000", locale=lang, channel="wechat", external_id="wx"
    )
    code = await create_link_code(ctx, member.id)
    (reply,) = await say(dialogs, start=f"link-{code.code}", channel="telegram")
    assert member.member_no in reply.text
    assert labels(reply)[0] == gettext(lang, "My points")
    linked = await member_for_identity(ctx, "telegram", "u1")
    assert linked is not None and linked.id == member.id
    # Typed as a command in the console, too; a used code is refused and registration offered.
    (refused, welcome) = await say(dialogs, f"/start link-{code.code}", lang=lang)
    assert refused.text == gettext(lang, "This code is not valid or has expired.")
    assert gettext(lang, "Do you agree?") in welcome.text
    assert await members(ctx) == 1


async def test_a_store_link_sets_the_home_store(ctx: Context, dialogs: Dialogs) -> None:
    (welcome,) = await say(dialogs, start="store-riverside", lang="en")
    await say(dialogs, payload=press(welcome, "Agree"))
    await say(dialogs, "Lily")
    await say(dialogs, "13900139000")
    (summary,) = await say(dialogs, payload=Payload("registration", "birthday", "skip").pack())
    await say(dialogs, payload=press(summary, "Confirm"))
    member = await member_for_identity(ctx, "console", "u1")
    assert member is not None and member.home_store == "riverside"
