"""A booking request that says when ("明天下午两点预约", "Saturday afternoon"): the day and
time fill their steps, a time that is not free is said so with the nearest free ones, the
time buttons' own text is accepted typed, and "取消预约" lists the bookings to cancel. Now is
Monday 2026-01-05 10:00 in Shanghai; the flagship store is open 10:00-21:00 in slots of 30
minutes for 4 people, the riverside store (closed on Mondays) in slots of an hour for 2."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.dialogs.engine.waiting import HINT
from bot.i18n import format_time
from core.clock import FixedClock
from core.context import Context
from core.service import bookings
from tests.conftest import ZONE
from tests.dialogs.conftest import hinted, press, say, t
from tests.factories import member, shop_time

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
FLAGSHIP = {"zh_CN": "旗舰店", "en": "Flagship store"}
RIVERSIDE = {"zh_CN": "滨江店", "en": "Riverside store"}
TOMORROW_2PM = {"zh_CN": "明天下午两点预约", "en": "Can I book tomorrow at 2pm?"}


def day(locale: str, d: int) -> str:
    return f"2026年1月{d}日" if locale == "zh_CN" else f"Jan {d}, 2026"


def at(locale: str, moment: datetime) -> str:
    return format_time(moment, locale, ZONE)


def slot_label(locale: str, moment: datetime, free: int) -> str:
    return t(locale, "{time} ({free} free)", time=at(locale, moment), free=free)


def asks_party(reply: Reply, locale: str, most: int) -> bool:
    """The party question, with how to leave the step under it."""
    question = t(locale, "How many people are coming? (1 to {max})", max=most)
    return reply.text.endswith(hinted(locale, question))


@LOCALES
async def test_a_day_and_time_fill_their_steps(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    """No home store and two stores: the store is asked, then the party, then the summary."""
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    (stores,) = await say(dialogs, TOMORROW_2PM[locale])
    assert stores.text == hinted(locale, t(locale, "Which store would you like to visit?"))
    (sizes,) = await say(dialogs, payload=press(stores, FLAGSHIP[locale]))
    assert asks_party(sizes, locale, 4)
    (summary,) = await say(dialogs, "2")
    assert summary.text.splitlines()[1:] == [
        t(locale, "Store: {store}", store=FLAGSHIP[locale]),
        t(locale, "Day: {day}", day=day(locale, 6)),
        t(locale, "Time: {time}", time=at(locale, shop_time(6, 14))),
        t(locale, "People: {people}", people=2),
        t(locale, HINT),
    ]
    assert await bookings.upcoming_bookings(ctx, member_id) == []  # nothing before Confirm
    (done,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert done.text.splitlines()[0] == t(locale, "Booked! See you soon.")
    (booked,) = await bookings.upcoming_bookings(ctx, member_id)
    assert (booked.store, booked.starts_at) == ("main", shop_time(6, 14))


@pytest.mark.parametrize(
    ("locale", "text", "when"),
    [
        ("zh_CN", "后天下午3点可以预约吗", shop_time(7, 15)),
        ("zh_CN", "周六晚上7点预约", shop_time(10, 19)),
        ("zh_CN", "下周三 14:00 预约", shop_time(14, 14)),
        ("zh_CN", "今天下午两点半预约", shop_time(5, 14, 30)),
        ("en", "book a visit on Saturday at 7pm", shop_time(10, 19)),
        ("en", "reserve for next Wednesday 3:30pm", shop_time(14, 15, 30)),
        ("en", "book today 14:00", shop_time(5, 14)),
    ],
)
async def test_the_home_store_skips_the_store_step(
    ctx: Context, dialogs: Dialogs, locale: str, text: str, when: datetime
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="main")
    (sizes,) = await say(dialogs, text)
    assert asks_party(sizes, locale, 4)
    (summary,) = await say(dialogs, "1")
    assert t(locale, "Time: {time}", time=at(locale, when)) in summary.text
    assert t(locale, "Day: {day}", day=day(locale, when.day)) in summary.text


@LOCALES
async def test_a_part_of_the_day_offers_its_free_times(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="riverside")
    ask = {"zh_CN": "周六下午预约", "en": "Saturday afternoon booking please"}
    (slots,) = await say(dialogs, ask[locale])
    assert slots.text == hinted(
        locale,
        t(locale, "{store}, {day}: which time?", store=RIVERSIDE[locale], day=day(locale, 10)),
    )
    hours = (12, 13, 14, 15, 16, 17)
    assert [b.label for b in slots.choices] == [
        slot_label(locale, shop_time(10, h), 2) for h in hours
    ]
    (sizes,) = await say(dialogs, payload=press(slots, at(locale, shop_time(10, 15))))
    assert asks_party(sizes, locale, 2)


@LOCALES
async def test_a_day_alone_offers_that_days_times(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="main")
    (slots,) = await say(dialogs, {"zh_CN": "明天预约", "en": "book tomorrow"}[locale])
    assert slots.text == hinted(
        locale,
        t(locale, "{store}, {day}: which time?", store=FLAGSHIP[locale], day=day(locale, 6)),
    )
    assert len(slots.choices) == 22  # 10:00 … 20:30


@LOCALES
async def test_a_full_time_offers_the_nearest_free_ones(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="main")
    other = await member(ctx, name="李雷", user="u2", locale="zh_CN", phone="13900139000")
    await bookings.book(ctx, other, "main", shop_time(6, 14), 4)
    (offer,) = await say(dialogs, TOMORROW_2PM[locale])
    wanted = f"{day(locale, 6)} {at(locale, shop_time(6, 14))}"
    assert offer.text.splitlines()[:2] == [
        t(locale, "{time} is fully booked.", time=wanted),
        t(locale, "The nearest free times are below; you can also type another time."),
    ]
    assert [b.label for b in offer.choices] == [
        slot_label(locale, shop_time(6, h, m), 4) for h, m in ((13, 0), (13, 30), (14, 30))
    ]
    (sizes,) = await say(dialogs, payload=press(offer, at(locale, shop_time(6, 14, 30))))
    assert asks_party(sizes, locale, 4)


@LOCALES
async def test_a_past_closed_or_odd_time_says_why(
    ctx: Context, clock: FixedClock, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="main")
    clock.set(shop_time(5, 15, 10))
    (past,) = await say(dialogs, {"zh_CN": "今天下午两点预约", "en": "book today at 2pm"}[locale])
    wanted = f"{day(locale, 5)} {at(locale, shop_time(5, 14))}"
    assert past.text.splitlines()[0] == t(locale, "{time} has already passed.", time=wanted)
    assert [b.label for b in past.choices] == [
        slot_label(locale, shop_time(5, h, m), 4) for h, m in ((15, 30), (16, 0), (16, 30))
    ]
    (odd,) = await say(
        dialogs, {"zh_CN": "明天下午2点15预约", "en": "book tomorrow 2:15pm"}[locale]
    )
    wanted = f"{day(locale, 6)} {at(locale, shop_time(6, 14, 15))}"
    assert odd.text.splitlines()[0] == t(
        locale, "{store} takes no bookings at {time}.", store=FLAGSHIP[locale], time=wanted
    )
    assert len(odd.choices) == 3
    (late,) = await say(dialogs, {"zh_CN": "明晚10点预约", "en": "book tomorrow 10pm"}[locale])
    wanted = f"{day(locale, 6)} {at(locale, shop_time(6, 22))}"
    assert late.text.splitlines()[0] == t(
        locale, "{store} takes no bookings at {time}.", store=FLAGSHIP[locale], time=wanted
    )
    assert [b.label for b in late.choices][-1] == slot_label(locale, shop_time(6, 20, 30), 4)


@LOCALES
async def test_a_closed_day_or_one_too_far_offers_the_days(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale, home_store="riverside")
    (closed,) = await say(dialogs, {"zh_CN": "下周一预约", "en": "book next Monday"}[locale])
    assert closed.text.splitlines()[:2] == [
        t(locale, "{store} is closed on {day}.", store=RIVERSIDE[locale], day=day(locale, 12)),
        t(locale, "{store}: which day?", store=RIVERSIDE[locale]),
    ]
    assert day(locale, 12) not in [b.label for b in closed.choices]
    far = {"zh_CN": "2月20日预约", "en": "book Feb 20"}[locale]
    (days,) = await say(dialogs, far)
    assert days.text.splitlines()[0] == t(
        locale,
        "Bookings are open from {first} to {last}.",
        first=day(locale, 5),
        last=day(locale, 19),
    )


@LOCALES
@pytest.mark.parametrize(
    "typed", ["14:00", "14点", "2pm", "下午2点", "14:00 (4 free)", "14:00（剩 4 位）"]
)
async def test_the_time_labels_text_is_accepted(
    ctx: Context, dialogs: Dialogs, locale: str, typed: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale)
    (stores,) = await say(dialogs, {"zh_CN": "我想预约", "en": "book a visit"}[locale])
    (days,) = await say(dialogs, payload=press(stores, FLAGSHIP[locale]))
    (slots,) = await say(dialogs, payload=days.choices[1].payload)  # tomorrow
    assert slot_label(locale, shop_time(6, 14), 4) in [b.label for b in slots.choices]
    (sizes,) = await say(dialogs, typed)
    assert asks_party(sizes, locale, 4)
    (summary,) = await say(dialogs, "1")
    assert t(locale, "Time: {time}", time=at(locale, shop_time(6, 14))) in summary.text
    assert t(locale, "Day: {day}", day=day(locale, 6)) in summary.text


@LOCALES
async def test_a_day_typed_at_the_day_step(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale)
    (stores,) = await say(dialogs, {"zh_CN": "我想预约", "en": "book a visit"}[locale])
    await say(dialogs, payload=press(stores, FLAGSHIP[locale]))
    (sizes,) = await say(dialogs, {"zh_CN": "周三下午3点", "en": "Wednesday 3pm"}[locale])
    assert asks_party(sizes, locale, 4)
    (refused,) = await say(dialogs, "whenever")  # nothing to read: the party is asked again
    assert asks_party(refused, locale, 4)


CANCEL = {"zh_CN": "取消预约", "en": "cancel my booking"}


@LOCALES
async def test_a_cancel_request_lists_the_bookings(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    (none,) = await say(dialogs, CANCEL[locale])
    assert none.text == t(locale, "You have no upcoming bookings to cancel.")
    await bookings.book(ctx, member_id, "main", shop_time(6, 15), 2)
    await bookings.book(ctx, member_id, "riverside", shop_time(7, 12), 1)
    (listed,) = await say(dialogs, CANCEL[locale])
    assert listed.text.splitlines()[0] == t(locale, "Which booking would you like to cancel?")
    assert [b.label for b in listed.choices] == [
        t(locale, "Cancel #{number}", number=n) for n in (1, 2)
    ]
    (ask,) = await say(dialogs, payload=press(listed, t(locale, "Cancel #{number}", number=2)))
    assert ask.text.splitlines()[0] == t(locale, "Cancel this booking?")
    assert RIVERSIDE[locale] in ask.text
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 2  # asked, not cancelled
    (done,) = await say(dialogs, payload=press(ask, t(locale, "Yes, cancel it")))
    assert done.text.startswith(t(locale, "Cancelled: {booking}", booking=""))
    (left,) = await bookings.upcoming_bookings(ctx, member_id)
    assert left.store == "main"


@pytest.mark.parametrize(
    "text", ["取消明天的预约", "我要取消预约", "预约取消", "Please cancel my reservation"]
)
async def test_other_cancel_phrasings(ctx: Context, dialogs: Dialogs, text: str) -> None:
    await member(ctx, name="王芳", user="u1", locale="zh_CN")
    (reply,) = await say(dialogs, text)
    assert reply.text == t("zh_CN", "You have no upcoming bookings to cancel.")
