"""Staff's /bookings in both languages: the day's list, marking who came (and correcting
it), days and stores typed or chosen, and the store limits of clerks. Now is Monday
2026-01-05 10:00 in Shanghai; the flagship store has slots of 30 minutes from 10:00, the
riverside store (closed on Mondays) slots of 60 minutes from 11:00."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.error_texts import describe
from bot.i18n import format_time
from core.clock import FixedClock
from core.context import Context
from core.errors import BookingNotStarted, UnknownBooking, UnknownStore
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from core.service import bookings
from storage.models import AuditRow
from tests.conftest import ZONE
from tests.dialogs.conftest import hinted, press, say, t
from tests.factories import shop_time

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
TODAY = {"zh_CN": "2026年1月5日", "en": "Jan 5, 2026"}
TOMORROW = {"zh_CN": "2026年1月6日", "en": "Jan 6, 2026"}
FLAGSHIP = {"zh_CN": "旗舰店", "en": "Flagship store"}
RIVERSIDE = {"zh_CN": "滨江店", "en": "Riverside store"}


def line(locale: str, starts_at: datetime, name: str, people: int, status: str) -> str:
    return t(
        locale,
        "{time} {name}, party of {people} — {status}",
        time=format_time(starts_at, locale, ZONE),
        name=name,
        people=people,
        status=t(locale, status),
    )


async def booked_day(ctx: Context) -> dict[str, int]:
    """王芳 (2 people) at 10:30 and Bob at 11:00 in the flagship store today; Bob also at
    the riverside store tomorrow at 11:00. Returns the booking ids."""
    wang = await register_member(
        ctx, name="王芳", phone="13800138000", channel="console", external_id="wang"
    )
    bob = await register_member(
        ctx, name="Bob", phone="13900139000", channel="console", external_id="bob"
    )
    first = await bookings.book(ctx, wang.id, "main", shop_time(5, 10, 30), 2)
    second = await bookings.book(ctx, bob.id, "main", shop_time(5, 11), 1)
    river = await bookings.book(ctx, bob.id, "riverside", shop_time(6, 11), 1)
    return {"wang": first.id, "bob": second.id, "river": river.id}


async def clerk(ctx: Context, store: str = "main", user: str = "clerk") -> StaffView:
    return await add_staff(ctx, channel="console", external_id=user, role="clerk", store=store)


async def refusals(ctx: Context) -> list[AuditRow]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(AuditRow).where(AuditRow.action == "staff.refused")))


@LOCALES
async def test_clerk_lists_the_day_and_marks_who_came(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    ids = await booked_day(ctx)
    staff = await clerk(ctx)
    (listing,) = await say(dialogs, "/bookings", user="clerk", lang=locale)
    assert listing.text.splitlines() == [
        t(locale, "Bookings at {store} on {day}:", store=FLAGSHIP[locale], day=TODAY[locale]),
        "1. " + line(locale, shop_time(5, 10, 30), "王芳", 2, "booked"),
        "2. " + line(locale, shop_time(5, 11), "Bob", 1, "booked"),
        t(locale, "Bookings: {count}, people: {people}", count=2, people=3),
    ]
    assert listing.choices == []  # nobody can have come yet

    clock.set(shop_time(5, 10, 40))  # 王芳's slot has begun, Bob's not
    (listing,) = await say(dialogs, "/bookings", user="clerk", lang=locale)
    labels = [b.label for b in listing.choices]
    assert labels == [
        "✓ " + t(locale, "#{number} attended", number=1),
        "✗ " + t(locale, "#{number} no-show", number=1),
    ]
    (marked,) = await say(dialogs, payload=listing.choices[0].payload, user="clerk", lang=locale)
    lines = marked.text.splitlines()
    assert lines[0] == t(
        locale,
        "Marked: {booking}",
        booking=line(locale, shop_time(5, 10, 30), "王芳", 2, "attended"),
    )
    assert lines[2] == "1. " + line(locale, shop_time(5, 10, 30), "王芳", 2, "attended")
    (first, *_) = await bookings.store_bookings(ctx, "main", shop_time(5, 0).date())
    assert (first.id, first.status) == (ids["wang"], "attended")
    async with ctx.db.read() as s:
        audit = await s.scalar(select(AuditRow).where(AuditRow.action == "booking.attended"))
    assert audit is not None and audit.actor == staff.actor

    # A wrong tap is corrected from the confirmation.
    change = t(locale, "Change to {status}", status=t(locale, "no-show"))
    assert [b.label for b in marked.choices] == [change]
    (fixed,) = await say(dialogs, payload=press(marked, change), user="clerk", lang=locale)
    assert "2. " + line(locale, shop_time(5, 11), "Bob", 1, "booked") in fixed.text.splitlines()
    (first, *_) = await bookings.store_bookings(ctx, "main", shop_time(5, 0).date())
    assert first.status == "no_show"


@LOCALES
async def test_days_and_stores_can_be_typed(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    await booked_day(ctx)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    expected = [
        t(locale, "Bookings at {store} on {day}:", store=RIVERSIDE[locale], day=TOMORROW[locale]),
        "1. " + line(locale, shop_time(6, 11), "Bob", 1, "booked"),
        t(locale, "Bookings: {count}, people: {people}", count=1, people=1),
    ]
    for typed in (
        "/bookings tomorrow riverside",
        "/bookings 2026-01-06 riverside",
        "/bookings 明天 滨江店",
    ):
        (reply,) = await say(dialogs, typed, user="boss", lang=locale)
        assert reply.text.splitlines() == expected, typed
    (today,) = await say(dialogs, "/bookings riverside", user="boss", lang=locale)
    assert today.text == t(
        locale, "No bookings at {store} on {day}.", store=RIVERSIDE[locale], day=TODAY[locale]
    )

    (bad_day,) = await say(dialogs, "/bookings 2026-13-01", user="boss", lang=locale)
    assert bad_day.text == t(
        locale,
        "“{value}” is not a day I understand: use YYYY-MM-DD, today or tomorrow.",
        value="2026-13-01",
    )
    (bad_store,) = await say(dialogs, "/bookings today nowhere", user="boss", lang=locale)
    assert bad_store.text == describe(UnknownStore(store="nowhere"), locale, None)


@LOCALES
async def test_an_owner_of_every_store_picks_one_or_all(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await booked_day(ctx)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    (ask,) = await say(dialogs, "/bookings", user="boss", lang=locale)
    assert ask.text == hinted(locale, t(locale, "For which store?"))
    everything = t(locale, "All stores")
    assert [b.label for b in ask.choices] == [FLAGSHIP[locale], RIVERSIDE[locale], everything]
    (nonsense,) = await say(dialogs, "the big one", user="boss", lang=locale)
    assert nonsense.text.splitlines()[0] == t(
        locale, "Please choose one of the buttons, or send /help to leave."
    )
    (both,) = await say(dialogs, payload=press(nonsense, everything), user="boss", lang=locale)
    lines = both.text.splitlines()
    assert lines[0] == t(
        locale, "Bookings at {store} on {day}:", store=FLAGSHIP[locale], day=TODAY[locale]
    )
    assert lines[-1] == t(
        locale, "No bookings at {store} on {day}.", store=RIVERSIDE[locale], day=TODAY[locale]
    )


async def test_clerks_keep_to_their_own_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    ids = await booked_day(ctx)
    staff = await clerk(ctx)
    own = t("en", "You can only see {store}, your own store.", store=FLAGSHIP["en"])
    for typed in ("/bookings tomorrow riverside", "/bookings all"):
        (refused,) = await say(dialogs, typed, user="clerk", lang="en")
        assert refused.text == own
    assert [(r.actor, r.details["command"]) for r in await refusals(ctx)] == [
        (staff.actor, "desk_bookings riverside"),
        (staff.actor, "desk_bookings all"),
    ]
    clock.set(shop_time(6, 11, 30))
    # Forged buttons: another store's booking, and a booking passed off as another store's.
    river = f"desk_bookings|mark|{ids['river']} attended riverside 2026-01-06"
    (refused,) = await say(dialogs, payload=river, user="clerk", lang="en")
    assert refused.text == own
    disguised = f"desk_bookings|mark|{ids['river']} attended main 2026-01-06"
    (unknown,) = await say(dialogs, payload=disguised, user="clerk", lang="en")
    assert unknown.text == describe(UnknownBooking(booking=ids["river"]), "en", None)
    (river_booking,) = await bookings.store_bookings(ctx, "riverside", shop_time(6, 0).date())
    assert river_booking.status == "booked"


async def test_a_booking_is_marked_only_once_its_time_has_begun(
    ctx: Context, dialogs: Dialogs
) -> None:
    ids = await booked_day(ctx)
    await clerk(ctx)
    early = f"desk_bookings|mark|{ids['bob']} attended main 2026-01-05"
    (reply,) = await say(dialogs, payload=early, user="clerk", lang="zh_CN")
    assert reply.text == describe(BookingNotStarted(booking=ids["bob"]), "zh_CN", None)
    (_, bob) = await bookings.store_bookings(ctx, "main", shop_time(5, 0).date())
    assert bob.status == "booked"


async def test_members_keep_their_own_bookings_and_staff_members_can_still_book(
    ctx: Context, dialogs: Dialogs
) -> None:
    await booked_day(ctx)
    (mine,) = await say(dialogs, "/bookings", user="wang")
    assert mine.text.splitlines()[0] == t("zh_CN", "Your bookings:")
    # A clerk who is also a member: /bookings is the day's list, /book still books.
    await clerk(ctx, user="wang")
    (listing,) = await say(dialogs, "/bookings", user="wang")
    assert listing.text.splitlines()[0] == t(
        "zh_CN", "Bookings at {store} on {day}:", store=FLAGSHIP["zh_CN"], day=TODAY["zh_CN"]
    )
    (book,) = await say(dialogs, "/book", user="wang")
    assert book.text == hinted("zh_CN", t("zh_CN", "Which store would you like to visit?"))
    (mine,) = await say(dialogs, payload=press(book, t("zh_CN", "My bookings")), user="wang")
    assert mine.text.splitlines()[0] == t("zh_CN", "Your bookings:")
