"""Members-only events: places never overbooked and points taken only for a place, also
under concurrent sign-ups; who may join by tier and stage; cancelling before the cut-off
gives the points back with their expiry; the day-before reminder once per sign-up;
attendance and figures; events of the shop file. The clock starts on Monday 5 January
2026, 10:00 in Shanghai."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.catalog import sync_shop
from core.clock import FixedClock
from core.context import Context
from core.engagement import event_organising, shop_events
from core.engagement.event_organising import EventDraft
from core.errors import (
    AlreadySignedUp,
    EventCancelTooLate,
    EventFull,
    EventNotOpen,
    EventNotStarted,
    EventStarted,
    InvalidInput,
    NotAllowed,
    NotEnoughPoints,
    SignupNotActive,
    UnknownEvent,
)
from core.insights.segments import Stage, member_segments, member_stage
from core.people.erasure import delete_member
from core.people.staff import add_staff
from core.pushes.outbox import SERVICE_KINDS
from core.shop_file import load_shop
from storage.models import EventRow, LedgerRow
from tests.core.pushes import queued
from tests.factories import balance, count, owner, reachable, sale, shop_time


def draft(**changes: object) -> EventDraft:
    base = EventDraft(
        title="品鉴会",
        title_en="Tasting evening",
        store="main",
        starts_at=shop_time(10, 19),
        ends_at=shop_time(10, 21),
        capacity=8,
        points=30,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def new_event(ctx: Context, **changes: object) -> shop_events.EventView:
    return await event_organising.create_event(ctx, await owner(ctx), draft(**changes))


# --- places and points --------------------------------------------------------------------


async def test_twenty_concurrent_sign_ups_for_eight_places_take_eight_prices(
    ctx: Context,
) -> None:
    event = await new_event(ctx, capacity=8, points=30)
    members = [await reachable(ctx, points=100) for _ in range(20)]

    results = await asyncio.gather(
        *(shop_events.sign_up(ctx, m, event.id) for m in members), return_exceptions=True
    )

    placed = [r for r in results if isinstance(r, shop_events.SignupView)]
    refused = [r for r in results if not isinstance(r, shop_events.SignupView)]
    assert len(placed) == 8
    assert len(refused) == 12 and all(isinstance(r, EventFull) for r in refused), refused
    balances = {m: await balance(ctx, m) for m in members}
    winners = {p.member_id for p in placed}
    assert all(balances[m] == 70 for m in winners)
    assert all(balances[m] == 100 for m in members if m not in winners)  # nothing taken
    async with ctx.db.read() as s:
        spent = await s.scalar(
            select(func.sum(LedgerRow.points)).where(LedgerRow.kind == shop_events.SPEND_KIND)
        )
    assert spent == -8 * 30
    assert (await shop_events.get_event(ctx, event.id)).joined == 8
    assert len(await event_organising.event_signups(ctx, event.id)) == 8


async def test_one_member_gets_one_place_also_when_tapping_twice(ctx: Context) -> None:
    event = await new_event(ctx, points=10)
    who = await reachable(ctx, points=100)

    results = await asyncio.gather(
        *(shop_events.sign_up(ctx, who, event.id) for _ in range(5)), return_exceptions=True
    )

    assert sum(isinstance(r, shop_events.SignupView) for r in results) == 1
    assert all(isinstance(r, AlreadySignedUp) for r in results if isinstance(r, Exception))
    assert await balance(ctx, who) == 90
    assert (await shop_events.get_event(ctx, event.id)).joined == 1


async def test_without_enough_points_nothing_is_taken(ctx: Context) -> None:
    event = await new_event(ctx, points=30)
    poor = await reachable(ctx, points=20)

    with pytest.raises(NotEnoughPoints) as refused:
        await shop_events.sign_up(ctx, poor, event.id)

    assert refused.value.params == {"balance": 20, "needed": 30}
    assert await balance(ctx, poor) == 20
    assert (await shop_events.get_event(ctx, event.id)).joined == 0


async def test_a_free_event_needs_no_points_and_writes_no_ledger_row(ctx: Context) -> None:
    event = await new_event(ctx, points=0)
    who = await reachable(ctx)

    signup = await shop_events.sign_up(ctx, who, event.id)

    assert signup.points == 0
    assert await count(ctx, LedgerRow, LedgerRow.member_id == who) == 0


async def test_sign_ups_close_when_the_event_begins(ctx: Context, clock: FixedClock) -> None:
    event = await new_event(ctx, points=0)
    who = await reachable(ctx)
    clock.set(shop_time(10, 19))

    assert await shop_events.open_events(ctx, who) == []
    with pytest.raises(EventStarted):
        await shop_events.sign_up(ctx, who, event.id)
    with pytest.raises(UnknownEvent):
        await shop_events.event_for_member(ctx, who, event.id)


# --- who may join -------------------------------------------------------------------------


async def test_below_the_minimum_tier_the_event_is_neither_seen_nor_joinable(
    ctx: Context,
) -> None:
    event = await new_event(ctx, min_tier="gold", points=0)
    silver = await reachable(ctx, tier="silver")
    gold = await reachable(ctx, tier="gold")
    diamond = await reachable(ctx, tier="diamond")

    assert await shop_events.open_events(ctx, silver) == []
    with pytest.raises(EventNotOpen):
        await shop_events.event_for_member(ctx, silver, event.id)
    with pytest.raises(EventNotOpen):
        await shop_events.sign_up(ctx, silver, event.id)
    assert (await shop_events.get_event(ctx, event.id)).joined == 0

    for who in (gold, diamond):
        assert [e.event.id for e in await shop_events.open_events(ctx, who)] == [event.id]
        await shop_events.sign_up(ctx, who, event.id)


async def test_stages_and_tier_must_both_hold(ctx: Context, clock: FixedClock) -> None:
    for_newcomers = await new_event(ctx, stages=frozenset({Stage.NEW}), points=0)
    gold_new = await new_event(
        ctx, title="金卡新客", stages=frozenset({Stage.NEW}), min_tier="gold", points=0
    )
    never_bought = await reachable(ctx)
    newcomer = await reachable(ctx)
    await sale(ctx, newcomer, days_ago=3)

    assert await shop_events.open_events(ctx, never_bought) == []
    with pytest.raises(EventNotOpen):
        await shop_events.sign_up(ctx, never_bought, for_newcomers.id)
    seen = [e.event.id for e in await shop_events.open_events(ctx, newcomer)]
    assert seen == [for_newcomers.id]  # new, but not gold
    with pytest.raises(EventNotOpen):
        await shop_events.sign_up(ctx, newcomer, gold_new.id)
    await shop_events.sign_up(ctx, newcomer, for_newcomers.id)


async def test_one_members_stage_is_the_stage_of_the_whole_shops_segments(
    ctx: Context, clock: FixedClock
) -> None:
    # Loyal needs top frequency and money scores against the other buyers.
    shape = [(), (400,), (300, 200), (100, 95), (60, 10, 5), (200, 190, 185), (20,), (370,)]
    spend = [100, 5000, 100, 300, 800, 100, 100, 100]
    ids = []
    for days_ago, yuan in zip(shape, spend, strict=True):
        who = await reachable(ctx)
        ids.append(who)
        for ago in days_ago:
            await sale(ctx, who, days_ago=ago, yuan=yuan)
    segments = {m.member_id: m.stage for m in await member_segments(ctx)}
    async with ctx.db.read() as s:
        single = {who: await member_stage(s, ctx, who) for who in ids}
    assert single == {who: segments[who] for who in ids}
    assert {Stage.POTENTIAL, Stage.LOST, Stage.NEW, Stage.LOYAL} <= set(single.values())


# --- cancelling ---------------------------------------------------------------------------


async def test_cancel_before_the_cut_off_returns_the_points_with_their_expiry(
    ctx: Context, clock: FixedClock
) -> None:
    event = await new_event(ctx, points=30, capacity=1)
    who = await reachable(ctx, points=100)
    async with ctx.db.read() as s:
        lot = await s.scalar(select(LedgerRow).where(LedgerRow.member_id == who))
    assert lot is not None
    signup = await shop_events.sign_up(ctx, who, event.id)
    clock.set(shop_time(9, 19))  # exactly 24 hours before: still in time

    cancelled = await shop_events.cancel_signup(ctx, who, signup.id)

    assert cancelled.status == "cancelled"
    assert await balance(ctx, who) == 100
    async with ctx.db.read() as s:
        back = await s.scalar(select(LedgerRow).where(LedgerRow.kind == shop_events.RETURN_KIND))
        again = await s.get(LedgerRow, lot.id)
    assert back is not None and back.points == 30 and back.remaining is None
    assert again is not None and (again.remaining, again.expires_at) == (100, lot.expires_at)
    assert (await shop_events.get_event(ctx, event.id)).joined == 0
    with pytest.raises(SignupNotActive):
        await shop_events.cancel_signup(ctx, who, signup.id)
    other = await reachable(ctx, points=30)
    await shop_events.sign_up(ctx, other, event.id)  # the place is free again


async def test_after_the_cut_off_the_place_and_the_points_stay(
    ctx: Context, clock: FixedClock
) -> None:
    event = await new_event(ctx, points=30)
    who = await reachable(ctx, points=100)
    signup = await shop_events.sign_up(ctx, who, event.id)
    clock.set(shop_time(9, 19, 1))

    with pytest.raises(EventCancelTooLate) as late:
        await shop_events.cancel_signup(ctx, who, signup.id)

    assert late.value.params["hours"] == 24
    assert await balance(ctx, who) == 70
    assert [s.member_id for s in await shop_events.member_signups(ctx, who)] == [who]


async def test_nobody_cancels_someone_elses_place(ctx: Context) -> None:
    event = await new_event(ctx, points=0)
    who, other = await reachable(ctx), await reachable(ctx)
    signup = await shop_events.sign_up(ctx, who, event.id)

    with pytest.raises(UnknownEvent):
        await shop_events.cancel_signup(ctx, other, signup.id)


# --- the reminder -------------------------------------------------------------------------


async def test_reminder_the_day_before_once_per_sign_up(ctx: Context, clock: FixedClock) -> None:
    assert shop_events.REMINDER in SERVICE_KINDS
    event = await new_event(ctx, points=0)  # Saturday 10 January 19:00
    declined = await reachable(ctx, consent=False)  # a service message: consent does not matter
    leaving = await reachable(ctx)
    first = await shop_events.sign_up(ctx, declined, event.id)
    gone = await shop_events.sign_up(ctx, leaving, event.id)
    await shop_events.cancel_signup(ctx, leaving, gone.id)

    clock.set(shop_time(9, 9, 50))
    assert await shop_events.remind_events(ctx) == 0
    clock.set(shop_time(9, 10, 0))
    late = await reachable(ctx)
    await shop_events.sign_up(ctx, late, event.id)  # after the moment: just read the details
    assert await shop_events.remind_events(ctx) == 1
    clock.set(shop_time(9, 10, 10))
    assert await shop_events.remind_events(ctx) == 0

    rows = await queued(ctx, shop_events.REMINDER)
    assert [(m, key) for m, key, _ in rows] == [(declined, f"event_reminder:{first.id}")]
    assert rows[0][2] == {
        "event_id": event.id,
        "signup_id": first.id,
        "title": "品鉴会",
        "title_en": "Tasting evening",
        "store": "main",
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
    }


# --- attendance and figures ---------------------------------------------------------------


async def test_staff_mark_attendance_once_it_began_and_the_figures_add_up(
    ctx: Context, clock: FixedClock
) -> None:
    event = await new_event(ctx, points=30)
    came, missed, left = [await reachable(ctx, points=100) for _ in range(3)]
    signups = {who: await shop_events.sign_up(ctx, who, event.id) for who in (came, missed, left)}
    await shop_events.cancel_signup(ctx, left, signups[left].id)

    with pytest.raises(EventNotStarted):
        await event_organising.mark_signup(ctx, signups[came].id, "attended", None)
    clock.set(shop_time(10, 19, 30))
    await event_organising.mark_signup(ctx, signups[came].id, "attended", None)
    await event_organising.mark_signup(ctx, signups[missed].id, "attended", None)
    corrected = await event_organising.mark_signup(ctx, signups[missed].id, "no_show", None)
    assert corrected.status == "no_show"
    with pytest.raises(SignupNotActive):
        await event_organising.mark_signup(ctx, signups[left].id, "attended", None)
    with pytest.raises(InvalidInput):
        await event_organising.mark_signup(ctx, signups[came].id, "maybe", None)

    figures = await event_organising.event_stats(
        ctx, store=None, start=date(2026, 1, 1), end=date(2026, 1, 31)
    )
    assert figures == event_organising.EventStats(
        events=1, signups=2, attended=1, no_shows=1, cancelled=1, points_spent=60
    )
    assert figures.attendance_rate == 0.5
    elsewhere = await event_organising.event_stats(
        ctx, store="riverside", start=date(2026, 1, 1), end=date(2026, 1, 31)
    )
    assert elsewhere.events == elsewhere.signups == 0
    before = await event_organising.event_stats(
        ctx, store="main", start=date(2025, 12, 1), end=date(2026, 1, 9)
    )
    assert before.events == 0


# --- making events ------------------------------------------------------------------------


async def test_only_managers_make_events_and_managers_only_for_their_store(
    ctx: Context,
) -> None:
    clerk = await add_staff(ctx, channel="console", external_id="c", role="clerk", store="main")
    manager = await add_staff(ctx, channel="console", external_id="m", role="manager", store="main")
    with pytest.raises(NotAllowed):
        await event_organising.create_event(ctx, clerk, draft())
    with pytest.raises(NotAllowed):
        await event_organising.create_event(ctx, manager, draft(store="riverside"))
    with pytest.raises(NotAllowed):
        await event_organising.create_event(ctx, manager, draft(store=None))
    made = await event_organising.create_event(ctx, manager, draft())
    assert (made.store, made.capacity, made.points, made.joined) == ("main", 8, 30, 0)
    every_store = await event_organising.create_event(ctx, await owner(ctx), draft(store=None))
    assert every_store.store is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title_en": "x" * 101}, "title_en"),
        ({"store": "nowhere"}, "store"),
        ({"min_tier": "platinum"}, "min_tier"),
        ({"starts_at": shop_time(5, 9)}, "starts_at"),
        ({"ends_at": shop_time(10, 19)}, "ends_at"),
        ({"capacity": 0}, "capacity"),
        ({"points": -1}, "points"),
        ({"stages": frozenset({"sleepy"})}, "stages"),
    ],
)
async def test_a_bad_draft_names_what_is_wrong(
    ctx: Context, change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await new_event(ctx, **change)
    assert bad.value.params["field"] == field


async def test_events_of_the_shop_file_are_mirrored_by_code(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text(
        """
[[events]]
code = "wine"
title = "金卡品酒会"
title_en = "Gold wine tasting"
store = "main"
starts_at = 2026-01-20T19:00:00
ends_at = 2026-01-20T21:00:00
capacity = 20
min_tier = "gold"
stages = ["loyal", "active"]
points = 50

[[events]]
code = "open-day"
title = "开放日"
title_en = "Open day"
starts_at = 2026-01-25T10:00:00
ends_at = 2026-01-25T16:00:00
capacity = 100
""",
        encoding="utf-8",
    )
    shop = load_shop(path)
    synced = replace(ctx, shop=shop)
    assert (await sync_shop(synced)).events == 2
    await sync_shop(synced)  # again: nothing doubles

    async with ctx.db.read() as s:
        rows = {r.code: r for r in await s.scalars(select(EventRow))}
    assert set(rows) == {"wine", "open-day"}
    wine = await shop_events.get_event(ctx, rows["wine"].id)
    assert (wine.store, wine.min_tier, wine.stages, wine.points) == (
        "main",
        "gold",
        (Stage.ACTIVE, Stage.LOYAL),
        50,
    )
    assert wine.starts_at == shop_time(20, 19) and wine.ends_at == shop_time(20, 21)  # shop time
    assert (await shop_events.get_event(ctx, rows["open-day"].id)).store is None

    await sync_shop(replace(ctx, shop=load_shop()))  # gone from the file
    anyone = await reachable(ctx)
    assert await shop_events.open_events(ctx, anyone) == []
    with pytest.raises(UnknownEvent):
        await shop_events.sign_up(ctx, anyone, rows["open-day"].id)


def test_a_wrong_event_in_the_shop_file_names_the_key(tmp_path: Path) -> None:
    from core.shop import ShopFileError

    path = tmp_path / "shop.toml"
    path.write_text(
        '[[events]]\ncode = "x"\ntitle = "x"\ntitle_en = "x"\nmin_tier = "platinum"\n'
        "starts_at = 2026-01-20T19:00:00\nends_at = 2026-01-20T18:00:00\ncapacity = 5\n",
        encoding="utf-8",
    )
    with pytest.raises(ShopFileError, match=r"events\[0\]: ends_at must be after starts_at"):
        load_shop(path)
    path.write_text(
        '[[events]]\ncode = "x"\ntitle = "x"\ntitle_en = "x"\nmin_tier = "platinum"\n'
        "starts_at = 2026-01-20T19:00:00\nends_at = 2026-01-20T21:00:00\ncapacity = 5\n",
        encoding="utf-8",
    )
    with pytest.raises(ShopFileError, match=r"events\[0\]\.min_tier: no tier 'platinum'"):
        load_shop(path)
    stages = {s.value for s in Stage}
    from typing import get_args

    from core.shop import EventStage

    assert set(get_args(EventStage)) == stages


async def test_a_member_who_deletes_their_data_frees_their_places(ctx: Context) -> None:
    event = await new_event(ctx, points=0, capacity=1)
    leaving = await reachable(ctx)
    await shop_events.sign_up(ctx, leaving, event.id)

    await delete_member(ctx, leaving, actor="member:1")

    assert (await shop_events.get_event(ctx, event.id)).joined == 0
    assert await event_organising.event_signups(ctx, event.id) == []
    await shop_events.sign_up(ctx, await reachable(ctx), event.id)


async def test_a_new_event_tells_the_members_who_may_join_and_accept_news(
    ctx: Context,
) -> None:
    """Members with no event are promised "We will let you know!": a new event now queues
    a marketing push to each member who may join it and accepted offers and news, once."""
    gold = await reachable(ctx, tier="gold")
    diamond = await reachable(ctx, tier="diamond")
    await reachable(ctx, tier="member")  # below the event's tier
    await reachable(ctx, tier="gold", consent=False)  # declined offers and news
    event = await new_event(ctx, min_tier="gold")
    rows = await queued(ctx, event_organising.NEWS)
    assert [(m, key) for m, key, _ in rows] == [
        (gold, f"{event_organising.NEWS}:{event.id}:{gold}"),
        (diamond, f"{event_organising.NEWS}:{event.id}:{diamond}"),
    ]
    assert rows[0][2]["event_id"] == event.id
    assert rows[0][2]["title_en"] == "Tasting evening"
