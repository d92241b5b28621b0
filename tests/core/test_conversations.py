"""Arrivals: who wrote, read at once, and recorded only when the record changes something."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.clock import FixedClock
from core.context import Context
from core.people import conversations
from core.people.members import get_member
from core.people.registration import register_member
from core.people.staff import add_staff
from core.pushes import outbox
from storage import inbound_deliveries
from storage.models import IdentityRow, OutboxRow


async def account(ctx: Context, openid: str) -> IdentityRow:
    async with ctx.db.read() as s:
        row = await s.scalar(
            select(IdentityRow).where(
                IdentityRow.channel == "wechat", IdentityRow.external_id == openid
            )
        )
        assert row is not None
        return row


async def test_an_arrival_reads_member_conversation_and_staff_role_together(
    ctx: Context,
) -> None:
    member = await register_member(
        ctx,
        name="李雷",
        phone="13900139000",
        home_store="main",
        tags=["vip", "咖啡"],
        channel="wechat",
        external_id="o-1",
    )
    await add_staff(ctx, channel="wechat", external_id="o-1", role="clerk", store="main")
    first = await conversations.arrival(ctx, "wechat", "o-1")
    await conversations.save_conversation(ctx, first.identity.id, "points", "why", {"n": 1})

    found = await conversations.arrival(ctx, "wechat", "o-1")

    assert found.identity == first.identity
    assert found.member == member == await get_member(ctx, member.id)
    assert (member.home_store, member.tags) == ("main", ("vip", "咖啡"))
    assert found.conversation == conversations.Conversation("points", "why", {"n": 1})
    assert found.staff is not None and found.staff.role == "clerk"
    stranger = await conversations.arrival(ctx, "wechat", "o-new")
    assert (stranger.member, stranger.conversation, stranger.staff) == (None, None, None)
    assert (await account(ctx, "o-new")).last_message_at == ctx.now()


async def test_messages_within_30_seconds_are_recorded_once(
    ctx: Context, clock: FixedClock
) -> None:
    await conversations.arrive(ctx, "wechat", "o-1")
    first = ctx.now()
    clock.advance(timedelta(seconds=29))
    await conversations.arrive(ctx, "wechat", "o-1")
    assert (await account(ctx, "o-1")).last_message_at == first
    await conversations.arrive(ctx, "wechat", "o-1", event=True)  # a click has its own window
    assert (await account(ctx, "o-1")).last_event_at == ctx.now()

    clock.advance(timedelta(seconds=1))
    await conversations.arrive(ctx, "wechat", "o-1")
    assert (await account(ctx, "o-1")).last_message_at == ctx.now()


async def test_an_unreachable_account_is_reachable_again_at_its_next_message(
    ctx: Context,
) -> None:
    await conversations.arrive(ctx, "wechat", "o-1")
    await conversations.leave(ctx, "wechat", "o-1")
    assert not (await account(ctx, "o-1")).reachable
    await conversations.arrive(ctx, "wechat", "o-1")  # the same instant
    assert (await account(ctx, "o-1")).reachable


async def test_waiting_pushes_are_woken_by_every_message(ctx: Context, clock: FixedClock) -> None:
    member = await register_member(
        ctx, name="李雷", phone="13900139000", channel="wechat", external_id="o-1"
    )
    await conversations.arrive(ctx, "wechat", "o-1")
    async with ctx.db.transaction() as s:
        await outbox.enqueue(
            s,
            now=ctx.now(),
            member_id=member.id,
            marketing_consent=True,
            kind="winback",
            dedup_key="winback:test",
            params={},
        )
        await s.execute(update(OutboxRow).values(status=outbox.WAITING))
    clock.advance(timedelta(seconds=5))

    await conversations.arrive(ctx, "wechat", "o-1")

    async with ctx.db.read() as s:
        assert await s.scalar(select(OutboxRow.status)) == outbox.PENDING
    assert (await account(ctx, "o-1")).last_message_at == ctx.now()


async def test_choices_are_kept_with_the_outcome_of_their_delivery(
    ctx: Context, clock: FixedClock
) -> None:
    identity = await conversations.arrive(ctx, "wechat", "o-1")
    assert (await conversations.arrival(ctx, "wechat", "o-1")).shown == conversations.Shown([])
    assert await inbound_deliveries.claim(ctx.db, "wechat", "msg:1", ctx.now()) is None
    menu = [("My points", "points|start|"), ("Rewards", "rewards|start|")]

    await conversations.answered(
        ctx,
        "wechat",
        "o-1",
        delivery="msg:1",
        status="answered",
        reply="<xml/>",
        choices=menu,
        identity_id=identity.id,
    )

    shown = (await conversations.arrival(ctx, "wechat", "o-1")).shown
    assert shown == conversations.Shown(menu, ctx.now())
    earlier = await inbound_deliveries.claim(ctx.db, "wechat", "msg:1", ctx.now())
    assert earlier == inbound_deliveries.Delivery("answered", "<xml/>")
    clock.advance(timedelta(seconds=29))
    assert shown.unchanged(menu, ctx.now())  # showing them again now need not be stored
    assert not shown.unchanged(menu[:1], ctx.now())
    clock.advance(timedelta(seconds=1))
    assert not shown.unchanged(menu, ctx.now())  # refreshed, so their timeout starts again
    clock.advance(conversations.TIMEOUT)
    assert (await conversations.arrival(ctx, "wechat", "o-1")).shown.choices == []


async def test_a_deferred_arrival_is_recorded_with_the_answer(
    ctx: Context, clock: FixedClock
) -> None:
    """WeChat reads the sender before the dialog and writes its arrival with the answer:
    nothing is written until then, and then the window is open."""
    await conversations.arrive(ctx, "wechat", "o-1")
    clock.advance(timedelta(hours=1))
    sender = await conversations.arrival(ctx, "wechat", "o-1", defer=True)
    assert sender.unrecorded is not None
    assert (await account(ctx, "o-1")).last_message_at == ctx.now() - timedelta(hours=1)
    assert await inbound_deliveries.claim(ctx.db, "wechat", "msg:2", ctx.now()) is None

    await conversations.answered(
        ctx,
        "wechat",
        "o-1",
        delivery="msg:2",
        status="answered",
        reply=None,
        choices=None,
        identity_id=sender.identity.id,
        recording=sender.unrecorded,
    )

    assert (await account(ctx, "o-1")).last_message_at == ctx.now()
    assert (await conversations.arrival(ctx, "wechat", "o-1", defer=True)).unrecorded is None
