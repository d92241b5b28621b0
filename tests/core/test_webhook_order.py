"""The claim of webhook deliveries (on SQLite and PostgreSQL): a member's later event is not
claimed while an earlier one to the same endpoint is owed; other members' and other
endpoints' go on. Erasing a member drops what was owed about them, except their deletion."""

from __future__ import annotations

from datetime import timedelta

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.integrations import deliveries, webhooks
from core.people.erasure import delete_member
from core.people.registration import register_member
from core.pushes import work_queue
from tests.channels.pushing import outbox


async def sale(ctx: Context, member_id: int, receipt: str) -> None:
    await loyalty.record_sale(
        ctx, store="main", receipt_no=receipt, member_id=member_id, amount_fen=100_00
    )


def receipts(claimed: list[work_queue.Push]) -> list[tuple[int, str]]:
    return sorted(
        (p.webhook.webhook_id, p.params["data"]["receipt_no"]) for p in claimed if p.webhook
    )


async def test_a_members_later_event_waits_for_the_earlier_one(
    ctx: Context, clock: FixedClock
) -> None:
    one = await webhooks.add_endpoint(ctx, "http://127.0.0.1:9/a", ["sale.recorded"], actor="t")
    two = await webhooks.add_endpoint(ctx, "https://till.test/b", ["sale.recorded"], actor="t")
    a, b = (one.endpoint.id, two.endpoint.id)
    ann = await register_member(ctx, name="Ann", phone="13900000001")
    bob = await register_member(ctx, name="Bob", phone="13900000002")
    for receipt, who in (("R-1", ann), ("R-2", ann), ("R-3", bob)):
        await sale(ctx, who.id, receipt)

    first = await work_queue.claim(ctx, 100)
    assert receipts(first) == [(a, "R-1"), (a, "R-3"), (b, "R-1"), (b, "R-3")]
    assert await work_queue.claim(ctx, 100) == []  # R-2 waits while R-1 is being sent
    assert await work_queue.next_due(ctx) is None

    ann_to_a = next(p for p in first if p.webhook and p.webhook.webhook_id == a)
    retry_at = clock.now() + timedelta(seconds=30)
    await work_queue.retry(ctx, ann_to_a.id, retry_at, "HTTP 500")
    for push in first:
        if push.id != ann_to_a.id:
            await deliveries.mark_delivered(ctx, push.id)
    assert receipts(await work_queue.claim(ctx, 100)) == [(b, "R-2")]  # endpoint b goes on
    assert await work_queue.next_due(ctx) == retry_at  # R-1 to a; R-2 to a after it

    clock.advance(timedelta(seconds=30))
    again = await work_queue.claim(ctx, 100)
    assert receipts(again) == [(a, "R-1")]
    assert again[0].params["id"] == ann_to_a.params["id"]  # the same event, the same id
    assert again[0].attempts == 2
    await deliveries.mark_delivered(ctx, again[0].id)
    assert receipts(await work_queue.claim(ctx, 100)) == [(a, "R-2")]


async def test_erasing_a_member_drops_their_owed_events_but_tells_their_deletion(
    ctx: Context,
) -> None:
    await webhooks.add_endpoint(
        ctx, "https://till.test/hooks", ["sale.recorded", "member.deleted"], actor="t"
    )
    ann = await register_member(ctx, name="Ann", phone="13900000001")
    bob = await register_member(ctx, name="Bob", phone="13900000002")
    await sale(ctx, ann.id, "R-1")
    await sale(ctx, bob.id, "R-2")
    await delete_member(ctx, ann.id, actor="test")
    rows = [(r.kind, r.params["data"]) for r in await outbox(ctx) if r.webhook_id]
    assert rows == [
        ("sale.recorded", {**rows[0][1], "member_no": f"M{bob.id:06d}"}),
        ("member.deleted", {"member_no": f"M{ann.id:06d}"}),
    ]
