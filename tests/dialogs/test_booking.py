"""Booking a visit through the chat, in both languages: choices, the full slot, the double
tap, and cancelling before and after the cut-off. Now is Monday 2026-01-05 10:00 in
Shanghai; the flagship store is open 10:00-21:00 in slots of 30 minutes for 4 people."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.dialogs.engine.waiting import HINT
from bot.i18n import format_moment, format_time
from core.clock import FixedClock
from core.context import Context
from core.service import bookings
from tests.conftest import ZONE
from tests.dialogs.conftest import hinted, press, say, t
from tests.factories import member, shop_time

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
TODAY = {"zh_CN": "2026年1月5日", "en": "Jan 5, 2026"}
FLAGSHIP = {"zh_CN": "旗舰店", "en": "Flagship store"}
RIVERSIDE = {"zh_CN": "滨江店", "en": "Riverside store"}
ASK = {"zh_CN": "我想预约", "en": "I'd like to book a visit"}


async def to_summary(
    dialogs: Dialogs, locale: str, slot: datetime, party: int, user: str = "u1"
) -> Reply:
    """Walk the flow to the confirmation: flagship store, today, ``slot``, ``party``."""
    (stores,) = await say(dialogs, ASK[locale], user=user)
    assert [b.label for b in stores.choices] == [
        FLAGSHIP[locale],
        RIVERSIDE[locale],
        t(locale, "My bookings"),
    ]
    (days,) = await say(dialogs, payload=press(stores, FLAGSHIP[locale]), user=user)
    assert days.choices[0].label == TODAY[locale]
    (slots,) = await say(dialogs, payload=days.choices[0].payload, user=user)
    (sizes,) = await say(dialogs, payload=press(slots, format_time(slot, locale, ZONE)), user=user)
    (summary,) = await say(dialogs, payload=press(sizes, str(party), exact=True), user=user)
    return summary


@LOCALES
async def test_a_full_booking(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    (stores,) = await say(dialogs, ASK[locale])
    assert stores.text == hinted(locale, t(locale, "Which store would you like to visit?"))
    (days,) = await say(dialogs, payload=press(stores, FLAGSHIP[locale]))
    assert days.text == hinted(locale, t(locale, "{store}: which day?", store=FLAGSHIP[locale]))
    assert len(days.choices) == 15  # today and the 14 days of the horizon, all open
    (slots,) = await say(dialogs, payload=days.choices[0].payload)
    first = format_time(shop_time(5, 10, 30), locale, ZONE)  # 10:00 has begun
    assert slots.choices[0].label == t(locale, "{time} ({free} free)", time=first, free=4)
    assert len(slots.choices) == 21  # 10:30 … 20:30
    (sizes,) = await say(dialogs, payload=press(slots, format_time(shop_time(5, 15), locale, ZONE)))
    assert sizes.text == hinted(
        locale, t(locale, "How many people are coming? (1 to {max})", max=4)
    )
    assert [b.label for b in sizes.choices] == ["1", "2", "3", "4"]
    (again,) = await say(dialogs, "9")  # typed, too many: asked again
    assert t(locale, "Please choose a number from 1 to {max}.", max=4) in again.text
    (summary,) = await say(dialogs, "2")  # typed digits work as well as buttons
    assert summary.text.splitlines() == [
        t(locale, "Please check your booking:"),
        t(locale, "Store: {store}", store=FLAGSHIP[locale]),
        t(locale, "Day: {day}", day=TODAY[locale]),
        t(locale, "Time: {time}", time=format_time(shop_time(5, 15), locale, ZONE)),
        t(locale, "People: {people}", people=2),
        t(locale, HINT),
    ]
    assert [b.label for b in summary.choices] == [t(locale, "Confirm"), t(locale, "Cancel")]
    assert await bookings.upcoming_bookings(ctx, member_id) == []  # nothing before Confirm
    (done,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert done.text.splitlines()[0] == t(locale, "Booked! See you soon.")
    assert FLAGSHIP[locale] in done.text and TODAY[locale] in done.text
    (booked,) = await bookings.upcoming_bookings(ctx, member_id)
    assert (booked.store, booked.starts_at, booked.party_size) == ("main", shop_time(5, 15), 2)
    (mine,) = await say(dialogs, payload=press(done, t(locale, "My bookings")))
    assert mine.text.splitlines()[0] == t(locale, "Your bookings:")
    assert press(mine, t(locale, "Cancel #{number}", number=1))


@LOCALES
async def test_a_booking_inside_the_cutoff_promises_no_deadline(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    """11:00 booked at 10:00 with a 2-hour cut-off: the deadline has passed already, so
    the reply says it can no longer be cancelled here; 13:00 still has one."""
    await member(ctx, name="王芳", user="u1", locale=locale)
    summary = await to_summary(dialogs, locale, shop_time(5, 11), 1)
    (done,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert done.text.splitlines()[-1] == t(
        locale, "This booking can no longer be cancelled here; please call the store."
    )
    summary = await to_summary(dialogs, locale, shop_time(5, 13), 1)
    (done,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert done.text.splitlines()[-1] == t(
        locale,
        "You can cancel here until {cutoff}.",
        cutoff=format_moment(shop_time(5, 11), locale, ZONE),
    )


@LOCALES
async def test_cancel_at_the_summary_books_nothing(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    summary = await to_summary(dialogs, locale, shop_time(5, 15), 1)
    (reply,) = await say(dialogs, payload=press(summary, t(locale, "Cancel")))
    assert reply.text == t(locale, "All right, nothing was booked.")
    assert await bookings.upcoming_bookings(ctx, member_id) == []


@LOCALES
async def test_a_slot_taken_meanwhile_offers_the_next_free_one(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    summary = await to_summary(dialogs, locale, shop_time(5, 10, 30), 2)
    other = await member(ctx, name="王芳", user="u2", locale="zh_CN", phone="13900139000")
    await bookings.book(ctx, other, "main", shop_time(5, 10, 30), 3)  # one place left, two wanted
    (full,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert full.text.splitlines()[0] == t(locale, "Sorry, this time has just been fully booked.")
    later = f"{TODAY[locale]} {format_time(shop_time(5, 11), locale, ZONE)}"
    assert [b.label for b in full.choices] == [t(locale, "Take {time}", time=later)]
    (summary,) = await say(dialogs, payload=full.choices[0].payload)
    assert t(locale, "People: {people}", people=2) in summary.text
    (done,) = await say(dialogs, payload=press(summary, t(locale, "Confirm")))
    assert done.text.splitlines()[0] == t(locale, "Booked! See you soon.")
    (booked,) = await bookings.upcoming_bookings(ctx, member_id)
    assert (booked.starts_at, booked.party_size) == (shop_time(5, 11), 2)


@LOCALES
async def test_a_double_tap_books_once(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    summary = await to_summary(dialogs, locale, shop_time(5, 15), 1)
    confirm = press(summary, t(locale, "Confirm"))
    first, second = await asyncio.gather(
        say(dialogs, payload=confirm), say(dialogs, payload=confirm)
    )
    texts = [r.text.splitlines()[0] for r in (*first, *second)]
    # The slower tap finds the step claimed ("already done") or the flow over: the booking
    # shown again, never the menu over it.
    booked = t(locale, "Booked! See you soon.")
    assert booked in texts
    assert set(texts) <= {booked, t(locale, "This was already done.")}
    (late,) = await say(dialogs, payload=confirm)  # a third tap, after the flow ended
    assert late.text.splitlines()[0] == booked
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1


@LOCALES
async def test_cancel_before_the_cutoff(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    await bookings.book(ctx, member_id, "main", shop_time(5, 15), 2)
    (mine,) = await say(dialogs, "/bookings")
    assert mine.text.splitlines()[0] == t(locale, "Your bookings:")
    (ask,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    assert ask.text.splitlines()[0] == t(locale, "Cancel this booking?")
    (keep,) = await say(dialogs, payload=press(ask, t(locale, "No, keep it")))
    assert keep.text == t(locale, "All right, the booking stays.")
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1
    (ask,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    yes = press(ask, t(locale, "Yes, cancel it"))
    (done,) = await say(dialogs, payload=yes)
    assert done.text.startswith(t(locale, "Cancelled: {booking}", booking=""))
    assert await bookings.upcoming_bookings(ctx, member_id) == []
    (again,) = await say(dialogs, payload=yes)  # a second tap changes nothing
    assert again == done  # and shows the same answer, not the menu over it
    (empty,) = await say(dialogs, "/bookings")
    assert empty.text == t(locale, "You have no upcoming bookings.")


@LOCALES
async def test_cancel_after_the_cutoff(
    ctx: Context, clock: FixedClock, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    await bookings.book(ctx, member_id, "main", shop_time(5, 15), 2)
    too_late = t(
        locale,
        "Bookings can be cancelled up to {hours} hours before the visit; please call the store.",
        hours=2,
    )
    clock.set(shop_time(5, 12, 55))
    (mine,) = await say(dialogs, "/bookings")
    (ask,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    clock.set(shop_time(5, 13, 1))  # the question came in time (cut-off 13:00), the answer too late
    (refused,) = await say(dialogs, payload=press(ask, t(locale, "Yes, cancel it")))
    assert refused.text == too_late
    (old,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    assert old.text == too_late  # a button of the old list
    (mine,) = await say(dialogs, "/bookings")
    assert t(locale, "   (too late to cancel here; please call the store)") in mine.text
    assert t(locale, "Cancel #{number}", number=1) not in [b.label for b in mine.choices]
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1


async def test_another_members_booking_cannot_be_cancelled(ctx: Context, dialogs: Dialogs) -> None:
    owner = await member(ctx, name="王芳", user="u1", locale="en")
    booking = await bookings.book(ctx, owner, "main", shop_time(5, 15), 1)
    await member(ctx, name="王芳", user="u2", locale="en", phone="13900139000")
    (reply,) = await say(dialogs, payload=f"booking|ask|{booking.id}", user="u2")
    assert reply.text == "No such booking."
    assert len(await bookings.upcoming_bookings(ctx, owner)) == 1


async def test_payloads_stay_compact(ctx: Context, dialogs: Dialogs) -> None:
    await member(ctx, name="王芳", user="u1", locale="en")
    summary = await to_summary(dialogs, "en", shop_time(5, 20, 30), 4)
    assert all(len(b.payload.encode()) <= 30 for b in summary.choices)
