"""Hypothesis drives the dialogs with arbitrary texts, button payloads (real ones of every
flow, and forged ones) and orders of events, from a member, a clerk and the owner: every
event gets at least one reply and never an exception, no balance goes below zero, no points
lot below nothing, and no booking slot holds more than its capacity.

The database is not reset between examples: the histories build on each other, which finds
more than fresh starts would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.dialogs.engine import Dialogs
from bot.dialogs.setup import FLOWS, create_dialogs
from bot.dialogs.types import Event, Payload, Sender
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.members import register_member
from core.staff import add_staff
from storage.models import LedgerRow, MemberRow, SlotRow, StoreRow

SENDERS = ("fuzz-member", "fuzz-clerk", "fuzz-owner", "fuzz-stranger")
WORDS = (
    "积分",
    "points",
    "/start",
    "/help",
    "/points",
    "/rewards",
    "/coupons",
    "/card",
    "/book",
    "/feedback",
    "/profile",
    "/lang",
    "预约",
    "兑换",
    "反馈",
    "签到",
    "/checkin",
    "/events",
    "活动",
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
    "13800138000",
    "1990-02-29",
    "2026-01-06",
    "tomorrow",
    "/sale 13900000001 88.8 F-1",
    "/sale M000001 -5",
    "/refund F-1",
    "/use ABCDEFGHJK",
    "/member 139",
    "/adjust M000001 +10 x",
    "/bookings",
    "/stats",
    "/campaign",
    "/alerts",
    "/staff",
    "/join XYZ",
    "/undo",
    "",
)


def payloads() -> st.SearchStrategy[str]:
    real = [
        Payload(flow.name, action, value).pack()
        for flow in FLOWS
        for action in ("start", *flow.steps, *flow.once, *flow.stateless)
        for value in ("", "1", "main", "coupon10", "2026-01-06T10:00")
    ]
    forged = st.text(max_size=80)
    return st.one_of(st.sampled_from(real), forged, st.sampled_from(["|||", "a|b", "x" * 600]))


def events() -> st.SearchStrategy[list[Event]]:
    sender = st.sampled_from(SENDERS).map(lambda user: Sender("console", user))
    text = st.one_of(st.sampled_from(WORDS), st.text(max_size=300))
    one = st.one_of(
        st.builds(lambda s, t: Event(s, text=t), sender, text),
        st.builds(lambda s, p: Event(s, payload=p), sender, payloads()),
        st.builds(lambda s, m: Event(s, media=m), sender, st.sampled_from(["image", "voice"])),
        st.builds(lambda s, k: Event(s, menu=k), sender, st.sampled_from(["points", "nope"])),
    )
    return st.lists(one, min_size=3, max_size=30)


async def invariants(ctx: Context) -> None:
    async with ctx.db.read() as s:
        lowest = await s.scalar(select(func.min(LedgerRow.remaining)))
        members = list(await s.scalars(select(MemberRow.id)))
        slots = (await s.execute(select(StoreRow.code, SlotRow.booked).join(StoreRow))).all()
    assert lowest is None or lowest >= 0
    for member_id in members:
        assert (await loyalty.points_summary(ctx, member_id)).balance >= 0
    for code, booked in slots:
        store = ctx.shop.store(code)
        assert store is not None and 0 <= booked <= store.slot_capacity


@pytest.fixture
async def fuzz_dialogs(ctx: Context) -> Dialogs:
    """A member with points, a clerk and the owner, in the console channel."""
    member = await register_member(
        ctx,
        name="Fuzz",
        phone="13900000001",
        channel="console",
        external_id="fuzz-member",
        marketing_consent=True,
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="F-0", member_id=member.id, amount_fen=200_000
    )
    await add_staff(ctx, channel="console", external_id="fuzz-clerk", role="clerk", store="main")
    await add_staff(ctx, channel="console", external_id="fuzz-owner", role="owner", store=None)
    return create_dialogs(ctx)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=events(), minutes=st.integers(min_value=0, max_value=90))
async def test_the_dialogs_survive_anything(
    ctx: Context, clock: FixedClock, fuzz_dialogs: Dialogs, history: list[Event], minutes: int
) -> None:
    clock.advance(timedelta(minutes=minutes))
    for event in history:
        replies = await fuzz_dialogs.handle(event)
        assert replies, event
        assert all(reply.text or reply.image for reply in replies), event
    await invariants(ctx)
