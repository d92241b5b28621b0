"""Campaigns: who is reached (the segment less opt-outs and deleted members), sending once,
coupons given and used, who came back within N days, and who may send to which store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from core import audit
from core.clock import FixedClock
from core.context import Context
from core.errors import InvalidInput, NotAllowed, UnknownReward
from core.insights.campaign_results import campaign_results
from core.insights.campaigns import (
    KIND,
    REPEAT_MINUTES,
    CampaignResult,
    create_and_send,
    preview,
    reached_members,
)
from core.insights.segments import Segment, Stage, select_members
from core.ledger import refunds, statement
from core.ledger.coupons import member_coupons, use_coupon
from core.people.erasure import delete_member
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from storage.models import (
    AuditRow,
    CampaignMemberRow,
    CampaignRow,
    CouponRow,
    IdentityRow,
    MemberRow,
    OutboxRow,
)
from tests.factories import count, owner, reachable, sale

DORMANT = Segment(stages={Stage.DORMANT})


async def dormant(ctx: Context, clock: FixedClock, phone: str, **kw: object) -> int:
    """A member whose only purchase was 200 days ago (dormant: 180–364 days silent)."""
    member_id = await reachable(ctx, phone=phone, **kw)
    await sale(ctx, member_id, days_ago=200)
    return member_id


async def manager(ctx: Context, store: str = "main") -> StaffView:
    return await add_staff(
        ctx, channel="console", external_id=f"mgr-{store}", role="manager", store=store
    )


async def campaign_outbox(ctx: Context) -> list[tuple[int | None, str, dict[str, object]]]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(OutboxRow.member_id, OutboxRow.dedup_key, OutboxRow.params)
            .where(OutboxRow.kind == KIND)
            .order_by(OutboxRow.member_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_reaches_exactly_the_segment_less_opt_outs_and_deleted(
    ctx: Context, clock: FixedClock
) -> None:
    a = await dormant(ctx, clock, "13800000001")
    b = await dormant(ctx, clock, "13800000002")
    declined = await dormant(ctx, clock, "13800000003", consent=False)
    elsewhere = await dormant(ctx, clock, "13800000004", store="riverside")
    gone = await dormant(ctx, clock, "13800000005")
    await delete_member(ctx, gone, actor=audit.member_actor(gone))
    recent = await reachable(ctx, phone="13800000006")
    await sale(ctx, recent, days_ago=3)  # new, not dormant
    await reachable(ctx, phone="13800000007")  # potential: never bought

    in_main = Segment(stages={Stage.DORMANT}, store="main")
    segment_ids = await select_members(ctx, in_main)
    assert segment_ids == [a, b, declined]
    assert await reached_members(ctx, in_main) == [a, b]
    assert await preview(ctx, in_main) == 2

    boss = await owner(ctx)
    sent = await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="好久不见!", reward=None, store="main"
    )
    assert sent.reached == 2 and sent.coupons == 0 and sent.campaign_id is not None
    assert sent.sent_at == clock.now()
    rows = await campaign_outbox(ctx)
    assert [(m, key) for m, key, _ in rows] == [
        (a, f"campaign:{sent.campaign_id}:{a}"),
        (b, f"campaign:{sent.campaign_id}:{b}"),
    ]
    assert rows[0][2] == {"campaign_id": sent.campaign_id, "message": "好久不见!", "store": "main"}
    async with ctx.db.read() as s:
        reached = list(
            await s.scalars(
                select(CampaignMemberRow.member_id)
                .where(CampaignMemberRow.campaign_id == sent.campaign_id)
                .order_by(CampaignMemberRow.member_id)
            )
        )
        campaign = await s.get(CampaignRow, sent.campaign_id)
        entry = await s.scalar(select(AuditRow).where(AuditRow.action == "campaign.sent"))
    assert reached == [a, b]
    assert campaign is not None
    assert (campaign.created_by, campaign.reached, campaign.message) == (boss.id, 2, "好久不见!")
    assert campaign.segment["stages"] == ["dormant"] and campaign.segment["store"] == "main"
    assert entry is not None and entry.actor == boss.actor
    assert entry.details["campaign_id"] == sent.campaign_id and entry.details["reached"] == 2

    # To all stores: the riverside member too; the deleted one never, even were its
    # consent somehow set again.
    async with ctx.db.transaction() as s:
        await s.execute(
            update(MemberRow).where(MemberRow.id == gone).values(marketing_consent=True)
        )
    assert await reached_members(ctx, DORMANT) == [a, b, elsewhere]


async def test_members_no_chat_reaches_are_neither_counted_nor_gifted(
    ctx: Context, clock: FixedClock
) -> None:
    """One member blocked the bot, one was imported and never wrote: the campaign reaches
    the third only, and only the third gets the coupon (the others would be counted as
    reached, and the A/B results would measure people who never saw it)."""
    kept = await dormant(ctx, clock, "13800000011")
    blocked = await dormant(ctx, clock, "13800000012")
    async with ctx.db.transaction() as s:
        await s.execute(
            update(IdentityRow).where(IdentityRow.member_id == blocked).values(reachable=False)
        )
    imported = await register_member(ctx, name="导入", phone="13800000013", marketing_consent=True)
    assert imported.id not in await reached_members(ctx, Segment())
    assert await preview(ctx, DORMANT) == 1

    sent = await create_and_send(
        ctx,
        staff=await owner(ctx),
        segment=DORMANT,
        message="回来看看",
        reward="coupon10",
        store=None,
    )
    assert (sent.reached, sent.coupons) == (1, 1)
    assert [m for m, _, _ in await campaign_outbox(ctx)] == [kept]


async def test_sending_again_at_once_sends_once(ctx: Context, clock: FixedClock) -> None:
    a = await dormant(ctx, clock, "13800000001")
    b = await dormant(ctx, clock, "13800000002")
    boss = await owner(ctx)

    async def send() -> CampaignResult:
        return await create_and_send(
            ctx, staff=boss, segment=DORMANT, message="回来看看", reward="coupon10", store=None
        )

    first = await send()
    again = await send()
    assert not first.repeated and again == replace(first, repeated=True)
    assert await count(ctx, CampaignRow) == 1
    assert [m for m, _, _ in await campaign_outbox(ctx)] == [a, b]
    assert await count(ctx, CouponRow) == 2
    assert await count(ctx, AuditRow, AuditRow.action == "campaign.sent") == 1

    # A different message is another campaign; so is the same one sent again later.
    await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="别的消息", reward=None, store=None
    )
    clock.advance(timedelta(minutes=REPEAT_MINUTES + 1))
    later = await send()
    assert not later.repeated and later.campaign_id != first.campaign_id
    assert await count(ctx, CampaignRow) == 3
    assert len(await campaign_outbox(ctx)) == 6


async def test_reward_coupons_are_given_and_counted_when_used(
    ctx: Context, clock: FixedClock
) -> None:
    a = await dormant(ctx, clock, "13800000001")
    b = await dormant(ctx, clock, "13800000002")
    await dormant(ctx, clock, "13800000003", consent=False)
    balances = [(await statement.points_summary(ctx, m)).balance for m in (a, b)]
    boss = await owner(ctx)
    sent = await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="送你一张券", reward="coupon10", store=None
    )
    assert (sent.reached, sent.coupons) == (2, 2)
    coupons = {m: await member_coupons(ctx, m) for m in (a, b)}
    for m in (a, b):
        (coupon,) = coupons[m]
        assert (coupon.reward, coupon.value_fen, coupon.points) == ("coupon10", 1_000, 0)
        assert coupon.expires_at == clock.now() + timedelta(days=30)
    # A gift: nobody paid points for it.
    assert [(await statement.points_summary(ctx, m)).balance for m in (a, b)] == balances
    rows = {m: params for m, _, params in await campaign_outbox(ctx)}
    assert rows[a]["coupon"] == coupons[a][0].code and rows[a]["amount_fen"] == 1_000
    assert await count(ctx, AuditRow, AuditRow.action == "coupon.issued") == 2

    clock.advance(timedelta(days=2))
    await use_coupon(ctx, coupons[a][0].code, store="main")
    today = clock.now().astimezone(ctx.zone).date()
    (result,) = await campaign_results(ctx, store=None, start=today - timedelta(days=2), end=today)
    assert (result.reward, result.coupons_issued, result.coupons_used) == ("coupon10", 2, 1)


async def test_unknown_reward_and_bad_messages_are_refused(ctx: Context, clock: FixedClock) -> None:
    await dormant(ctx, clock, "13800000001")
    boss = await owner(ctx)
    with pytest.raises(UnknownReward):
        await create_and_send(
            ctx, staff=boss, segment=DORMANT, message="hi", reward="nope", store=None
        )
    for message in ("   ", "x" * 501):
        with pytest.raises(InvalidInput):
            await create_and_send(
                ctx, staff=boss, segment=DORMANT, message=message, reward=None, store=None
            )
    with pytest.raises(InvalidInput):  # the segment says one store, the campaign another
        await create_and_send(
            ctx,
            staff=boss,
            segment=Segment(stages={"dormant"}, store="riverside"),
            message="hi",
            reward=None,
            store="main",
        )
    assert await count(ctx, CampaignRow) == 0 and await count(ctx, OutboxRow) == 0


async def test_nobody_to_reach_creates_nothing(ctx: Context, clock: FixedClock) -> None:
    await dormant(ctx, clock, "13800000001", consent=False)
    boss = await owner(ctx)
    assert await preview(ctx, DORMANT) == 0
    sent = await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="hi", reward="coupon10", store=None
    )
    assert (sent.campaign_id, sent.reached, sent.coupons) == (None, 0, 0)
    assert await count(ctx, CampaignRow) == 0
    assert await count(ctx, CouponRow) == 0
    assert await count(ctx, AuditRow, AuditRow.action == "campaign.sent") == 0


async def test_came_back_counts_purchases_within_the_days_after_sending(
    ctx: Context, clock: FixedClock
) -> None:
    a = await dormant(ctx, clock, "13800000001")
    b = await dormant(ctx, clock, "13800000002")
    c = await dormant(ctx, clock, "13800000003")
    declined = await dormant(ctx, clock, "13800000004", consent=False)
    boss = await owner(ctx)
    sent_day = clock.now().astimezone(ctx.zone).date()
    sent = await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="回来吧", reward=None, store="main"
    )
    assert sent.reached == 3

    clock.advance(timedelta(days=3))
    await sale(ctx, a, yuan=100)
    await sale(ctx, a, yuan=50)  # twice: one member came back
    refunded = (await sale(ctx, c, yuan=80)).receipt_no
    await refunds.refund_sale(ctx, store="main", receipt_no=refunded)  # not a purchase
    await sale(ctx, declined, yuan=500)  # not reached: does not count
    clock.advance(timedelta(days=40))
    await sale(ctx, b, yuan=70)  # 43 days after

    (result,) = await campaign_results(ctx, store=None, start=sent_day, end=sent_day)
    assert (result.campaign_id, result.store, result.stages) == (
        sent.campaign_id,
        "main",
        (Stage.DORMANT,),
    )
    assert (result.reached, result.within_days) == (3, 30)
    assert (result.came_back, result.came_back_fen) == (1, 15_000)
    assert (result.coupons_issued, result.coupons_used) == (0, 0)
    (longer,) = await campaign_results(
        ctx, store="main", start=sent_day, end=sent_day, within_days=60
    )
    assert (longer.came_back, longer.came_back_fen) == (2, 22_000)

    # Only campaigns sent in the period, and of the store asked for.
    assert await campaign_results(ctx, store="riverside", start=sent_day, end=sent_day) == []
    next_day = sent_day + timedelta(days=1)
    assert await campaign_results(ctx, store=None, start=next_day, end=next_day) == []
    with pytest.raises(InvalidInput):
        await campaign_results(ctx, store=None, start=next_day, end=sent_day)


async def test_managers_send_only_to_their_own_store(ctx: Context, clock: FixedClock) -> None:
    mine = await dormant(ctx, clock, "13800000001", store="main")
    theirs = await dormant(ctx, clock, "13800000002", store="riverside")
    boss = await manager(ctx, "main")
    for store in ("riverside", None):
        with pytest.raises(NotAllowed):
            await create_and_send(
                ctx, staff=boss, segment=DORMANT, message="hi", reward=None, store=store
            )
    with pytest.raises(NotAllowed):  # nor through the segment's store
        await create_and_send(
            ctx,
            staff=boss,
            segment=Segment(stages={"dormant"}, store="riverside"),
            message="hi",
            reward=None,
            store=None,
        )
    clerk = await add_staff(ctx, channel="console", external_id="c", role="clerk", store="main")
    with pytest.raises(NotAllowed):
        await create_and_send(
            ctx, staff=clerk, segment=DORMANT, message="hi", reward=None, store="main"
        )
    assert await count(ctx, CampaignRow) == 0

    sent = await create_and_send(
        ctx, staff=boss, segment=DORMANT, message="hi", reward=None, store="main"
    )
    assert [m for m, _, _ in await campaign_outbox(ctx)] == [mine]
    the_owner = await owner(ctx)
    everyone = await create_and_send(
        ctx, staff=the_owner, segment=DORMANT, message="hi all", reward=None, store=None
    )
    assert everyone.reached == 2 and sent.reached == 1
    assert [m for m, _, _ in await campaign_outbox(ctx)] == [mine, mine, theirs]
    day = clock.now().astimezone(ctx.zone).date()
    assert [r.store for r in await campaign_results(ctx, store=None, start=day, end=day)] == [
        "main",
        None,
    ]
    assert date(2026, 1, 5) == day
