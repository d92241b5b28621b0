"""Hypothesis drives the dialogs with arbitrary texts, button payloads (real ones of every
flow, and forged ones), taps on the buttons a sender was really shown, and orders of events,
from three members, a clerk, a manager, the owner and a stranger: every event gets at least
one reply and never an exception, no balance goes below zero, no points lot below nothing,
no point appears in or vanishes from the ledger, and no booking slot or event holds more
than its capacity, or other than its bookings and sign-ups.

Forged and random payloads alone never finish a flow (a step takes only the buttons of its
own conversation), so the invariants would hold vacuously. Hence taps: more than half of
all actions, half of them on the first button (which walks every flow forward), in runs of
one sender that often begin with a flow's word, so booking, rewards, events, check-in and
the counter flows reach their effect. Slots and the event have two places, and a store has
one or two slots a day, so three members collide and overbooking is within reach.
``test_taps_reach_the_effects`` plays fixed taps through the same ``play``: if it fails,
the fuzzer cannot reach the invariants either.

The database (and what each sender sees) is not reset between examples: the histories
build on each other, which finds more than fresh starts would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Button, Event, Payload, Sender
from bot.dialogs.registry import FLOWS, create_dialogs
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.engagement import event_organising, shop_events
from core.ledger import adjustments, statement
from core.people.registration import register_member
from core.people.staff import add_staff
from core.shop import WEEKDAYS, OpeningHours
from storage.models import (
    BookingRow,
    CheckinRow,
    CouponRow,
    EventRow,
    EventSignupRow,
    LedgerRow,
    MemberRow,
    RefundRow,
    SlotRow,
    StoreRow,
)
from tests.factories import count

CAPACITY = 2  # places in every booking slot and at the event: three members fill them
MEMBERS = {"fuzz-rich": "13900000001", "fuzz-modest": "13900000002", "fuzz-poor": "13900000003"}
STRANGER = "fuzz-stranger"
OTHERS = ("fuzz-clerk", "fuzz-manager", "fuzz-owner", STRANGER)
# What one action of a run is, weighted: taps more than half of all.
KINDS = ("tap",) * 8 + ("word",) * 2 + ("text", "payload", "other")
MEMBER_STARTS = (  # the words that open the members' flows which change something
    "/book",
    "预约",
    "/bookings",
    "/rewards",
    "兑换",
    "/coupons",
    "/events",
    "活动",
    "我的活动",
    "签到",
    "/checkin",
    "/feedback",
    "/profile",
)
STAFF_STARTS = (  # and the staff's
    "/sale",
    "/sale 13900000001 88.8 F-1",
    "/sale 13900000003 12 F-2",
    "/refund F-1",
    "/use",
    "/adjust M000001 +10 x",
    "/adjust M000003 -500 x",
    "/event",
    "/bookings",
    "/feedback",
    "/member 139",
    "/staff",
)
WORDS = (
    *MEMBER_STARTS,
    *STAFF_STARTS,
    "积分",
    "points",
    "/start",
    "/help",
    "/points",
    "/card",
    "/lang",
    "/invite",
    "/foryou",
    "我的预约",
    "反馈",
    "yes",
    "no",
    "是",
    "否",
    "1",
    "2",
    "3",
    "4",
    "5",
    "9",
    "0",
    "13900000001",
    "13900000002",
    "13800138000",
    "1990-02-29",
    "2026-01-06",
    "tomorrow",
    "/sale M000001 -5",
    "/use ABCDEFGHJK",
    "/member 139",
    "/digest",
    "/stats",
    "/campaign",
    "/alerts",
    "/join XYZ",
    "/undo",
    "",
)


@dataclass(frozen=True)
class Tap:
    """``sender`` presses button ``index`` (modulo their number) of the replies they got
    last; with no button on their screen they type ``fallback`` instead."""

    sender: Sender
    index: int = 0
    fallback: str = ""


Action = Event | Tap


Screens = dict[Sender, list[Button]]  # the buttons of each sender's last replies


async def play(dialogs: Dialogs, history: Sequence[Action], screens: Screens | None = None) -> None:
    """Send ``history`` in order, each tap resolved against its sender's last replies (in
    ``screens``, which it updates): every event gets at least one reply, each with a text or
    an image."""
    screens = {} if screens is None else screens
    for action in history:
        if isinstance(action, Tap):
            shown = screens.get(action.sender, [])
            event = (
                Event(action.sender, payload=shown[action.index % len(shown)].payload)
                if shown
                else Event(action.sender, text=action.fallback)
            )
        else:
            event = action
        replies = await dialogs.handle(event)
        assert replies, event
        assert all(reply.text or reply.image for reply in replies), event
        screens[event.sender] = [button for reply in replies for button in reply.choices]


def payloads() -> st.SearchStrategy[str]:
    real = [
        Payload(flow.name, action, value).pack()
        for flow in FLOWS
        for action in ("start", *flow.steps, *flow.once, *flow.stateless)
        for value in ("", "1", "main", "coupon10", "2026-01-06T10:00")
    ]
    forged = st.text(max_size=80)
    return st.one_of(st.sampled_from(real), forged, st.sampled_from(["|||", "a|b", "x" * 600]))


@st.composite
def action(draw: st.DrawFn, sender: Sender) -> Action:
    kind = draw(st.sampled_from(KINDS))
    if kind == "tap":
        # Half the taps press the first button, which walks every flow forward.
        index = draw(st.one_of(st.just(0), st.integers(0, 30)))
        return Tap(sender, index, draw(st.sampled_from(WORDS)))
    if kind == "word":
        return Event(sender, text=draw(st.sampled_from(WORDS)))
    if kind == "text":
        return Event(sender, text=draw(st.text(max_size=300)))
    if kind == "payload":
        return Event(sender, payload=draw(payloads()))
    return draw(
        st.one_of(
            st.builds(lambda m: Event(sender, media=m), st.sampled_from(["image", "voice"])),
            st.builds(lambda k: Event(sender, menu=k), st.sampled_from(["points", "nope"])),
            st.builds(lambda p: Event(sender, phone=p), st.sampled_from(["13900000009", "139"])),
            st.just(Event(sender, start="")),
        )
    )


@st.composite
def run(draw: st.DrawFn) -> list[Action]:
    """A few actions in a row by one sender, as a person opens a flow (or not) and taps
    through it."""
    user = draw(st.sampled_from(tuple(MEMBERS)) | st.sampled_from(OTHERS))  # half members
    sender = Sender("console", user)
    starts = MEMBER_STARTS if user in MEMBERS else WORDS if user == STRANGER else STAFF_STARTS
    opening = [Event(sender, text=draw(st.sampled_from(starts)))] if draw(st.booleans()) else []
    return opening + draw(st.lists(action(sender), min_size=3, max_size=10))


def histories() -> st.SearchStrategy[list[Action]]:
    """Runs of several senders, one after another."""
    return st.lists(run(), min_size=1, max_size=6).map(lambda runs: [a for r in runs for a in r])


async def invariants(ctx: Context) -> None:
    """What no history may break, read straight from the tables."""
    async with ctx.db.read() as s:
        lowest = await s.scalar(select(func.min(LedgerRow.remaining)))
        members = list(await s.scalars(select(MemberRow.id)))
        ledgers = await s.execute(
            select(
                LedgerRow.member_id,
                func.sum(LedgerRow.points),
                func.coalesce(func.sum(LedgerRow.remaining), 0),
            ).group_by(LedgerRow.member_id)
        )
        slots = await s.execute(
            select(StoreRow.code, SlotRow.store_id, SlotRow.starts_at, SlotRow.booked).join(
                StoreRow
            )
        )
        held = await s.execute(
            select(BookingRow.store_id, BookingRow.starts_at, func.sum(BookingRow.party_size))
            .where(BookingRow.status != "cancelled")
            .group_by(BookingRow.store_id, BookingRow.starts_at)
        )
        places = await s.execute(select(EventRow.id, EventRow.joined, EventRow.capacity))
        taken = await s.execute(
            select(EventSignupRow.event_id, func.count())
            .where(EventSignupRow.status != shop_events.CANCELLED)
            .group_by(EventSignupRow.event_id)
        )
    assert lowest is None or lowest >= 0
    for member_id in members:
        assert (await statement.points_summary(ctx, member_id)).balance >= 0
    for member_id, points, left in ledgers:
        # A lot holds its points until rows take from it (spending, refunds, expiry), each
        # saying how many; a returned sign-up puts back what it took: none appear or vanish.
        assert points == left, member_id
    booked = {(store_id, at): (code, n) for code, store_id, at, n in slots}
    for code, n in booked.values():
        store = ctx.shop.store(code)
        assert store is not None and 0 <= n <= store.slot_capacity, code
    # A slot counts exactly the places of its bookings that are not cancelled.
    parties = {(store_id, at): int(n) for store_id, at, n in held}
    assert {key: n for key, (_, n) in booked.items() if n} == parties
    joined = {event_id: int(n) for event_id, n in taken}
    for event_id, n, capacity in places:
        assert 0 <= n <= capacity and n == joined.get(event_id, 0), event_id


@pytest.fixture
async def fuzz_ctx(ctx: Context) -> Context:
    """The shop with ``CAPACITY`` places in each of the one or two slots a day of a store
    (18:00–19:00, so members taking the first free time collide); three members with 2000,
    150 and 40 points; a clerk and a manager of "main" and the owner; an event of
    ``CAPACITY`` places for 30 points in twenty days."""
    evening = OpeningHours(**dict.fromkeys(WEEKDAYS, "18:00-19:00"))
    stores = [
        store.model_copy(update={"slot_capacity": CAPACITY, "hours": evening})
        for store in ctx.shop.stores
    ]
    small = replace(ctx, shop=ctx.shop.model_copy(update={"stores": stores}))
    await add_staff(small, channel="console", external_id="fuzz-clerk", role="clerk", store="main")
    await add_staff(
        small, channel="console", external_id="fuzz-manager", role="manager", store="main"
    )
    owner = await add_staff(
        small, channel="console", external_id="fuzz-owner", role="owner", store=None
    )
    found = {
        user: await register_member(
            small,
            name=user,
            phone=phone,
            channel="console",
            external_id=user,
            marketing_consent=True,
        )
        for user, phone in MEMBERS.items()
    }
    await loyalty.record_sale(
        small, store="main", receipt_no="F-0", member_id=found["fuzz-rich"].id, amount_fen=2_000_000
    )
    await adjustments.adjust_points(small, found["fuzz-modest"].id, 150, "fuzz", actor=owner.actor)
    await adjustments.adjust_points(small, found["fuzz-poor"].id, 40, "fuzz", actor=owner.actor)
    starts_at = small.now() + timedelta(days=20)
    draft = event_organising.EventDraft(
        title="品鉴会",
        title_en="Tasting",
        store=None,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=CAPACITY,
        points=30,
    )
    await event_organising.create_event(small, owner, draft)
    return small


@pytest.fixture
def fuzz_dialogs(fuzz_ctx: Context) -> Dialogs:
    return create_dialogs(fuzz_ctx)


@pytest.fixture
def screens() -> Screens:
    """What each sender sees; like the database, it carries over from example to example."""
    return {}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), minutes=st.integers(min_value=0, max_value=90))
async def test_the_dialogs_survive_anything(
    fuzz_ctx: Context,
    clock: FixedClock,
    fuzz_dialogs: Dialogs,
    screens: Screens,
    history: list[Action],
    minutes: int,
) -> None:
    clock.advance(timedelta(minutes=minutes))
    await play(fuzz_dialogs, history, screens)
    await invariants(fuzz_ctx)


async def test_taps_reach_the_effects(fuzz_ctx: Context, fuzz_dialogs: Dialogs) -> None:
    """Always the first button: a booking, a coupon, a place at the event, a check-in, and
    a clerk's sale undone. What these taps reach, the fuzzer's can."""
    rich, clerk = Sender("console", "fuzz-rich"), Sender("console", "fuzz-clerk")
    first = Tap(rich)
    await play(
        fuzz_dialogs,
        [
            Event(rich, text="/book"),  # store → day → time → party → Confirm
            *[first] * 5,
            Event(rich, text="/rewards"),  # reward → Confirm
            *[first] * 2,
            Event(rich, text="/events"),  # Sign up #1 → Confirm
            *[first] * 2,
            Event(rich, text="签到"),
            Event(clerk, text="/sale 13900000002 88 F-9"),
            Tap(clerk),  # Undo
        ],
    )
    assert await count(fuzz_ctx, BookingRow, BookingRow.status == "booked") == 1
    assert await count(fuzz_ctx, CouponRow) == 1
    assert await count(fuzz_ctx, EventSignupRow, EventSignupRow.status == shop_events.JOINED) == 1
    assert await count(fuzz_ctx, CheckinRow) == 1
    assert await count(fuzz_ctx, RefundRow) == 1
    await invariants(fuzz_ctx)
