"""Webhooks out, over real HTTP on loopback: events from the real use cases reach a
receiver that checks every signature with the README's code; a receiver that fails or is
not listening gets the same events again, in order per member, until it answers; a day of
failures gives up with the reason."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.integrations import webhooks
from core.ledger.coupons import redeem_reward, use_coupon
from core.ledger.points import expire_points
from core.ledger.refunds import refund_sale
from core.people.erasure import delete_member
from core.people.registration import register_member
from core.pushes import work_queue
from core.pushes.outbox import FAILED, SENT
from core.service import bookings
from core.service.feedback import submit_feedback
from tests.channels.pushing import dispatcher, outbox
from tests.channels.webhook_receiver import Receiver, verify
from tests.core.test_bookings import booking_shop
from tests.factories import shop_time

NAME, PHONE = "韩梅梅", "13912345678"


async def subscribe(
    ctx: Context, receiver: Receiver, events: str = ",".join(webhooks.EVENTS)
) -> int:
    url = await receiver.start()
    added = await webhooks.add_endpoint(ctx, url, [events], actor="test")
    receiver.secret = added.secret
    return added.endpoint.id


async def test_every_event_of_a_member_arrives_signed_in_order_without_their_person(
    ctx: Context, clock: FixedClock
) -> None:
    ctx = replace(ctx, shop=booking_shop(ctx.shop))
    receiver = Receiver(clock)
    await subscribe(ctx, receiver)
    try:
        member = await register_member(ctx, name=NAME, phone=PHONE, home_store="main")
        await loyalty.record_sale(
            ctx, store="main", receipt_no="R-1", member_id=member.id, amount_fen=1_500_00
        )
        coupon = await redeem_reward(ctx, member.id, "coupon10")
        await use_coupon(ctx, coupon.code, store="main")
        await refund_sale(ctx, store="main", receipt_no="R-1", amount_fen=200_00)
        await submit_feedback(ctx, member.id, 2, f"{NAME}: 汤太咸了", store="main")
        booked = await bookings.book(ctx, member.id, "main", shop_time(6, 11), party_size=2)
        await bookings.cancel(ctx, member.id, booked.id)
        clock.advance(timedelta(days=400))
        await expire_points(ctx)
        await dispatcher(ctx, clock, {}).drain()
        await delete_member(ctx, member.id, actor="test")
        await dispatcher(ctx, clock, {}).drain()
    finally:
        await receiver.stop()

    assert receiver.refused == 0
    assert receiver.types() == [
        "member.registered",
        "sale.recorded",
        "tier.changed",
        "coupon.issued",
        "coupon.redeemed",
        "sale.refunded",
        "feedback.received",
        "booking.created",
        "booking.cancelled",
        "points.expired",
        "member.deleted",
    ]
    by_type = {body["type"]: body for body in receiver.received}
    member_no = f"M{member.id:06d}"
    assert all(body["data"]["member_no"] == member_no for body in receiver.received)
    assert by_type["sale.recorded"]["data"] == {
        "member_no": member_no,
        "store": "main",
        "receipt_no": "R-1",
        "amount_fen": 1_500_00,
        "amount": "1500.00",
        "points": 150,
        "balance": 150,
        "tier": "silver",
    }
    assert by_type["tier.changed"]["data"]["from"] == "member"
    assert by_type["tier.changed"]["data"]["to"] == "silver"
    assert by_type["coupon.issued"]["data"]["coupon"] == coupon.code
    assert by_type["coupon.redeemed"]["data"]["value"] == "10.00"
    refunded = by_type["sale.refunded"]["data"]
    assert (refunded["amount"], refunded["points_reversed"]) == ("200.00", 20)
    assert by_type["booking.created"]["data"]["starts_at"] == "2026-01-06T03:00:00Z"
    assert by_type["feedback.received"]["data"]["rating"] == 2
    assert by_type["points.expired"]["data"] == {"member_no": member_no, "points": 30, "balance": 0}
    assert by_type["member.deleted"]["data"] == {"member_no": member_no}
    sent = json.dumps(receiver.received, ensure_ascii=False)
    assert NAME not in sent and PHONE not in sent and PHONE[-4:] not in sent
    assert len({body["id"] for body in receiver.received}) == len(receiver.received)
    assert all(row.status == SENT for row in await outbox(ctx) if row.webhook_id)


async def test_a_failing_receiver_gets_the_same_events_again_in_order_per_member(
    ctx: Context, clock: FixedClock
) -> None:
    receiver = Receiver(clock, failures=2)
    await subscribe(ctx, receiver, "sale.recorded")
    ann = await register_member(ctx, name="Ann", phone="13900000001")
    bob = await register_member(ctx, name="Bob", phone="13900000002")
    start = clock.now()
    try:
        for n, who in enumerate((ann, ann, bob, ann), start=1):
            await loyalty.record_sale(
                ctx, store="main", receipt_no=f"R-{n}", member_id=who.id, amount_fen=100_00
            )
        await dispatcher(ctx, clock, {}, concurrency=4).drain()
    finally:
        await receiver.stop()

    receipts = [(b["data"]["member_no"], b["data"]["receipt_no"]) for b in receiver.received]
    ann_no, bob_no = f"M{ann.id:06d}", f"M{bob.id:06d}"
    assert [r for m, r in receipts if m == ann_no] == ["R-1", "R-2", "R-4"]
    assert [r for m, r in receipts if m == bob_no] == ["R-3"]
    first = receiver.received[[r for _, r in receipts].index("R-1")]["id"]
    # Ann's first event was refused, posted again (same id) and only then her second went out.
    assert receiver.posts.count(first) >= 2
    second = receiver.received[[r for _, r in receipts].index("R-2")]["id"]
    assert receiver.posts.index(second) > max(
        i for i, event in enumerate(receiver.posts) if event == first
    )
    assert clock.now() - start >= timedelta(seconds=30)  # waited, on the test's clock


async def test_two_dispatchers_keep_each_members_order_through_failures(
    ctx: Context, clock: FixedClock
) -> None:
    """Two dispatchers, each with its own engine as two processes would have (on PostgreSQL
    claiming with SKIP LOCKED), against a receiver that refuses every third post."""
    receiver = Receiver(clock, fail_every=3)
    await subscribe(ctx, receiver, "sale.recorded")
    members = [f"M{n:06d}" for n in range(1, 13)]
    async with ctx.db.transaction() as s:
        for round_no in range(4):
            for n in range(1, 13):
                data = {"receipt_no": f"R-{n}-{round_no}"}
                await webhooks.emit(s, clock.now(), "sale.recorded", member_id=n, data=data)
    other = replace(ctx, db=type(ctx.db)(ctx.db.url.render_as_string(hide_password=False)))
    try:
        one = dispatcher(ctx, clock, {}, concurrency=8, batch=10)
        two = dispatcher(other, clock, {}, concurrency=8, batch=10)
        handled = [0, 0]
        while True:  # rounds side by side; the clock moves between them, as time would
            done = await asyncio.gather(one.round(), two.round())
            handled = [h + d for h, d in zip(handled, done, strict=True)]
            if any(done):
                continue
            due = await work_queue.next_due(ctx)
            if due is None:
                break
            clock.set(max(due, clock.now()))
    finally:
        await other.db.dispose()
        await receiver.stop()
    assert all(handled), "both dispatchers took rows"
    assert receiver.refused == 0 and len(receiver.posts) > 60
    for member_no in members:
        got = [
            b["data"]["receipt_no"]
            for b in receiver.received
            if b["data"]["member_no"] == member_no
        ]
        n = int(member_no[1:])
        assert got == [f"R-{n}-{k}" for k in range(4)]
    sequence = {b["id"]: b["data"]["member_no"] for b in receiver.received}
    delivered: set[str] = set()
    for event, answer in zip(receiver.posts, receiver.answers, strict=True):
        mine = [e for e, m in sequence.items() if m == sequence[event]]
        # Posted only once every earlier event of its member was delivered.
        assert set(mine[: mine.index(event)]) <= delivered
        if answer == 204:
            delivered.add(event)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_receiver_not_listening_yet_gets_the_event_once_it_is(
    ctx: Context, clock: FixedClock
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"
    added = await webhooks.add_endpoint(ctx, url, ["member.registered"], actor="test")
    await register_member(ctx, name="Ann", phone="13900000001")
    pusher = dispatcher(ctx, clock, {})
    assert await pusher.round() == 1
    (row,) = await outbox(ctx)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None and row.last_error.startswith("cannot connect")
    receiver = Receiver(clock, secret=added.secret)
    await receiver.start(port)
    try:
        await pusher.drain()
    finally:
        await receiver.stop()
    assert [body["id"] for body in receiver.received] == [row.params["id"]]


async def test_a_day_of_failures_gives_up_with_the_reason_and_the_next_event_goes(
    ctx: Context, clock: FixedClock
) -> None:
    receiver = Receiver(clock, failures=10_000)
    await subscribe(ctx, receiver, "member.registered,member.deleted")
    member = await register_member(ctx, name="Ann", phone="13900000001")
    start = clock.now()
    try:
        await dispatcher(ctx, clock, {}).drain()
        (row,) = await outbox(ctx)
        assert row.status == FAILED
        assert row.last_error == "given up after a day: HTTP 500"
        assert row.attempts == receiver.posts.count(row.params["id"]) > 20
        assert timedelta(days=1) <= clock.now() - start < timedelta(days=1, hours=1)
        receiver.failures = 0
        await delete_member(ctx, member.id, actor="test")
        await dispatcher(ctx, clock, {}).drain()
    finally:
        await receiver.stop()
    assert receiver.types() == ["member.deleted"]


def test_the_readme_shows_the_receivers_verification_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert inspect.getsource(verify) in readme
    assert verify("s", "t=1,v1=00", b"{}", now=1) is False
    assert verify("s", "nonsense", b"{}") is False
