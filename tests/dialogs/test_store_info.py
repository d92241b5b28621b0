"""Store questions through the real engine, in both languages: hours today and open now,
a day asked about, the week with its closed days and holidays, address, phone and map pin;
the home store first, a choice of stores for someone without one. The shop's clock stands
at Monday 5 January 2026, 10:00 (the riverside store is closed on Mondays)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Location, Reply
from bot.dialogs.registry import create_dialogs
from bot.i18n import format_weekday
from core.clock import FixedClock
from core.context import Context
from core.shop import SpecialDay
from tests.dialogs.conftest import press, say, t
from tests.factories import member, shop_time

LANGS = {"zh_CN": "zh-hans", "en": "en"}
QUESTIONS = {
    "zh_CN": ("营业时间", "周日开门吗", "你们在哪", "滨江店几点开门", "门店电话多少"),
    "en": (
        "what are your opening hours",
        "are you open on Sunday?",
        "where is the shop",
        "when do you open at the riverside store",
        "what is your phone number",
    ),
}
PIN = Location(31.2381, 121.4812)


async def home_member(ctx: Context, locale: str, user: str = "u1") -> None:
    await member(
        ctx, phone=None, channel="console", external_id=user, locale=locale, home_store="main"
    )


def one(replies: list[Reply]) -> Reply:
    assert len(replies) == 1, replies
    return replies[0]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_hours_today_and_open_now_of_the_home_store(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await home_member(ctx, locale)
    hours, *_ = QUESTIONS[locale]
    reply = one(await say(dialogs, hours))
    main = "旗舰店" if locale == "zh_CN" else "Flagship store"
    assert reply.text.splitlines()[0] == main
    assert t(locale, "Open now, until {time}.", time=_t(locale, 21)) in reply.text
    hours_line = f"{_t(locale, 10)}–{_t(locale, 21)}"
    assert t(locale, "Today: {hours}", hours=hours_line) in reply.text
    assert t(locale, "Phone: {phone}", phone="021-6321 0000") in reply.text
    address = "上海市黄浦区南京东路 100 号" if locale == "zh_CN" else "100 Nanjing Road East"
    assert address in reply.text
    press(reply, "滨江店" if locale == "zh_CN" else "Riverside store")  # the other store
    assert reply.location is None  # a pin only where the question is where


def _t(locale: str, hour: int) -> str:
    """A whole hour as the reader's locale writes it (short time)."""
    if locale == "zh_CN":
        return f"{hour:02d}:00"
    return f"{(hour - 1) % 12 + 1}:00\u202f{'AM' if hour < 12 else 'PM'}"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_a_day_asked_about_is_answered(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    await home_member(ctx, locale)
    _, sunday, _, riverside, _ = QUESTIONS[locale]
    reply = one(await say(dialogs, sunday))
    day = format_weekday(date(2026, 1, 11), locale)
    hours = f"{_t(locale, 10)}–{_t(locale, 20)}"
    main = "旗舰店" if locale == "zh_CN" else "Flagship store"
    assert t(locale, "{store}, {day}: {hours}", store=main, day=day, hours=hours) in reply.text
    # The store named in the question, not the home store: closed on Mondays.
    reply = one(await say(dialogs, riverside))
    name = "滨江店" if locale == "zh_CN" else "Riverside store"
    assert reply.text.splitlines()[0] == name
    when = t(locale, "tomorrow at {time}", time=_t(locale, 11))
    assert t(locale, "Closed now; opens {when}.", when=when) in reply.text
    assert t(locale, "Today: {hours}", hours=t(locale, "closed")) in reply.text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_someone_without_a_store_chooses_one_and_gets_the_map_pin(
    dialogs: Dialogs, locale: str
) -> None:
    _, _, where, _, _ = QUESTIONS[locale]
    asked = one(await say(dialogs, where, lang=LANGS[locale]))  # not a member: no registration
    assert asked.text == t(locale, "Which store?")
    main = "旗舰店" if locale == "zh_CN" else "Flagship store"
    reply = one(await say(dialogs, payload=press(asked, main), lang=LANGS[locale]))
    assert reply.location == PIN
    address = "上海市黄浦区南京东路 100 号" if locale == "zh_CN" else "100 Nanjing Road East"
    assert address in reply.text
    # The riverside store has no map place: its address only.
    other = one(await say(dialogs, payload=press(reply, "滨江" if locale == "zh_CN" else "River")))
    assert other.location is None and "滨江大道" in other.text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_the_phone_is_answered_and_a_missing_one_said(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await home_member(ctx, locale)
    *_, phone = QUESTIONS[locale]
    reply = one(await say(dialogs, phone))
    assert reply.text.splitlines()[1] == t(locale, "Phone: {phone}", phone="021-6321 0000")
    other = one(await say(dialogs, payload=press(reply, "滨江" if locale == "zh_CN" else "River")))
    assert t(locale, "No phone number is listed for this store.") in other.text


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
async def test_the_week_marks_closed_days_and_holidays(
    ctx: Context, clock: FixedClock, locale: str
) -> None:
    holiday = SpecialDay.model_validate(
        {"day": date(2026, 1, 8), "hours": "12:00-18:00", "name": "盘点", "name_en": "Stocktake"}
    )
    closed = SpecialDay(day=date(2026, 1, 20), name="店休", name_en="Staff day")
    shop = ctx.shop.model_copy(update={"holidays": [holiday, closed]})
    dialogs = create_dialogs(replace(ctx, shop=shop))
    await home_member(ctx, locale)
    clock.set(shop_time(5, 22))  # after closing
    reply = one(await say(dialogs, "/hours"))
    when = t(locale, "tomorrow at {time}", time=_t(locale, 10))
    assert t(locale, "Closed now; opens {when}.", when=when) in reply.text
    stocktake = "盘点" if locale == "zh_CN" else "Stocktake"
    short = f"{_t(locale, 12)}–{_t(locale, 18)}"
    line = f"{format_weekday(date(2026, 1, 8), locale)}: " + t(
        locale, "{hours} ({holiday})", hours=short, holiday=stocktake
    )
    assert t(locale, "Other hours coming up:") in reply.text and line in reply.text
    week = one(await say(dialogs, payload=press(reply, t(locale, "This week"))))
    assert line in week.text
    riverside = one(
        await say(dialogs, payload=press(week, "滨江" if locale == "zh_CN" else "River"))
    )
    monday = f"{format_weekday(date(2026, 1, 5), locale)}: {t(locale, 'closed')}"
    assert monday in riverside.text.splitlines()
    staff_day = "店休" if locale == "zh_CN" else "Staff day"
    assert staff_day in riverside.text  # a holiday after the week, still named
