"""Events and check-in as conversations, in both languages: the member's list, signing up
(also twenty members for eight places at once), a forged button for an event above the
member's tier, cancelling; staff making an event step by step and in one line, marking who
came, the limits of clerks and members; daily check-in and its streak; "why?" in the
points ledger; the reminder push. Now is Monday 2026-01-05 10:00 in Shanghai."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot import reports
from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Payload
from bot.dialogs.member import checkin, events, points
from bot.dialogs.staff import events as desk_events
from bot.error_texts import describe
from bot.i18n import format_day, format_moment, format_time
from bot.pushes import texts as pushes
from core.clock import FixedClock
from core.context import Context
from core.engagement import event_organising
from core.engagement import shop_events as core_events
from core.errors import EventCancelTooLate, EventNotOpen, NotAllowed
from core.people.members import update_member
from core.people.staff import add_staff
from core.pushes import work_queue
from storage.models import AuditRow
from tests.conftest import ZONE
from tests.dialogs.conftest import hinted, press, say, t
from tests.factories import balance, owner, registered, shop_time

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
WHEN = {
    locale: f"{format_day(date(2026, 1, 10), locale)} "
    + "–".join(
        format_time(datetime(2026, 1, 10, hour, tzinfo=ZONE), locale, ZONE) for hour in (19, 21)
    )
    for locale in ("zh_CN", "en")
}
FLAGSHIP = {"zh_CN": "旗舰店", "en": "Flagship store"}
TITLE = {"zh_CN": "品鉴会", "en": "Tasting evening"}


async def tasting(ctx: Context, **changes: object) -> core_events.EventView:
    draft = event_organising.EventDraft(
        title="品鉴会",
        title_en="Tasting evening",
        store="main",
        starts_at=shop_time(10, 19),
        ends_at=shop_time(10, 21),
        capacity=8,
        points=30,
    )
    staff = await add_staff(ctx, channel="console", external_id="maker", role="owner", store=None)
    return await event_organising.create_event(
        ctx, staff, draft.__class__(**{**draft.__dict__, **changes})
    )


# --- members: the list, signing up, cancelling --------------------------------------------


@LOCALES
async def test_a_member_signs_up_with_points_and_cancels_them_back(
    dialogs: Dialogs, ctx: Context, locale: str
) -> None:
    event = await tasting(ctx)
    me = await registered(ctx, name="王芳", user="u1", locale=locale, points=100)
    word = {"zh_CN": "活动", "en": "events"}[locale]

    (listing,) = await say(dialogs, word)
    assert t(locale, "Events for you:") in listing.text
    line = t(
        locale,
        "{title} — {when}, {where}",
        title=TITLE[locale],
        when=WHEN[locale],
        where=FLAGSHIP[locale],
    )
    assert f"1. {line}" in listing.text
    assert t(locale, "{free} of {capacity} places left", free=8, capacity=8) in listing.text
    (asked,) = await say(dialogs, payload=press(listing, t(locale, "Sign up #{number}", number=1)))
    assert (
        t(
            locale,
            "It costs {points} points; points left afterwards: {balance}.",
            points=30,
            balance=70,
        )
        in asked.text
    )
    assert await balance(ctx, me.id) == 100  # nothing taken before Confirm
    confirm = press(asked, t(locale, "Confirm"))
    (done,) = await say(dialogs, payload=confirm)
    assert t(locale, "You have a place: {event}", event=line) in done.text
    assert (
        t(locale, "{points} points spent; points left: {balance}.", points=30, balance=70)
        in done.text
    )
    (twice,) = await say(dialogs, payload=confirm)  # over: the same answer, nothing more
    assert twice == done
    assert await balance(ctx, me.id) == 70

    (mine,) = await say(dialogs, payload=press(done, t(locale, "My events")))
    (sure,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    assert t(locale, "Your {points} points come back.", points=30) in sure.text
    (cancelled,) = await say(dialogs, payload=press(sure, t(locale, "Yes, cancel it")))
    assert (
        t(locale, "{points} points are back; balance: {balance}.", points=30, balance=100)
        in cancelled.text
    )
    assert (await core_events.get_event(ctx, event.id)).joined == 0


@LOCALES
async def test_after_the_cut_off_there_is_no_cancel_button_and_old_ones_are_refused(
    dialogs: Dialogs, ctx: Context, clock: FixedClock, locale: str
) -> None:
    event = await tasting(ctx)
    me = await registered(ctx, name="王芳", user="u1", locale=locale, points=100)
    signup = await core_events.sign_up(ctx, me.id, event.id)
    (mine,) = await say(dialogs, "/events my events" if locale == "en" else "我的活动")
    old_button = press(mine, t(locale, "Cancel #{number}", number=1))
    clock.set(shop_time(9, 20))

    (late,) = await say(dialogs, payload=Payload(events.NAME, events.MINE).pack())
    assert t(locale, "   (too late to cancel; see you there!)") in late.text
    assert not late.choices[:-1]  # only "Events"
    (refused,) = await say(dialogs, payload=old_button)
    assert refused.text == describe(EventCancelTooLate(hours=24), locale, None)
    assert await balance(ctx, me.id) == 70
    assert signup.status == "joined"


@LOCALES
async def test_below_the_tier_the_event_is_not_listed_and_a_forged_button_is_refused(
    dialogs: Dialogs, ctx: Context, locale: str
) -> None:
    event = await tasting(ctx, min_tier="gold")
    me = await registered(ctx, name="王芳", user="u1", locale=locale, points=100, tier="silver")

    (listing,) = await say(dialogs, "/events")
    # No promise of news to a member who declined offers and news: nothing would tell them.
    assert listing.text == t(
        locale,
        "There are no events for you at the moment. To hear of new ones, turn on offers and "
        "news under \u201cMy profile\u201d.",
    )
    await update_member(ctx, me.id, actor="member", marketing_consent=True)
    (listing,) = await say(dialogs, "/events")
    assert listing.text == t(
        locale, "There are no events for you at the moment. We will let you know!"
    )
    forged = Payload(events.NAME, events.ASK, str(event.id)).pack()
    (refused,) = await say(dialogs, payload=forged)
    assert refused.text == describe(EventNotOpen(), locale, None)
    (stale,) = await say(dialogs, payload=Payload(events.NAME, events.CONFIRM, events.YES).pack())
    assert t(locale, "Sign up") not in stale.text  # no conversation to confirm: the menu
    assert await balance(ctx, me.id) == 100
    assert (await core_events.get_event(ctx, event.id)).joined == 0


@LOCALES
async def test_twenty_members_confirming_at_once_get_eight_places(
    dialogs: Dialogs, ctx: Context, locale: str
) -> None:
    event = await tasting(ctx, capacity=8, points=30)
    members = [
        await registered(ctx, name="王芳", locale=locale, user=f"m{n}", points=100)
        for n in range(20)
    ]
    for n in range(20):
        await say(
            dialogs, payload=Payload(events.NAME, events.ASK, str(event.id)).pack(), user=f"m{n}"
        )

    replies = await asyncio.gather(
        *(
            say(
                dialogs,
                payload=Payload(events.NAME, events.CONFIRM, events.YES).pack(),
                user=f"m{n}",
            )
            for n in range(20)
        )
    )

    texts = [reply.text for (reply,) in replies]
    full = t(locale, "Sorry, the last place has just been taken; no points were spent.")
    assert (
        sum(text.startswith(t(locale, "You have a place: {event}", event="")[:4]) for text in texts)
        == 8
    )
    assert texts.count(full) == 12
    balances = [await balance(ctx, m.id) for m in members]
    assert sorted(balances) == [70] * 8 + [100] * 12
    assert (await core_events.get_event(ctx, event.id)).joined == 8


# --- staff ---------------------------------------------------------------------------------


@LOCALES
async def test_the_owner_makes_an_event_step_by_step(
    dialogs: Dialogs, ctx: Context, locale: str
) -> None:
    await registered(
        ctx, name="王芳", locale=locale, user="boss"
    )  # the owner is also a member: their language
    await owner(ctx)

    (empty,) = await say(dialogs, "/event", user="boss")
    assert empty.text.startswith(t(locale, "No events coming up."))
    (asked,) = await say(dialogs, payload=press(empty, t(locale, "New event")), user="boss")
    assert asked.text == hinted(locale, t(locale, "The event's title in Chinese:"))
    await say(dialogs, "品鉴会", user="boss")
    (store,) = await say(dialogs, "-", user="boss")  # the same title in English
    (starts,) = await say(dialogs, payload=press(store, FLAGSHIP[locale]), user="boss")
    assert starts.text == hinted(
        locale, t(locale, "When does it start? YYYY-MM-DD HH:MM, e.g. 2026-01-20 19:00")
    )
    (bad,) = await say(dialogs, "next saturday", user="boss")
    assert bad.text.startswith(
        t(locale, "“{value}” is not a time I understand.", value="next saturday")
    )
    (past,) = await say(dialogs, "2026-01-04 19:00", user="boss")
    assert past.text.startswith(t(locale, "That time has passed."))
    await say(dialogs, "2026-01-10 19:00", user="boss")
    (before,) = await say(dialogs, "18:00", user="boss")
    assert before.text.startswith(t(locale, "The end must be after the start."))
    await say(dialogs, "21:00", user="boss")
    (tiers,) = await say(dialogs, "8", user="boss")
    gold = t(locale, "{tier} and up", tier={"zh_CN": "金卡", "en": "Gold"}[locale])
    await say(dialogs, payload=press(tiers, gold), user="boss")
    await say(dialogs, "loyal, active", user="boss")
    (summary,) = await say(dialogs, "50", user="boss")
    assert t(locale, "When: {when}", when=WHEN[locale]) in summary.text
    # Chinese lists take 、 and ；, like the rest of a Chinese sentence (issue 23, point 7).
    comma, semicolon = {"zh_CN": ("、", "；"), "en": (", ", "; ")}[locale]
    loyal_active = comma.join(t(locale, name) for name in ("Active", "Loyal"))
    who = f"{gold}{semicolon}{loyal_active}"
    assert t(locale, "Who may join: {who}", who=who) in summary.text
    assert (
        t(locale, "Price: {price}", price=t(locale, "{points} points", points=50)) in summary.text
    )
    (made,) = await say(dialogs, payload=press(summary, t(locale, "Create")), user="boss")
    assert made.text.startswith(t(locale, "Event created: {event}", event="")[:3])

    (created,) = await event_organising.staff_events(ctx, None)
    assert (created.title, created.title_en, created.min_tier, created.points) == (
        "品鉴会",
        "品鉴会",
        "gold",
        50,
    )
    assert [s.value for s in created.stages] == ["active", "loyal"]
    assert (created.starts_at, created.ends_at, created.capacity) == (
        shop_time(10, 19),
        shop_time(10, 21),
        8,
    )


async def test_the_one_line_form_asks_only_what_it_lacks(dialogs: Dialogs, ctx: Context) -> None:
    await add_staff(ctx, channel="console", external_id="mgr", role="manager", store="riverside")

    (tiers,) = await say(
        dialogs, "/event new 2026-01-11 19:00-21:00 12 0 试吃 / Tasting", user="mgr", lang="en"
    )
    assert tiers.text == hinted("en", "Which tiers may join?")  # a manager's store is their own
    (stages,) = await say(dialogs, payload=press(tiers, "All members"), user="mgr")
    (summary,) = await say(dialogs, payload=press(stages, "Any stage"), user="mgr")
    assert "Where: Riverside store" in summary.text and "Price: free" in summary.text
    await say(dialogs, payload=press(summary, "Create"), user="mgr")
    (made,) = await event_organising.staff_events(ctx, None)
    assert (made.title, made.title_en, made.store, made.capacity) == (
        "试吃",
        "Tasting",
        "riverside",
        12,
    )

    (usage,) = await say(dialogs, "/event new tomorrow", user="mgr", lang="en")
    assert usage.text.startswith("Usage: /event")


@LOCALES
async def test_clerks_mark_who_came_but_make_no_events_and_members_get_nothing(
    dialogs: Dialogs, ctx: Context, clock: FixedClock, locale: str
) -> None:
    event = await tasting(ctx)
    elsewhere = await tasting(ctx, store="riverside", title="滨江", title_en="River")
    guest = await registered(ctx, name="王芳", locale=locale, user="guest", points=100)
    await core_events.sign_up(ctx, guest.id, event.id)
    await registered(ctx, name="王芳", locale=locale, user="clerk")
    await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store="main")

    (listing,) = await say(dialogs, "/event", user="clerk")
    assert (
        TITLE[locale] in listing.text and "River" not in listing.text and "滨江" not in listing.text
    )
    assert t(locale, "New event") not in [b.label for b in listing.choices]
    (no,) = await say(dialogs, "/event new", user="clerk")
    assert no.text == describe(NotAllowed(needed="manager"), locale, None)
    (other,) = await say(
        dialogs,
        payload=Payload(desk_events.NAME, desk_events.PICK, str(elsewhere.id)).pack(),
        user="clerk",
    )
    assert other.text == t(
        locale, "You can only see {store}, your own store.", store=FLAGSHIP[locale]
    )

    (before,) = await say(dialogs, payload=press(listing, "#1"), user="clerk")
    assert f"1. 王芳 — {t(locale, 'signed up')}" in before.text and not before.choices
    clock.set(shop_time(10, 19, 5))
    (began,) = await say(dialogs, payload=press(listing, "#1"), user="clerk")
    (marked,) = await say(
        dialogs, payload=press(began, t(locale, "#{number} attended", number=1)), user="clerk"
    )
    assert marked.text.startswith(
        t(locale, "Marked: {name} — {status}", name="王芳", status=t(locale, "attended"))
    )
    assert t(locale, "Attended: {count} of {total}", count=1, total=1) in marked.text
    (fixed,) = await say(
        dialogs,
        payload=press(marked, t(locale, "Change to {status}", status=t(locale, "no-show"))),
        user="clerk",
    )
    assert f"1. 王芳 — {t(locale, 'no-show')}" in fixed.text

    (refused,) = await say(dialogs, "/event", user="guest")
    assert refused.text == describe(NotAllowed(needed="clerk"), locale, None)
    async with ctx.db.read() as s:
        actions = list(await s.scalars(select(AuditRow.action)))
    assert actions.count("staff.refused") == 3  # /event new, the other store, the member


# --- check-in ------------------------------------------------------------------------------


@LOCALES
async def test_check_in_once_a_day_with_the_streak_and_its_bonus(
    dialogs: Dialogs, ctx: Context, clock: FixedClock, locale: str
) -> None:
    await registered(ctx, name="王芳", user="u1", locale=locale)
    word = {"zh_CN": "签到", "en": "/checkin"}[locale]

    (first,) = await say(dialogs, word)
    assert first.text.startswith(t(locale, "Checked in! +{points} points.", points=2))
    assert t(locale, "Days in a row: {days}", days=1) in first.text
    assert (
        t(locale, "Check-ins to the next bonus of {bonus} points: {days}", bonus=10, days=6)
        in first.text
    )
    (again,) = await say(dialogs, word)
    assert again.text.startswith(
        t(locale, "You have already checked in today. Come back tomorrow!")
    )
    assert t(locale, "Points: {balance}", balance=2) in again.text
    for day in range(6, 12):
        clock.set(shop_time(day, 9))
        (reply,) = await say(dialogs, word)
    assert (
        t(
            locale,
            "That includes a bonus of {bonus} points for {days} days in a row!",
            bonus=10,
            days=7,
        )
        in reply.text
    )
    assert t(locale, "Points: {balance}", balance=24) in reply.text


@LOCALES
async def test_the_points_ledger_explains_check_ins_and_events(
    dialogs: Dialogs, ctx: Context, locale: str
) -> None:
    event = await tasting(ctx)
    me = await registered(ctx, name="王芳", user="u1", locale=locale, points=100)
    signup = await core_events.sign_up(ctx, me.id, event.id)
    await core_events.cancel_signup(ctx, me.id, signup.id)
    await say(dialogs, "/checkin")

    (shown,) = await say(dialogs, "/points")
    for kind in ("checkin", "event", "event_return"):
        assert t(locale, points.KIND_NAMES[kind]) in shown.text
    why = {b.label: b.payload for b in shown.choices}
    (checked,) = await say(dialogs, payload=why[t(locale, "Why #{number}?", number=1)])
    assert checked.text.startswith(
        t(
            locale,
            "Daily check-in on {day}, day {streak} in a row: {points} points.",
            day={"zh_CN": "2026年1月5日", "en": "Jan 5, 2026"}[locale],
            streak=1,
            points=2,
        )
    )
    (back,) = await say(dialogs, payload=why[t(locale, "Why #{number}?", number=2)])
    assert back.text == t(
        locale,
        "Your place at {title} was cancelled: its {points} points came back, with the "
        "expiry they had.",
        title=TITLE[locale],
        points=30,
    )
    (paid,) = await say(dialogs, payload=why[t(locale, "Why #{number}?", number=3)])
    assert paid.text == t(
        locale, "{points} points for your place at {title}.", points=30, title=TITLE[locale]
    )


# --- the reminder push ---------------------------------------------------------------------


@LOCALES
async def test_the_reminder_reads_in_the_members_language(
    ctx: Context, clock: FixedClock, locale: str
) -> None:
    event = await tasting(ctx, store=None, points=0)
    me = await registered(ctx, name="王芳", user="u1", locale=locale)
    await core_events.sign_up(ctx, me.id, event.id)
    clock.set(shop_time(9, 10))
    assert await core_events.remind_events(ctx) == 1
    pushed = [p for p in await work_queue.claim(ctx, 10) if p.kind == core_events.REMINDER]
    assert len(pushed) == 1
    message = await pushes.render(ctx, pushed[0], pushed[0].recipients[0])

    starts = format_moment(shop_time(10, 19), locale, ZONE)
    expected = t(
        locale,
        pushes.TEXTS["event_reminder"],
        title=TITLE[locale],
        starts_at=starts,
        store=t(locale, "every store"),
    )
    assert message.replies[0].text == expected
    assert TITLE[locale] in expected and starts in expected


def test_every_flow_of_this_module_is_registered() -> None:
    from bot.dialogs.registry import FLOWS

    names = {flow.name for flow in FLOWS}
    assert {events.NAME, checkin.NAME, desk_events.NAME} <= names


@LOCALES
async def test_stats_show_sign_ups_attendance_points_and_check_ins(
    dialogs: Dialogs, ctx: Context, clock: FixedClock, locale: str
) -> None:
    event = await tasting(ctx)
    came = await registered(ctx, name="王芳", locale=locale, user="came", points=100)
    stayed_home = await registered(ctx, name="王芳", locale=locale, user="home", points=100)
    for who in (came, stayed_home):
        await core_events.sign_up(ctx, who.id, event.id)
    await say(dialogs, "/checkin", user="came")
    clock.set(shop_time(10, 20))
    signups = await event_organising.event_signups(ctx, event.id)
    await event_organising.mark_signup(ctx, signups[0].id, "attended", None)
    await registered(ctx, name="王芳", locale=locale, user="boss")
    await owner(ctx)

    (report,) = await say(dialogs, "/stats all month", user="boss")

    figures = await event_organising.event_stats(
        ctx, store=None, start=date(2026, 1, 1), end=date(2026, 1, 31)
    )
    expected = [*reports.event_rows(figures, locale), ("  " + t(locale, "points given"), "2")]
    assert dict(expected)["  " + t(locale, "sign-ups")] == "2"
    assert dict(expected)["  " + t(locale, "points spent")] == "60"
    lines = report.text.splitlines()
    for label, value in expected:
        assert any(line.startswith(label) and line.endswith(value) for line in lines), (
            label,
            value,
        )
