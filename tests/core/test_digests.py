"""The weekly digest: on a fixture it counts the members who became dormant last week by store
and tier, the urgent feedback still open and the best and worst store by repeat rate, for
each owner and manager once a week; its win-back line targets exactly the members it
counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from core.clock import FixedClock
from core.context import Context
from core.errors import NotAllowed, UnknownDigest
from core.insights import digests
from core.insights.campaigns import KIND, create_and_send, preview
from core.insights.digests import BEST_STORE, DORMANT, STORE_REPEAT, URGENT_FEEDBACK, WORST_STORE
from core.insights.segments import Segment, Stage
from core.people.staff import StaffView, add_staff
from core.service import feedback
from storage.models import DigestItemRow, DigestRow, MemberRow, OutboxRow
from tests.factories import reachable, sale


async def silent(
    ctx: Context,
    clock: FixedClock,
    days: int,
    yuan: int,
    store: str | None = "main",
    consent: bool = True,
) -> int:
    """A member whose one purchase was ``days`` days ago (¥5 000 makes them 金卡)."""
    member_id = await reachable(ctx, store=store, consent=consent)
    await sale(ctx, member_id, days_ago=days, yuan=yuan, store=store or "main")
    return member_id


@dataclass
class Shop:
    boss: StaffView
    mia: StaffView  # manager of main
    rita: StaffView  # manager of riverside
    gold_main: list[int]  # became dormant last week: the first two accept marketing
    member_main: int
    gold_riverside: int
    silver_riverside: int
    homeless: int
    dormant_today: int  # 金卡 at main, dormant since today: next week's
    dormant_before: int  # 金卡 at main, dormant since the week before


async def fixture(ctx: Context, clock: FixedClock) -> Shop:
    """Monday 5 January 2026: last week is 29 December – 4 January. Silent 181–187 days
    today means dormant (180 days) on 4 January but not on 28 December."""
    assert clock.now().astimezone(ctx.zone).date() == date(2026, 1, 5)
    gold_main = [
        await silent(ctx, clock, 183, 5_000),
        await silent(ctx, clock, 181, 5_000),
        await silent(ctx, clock, 187, 5_000, consent=False),
    ]
    member_main = await silent(ctx, clock, 185, 100)
    dormant_today = await silent(ctx, clock, 180, 5_000)
    dormant_before = await silent(ctx, clock, 188, 5_000)
    came_back = await silent(ctx, clock, 184, 5_000)
    await sale(ctx, came_back, days_ago=2, yuan=100)  # bought again: not dormant
    gold_riverside = await silent(ctx, clock, 182, 5_000, "riverside")
    silver_riverside = await silent(ctx, clock, 186, 1_000, "riverside")
    homeless = await silent(ctx, clock, 183, 100, None)

    # Repeat rates over the 30 days to 4 January: main 1 of 2 buyers (the one who came back
    # bought once), riverside 1 of 4; today's sale is after the period.
    twice = await reachable(ctx)
    await sale(ctx, twice, days_ago=10, yuan=100)
    await sale(ctx, twice, days_ago=5, yuan=100)
    riverside = [await reachable(ctx, store="riverside") for _ in range(4)]
    await sale(ctx, riverside[0], days_ago=20, yuan=100, store="riverside")
    await sale(ctx, riverside[0], days_ago=3, yuan=100, store="riverside")
    for other in riverside[1:]:
        await sale(ctx, other, days_ago=7, yuan=100, store="riverside")
    await sale(ctx, riverside[1], yuan=100, store="riverside")

    # Urgent feedback still open: 2 at main, 1 at riverside, 1 about no store.
    writer = await reachable(ctx)
    for rating, text, store in (
        (1, "太慢了", "main"),
        (2, "态度不好", "main"),
        (4, "还不错", "main"),
        (1, "没货", "riverside"),
        (2, "太吵", None),
    ):
        await feedback.submit_feedback(ctx, writer, rating, text, store=store)
    boss = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    closed = await feedback.submit_feedback(ctx, writer, 1, "已处理", store="riverside")
    await feedback.close_feedback(ctx, closed.id, staff_id=boss.id)
    mia = await add_staff(ctx, channel="console", external_id="mia", role="manager", store="main")
    rita = await add_staff(
        ctx, channel="console", external_id="rita", role="manager", store="riverside"
    )
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    return Shop(
        boss,
        mia,
        rita,
        gold_main,
        member_main,
        gold_riverside,
        silver_riverside,
        homeless,
        dormant_today,
        dormant_before,
    )


async def digest_of(ctx: Context, staff: StaffView) -> digests.Digest:
    found = await digests.latest_digest(ctx, staff.id)
    assert found is not None
    return found


def lines(digest: digests.Digest) -> list[tuple[str, str | None, str | None, int]]:
    return [(item.kind, item.store, item.tier, item.count) for item in digest.items]


async def members_of(ctx: Context, item: digests.DigestItem) -> list[int]:
    async with ctx.db.read() as s:
        return await digests.item_members(s, item.id)


async def digest_pushes(ctx: Context) -> list[tuple[int | None, str, dict[str, object]]]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(OutboxRow.staff_id, OutboxRow.dedup_key, OutboxRow.params)
            .where(OutboxRow.kind == digests.OUTBOX_KIND)
            .order_by(OutboxRow.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_the_digest_names_the_right_counts_for_each_owner_and_manager(
    ctx: Context, clock: FixedClock
) -> None:
    shop = await fixture(ctx, clock)
    assert await digests.weekly_digests(ctx) == 3  # the owner and two managers, not the clerk

    boss = await digest_of(ctx, shop.boss)
    assert (boss.week, boss.first_day, boss.last_day, boss.store) == (
        date(2026, 1, 5),
        date(2025, 12, 29),
        date(2026, 1, 4),
        None,
    )
    assert lines(boss) == [
        (DORMANT, "main", "gold", 3),
        (DORMANT, "main", "member", 1),
        (DORMANT, "riverside", "gold", 1),
        (DORMANT, "riverside", "silver", 1),
        (DORMANT, None, "member", 1),
        (URGENT_FEEDBACK, None, None, 4),
        (BEST_STORE, "main", None, 2),
        (WORST_STORE, "riverside", None, 4),
    ]
    assert await members_of(ctx, boss.items[0]) == shop.gold_main
    assert await members_of(ctx, boss.items[1]) == [shop.member_main]
    assert await members_of(ctx, boss.items[4]) == [shop.homeless]
    best, worst = boss.items[6], boss.items[7]
    assert (best.details, best.repeat_rate) == ({"repeat_buyers": 1, "days": 30}, 0.5)
    assert worst.repeat_rate == 0.25

    mia = await digest_of(ctx, shop.mia)
    assert mia.store == "main"
    assert lines(mia) == [
        (DORMANT, "main", "gold", 3),
        (DORMANT, "main", "member", 1),
        (URGENT_FEEDBACK, "main", None, 3),  # main's two and the one about no store
        (STORE_REPEAT, "main", None, 2),
    ]
    rita = await digest_of(ctx, shop.rita)
    assert lines(rita) == [
        (DORMANT, "riverside", "gold", 1),
        (DORMANT, "riverside", "silver", 1),
        (URGENT_FEEDBACK, "riverside", None, 2),
        (STORE_REPEAT, "riverside", None, 4),
    ]

    pushes = await digest_pushes(ctx)
    assert [(staff_id, key) for staff_id, key, _ in pushes] == [
        (staff.id, f"digest:2026-01-05:{staff.id}") for staff in (shop.boss, shop.mia, shop.rita)
    ]
    assert pushes[0][2] == {"digest_id": boss.id}


async def test_one_digest_per_staff_member_and_week(ctx: Context, clock: FixedClock) -> None:
    shop = await fixture(ctx, clock)
    assert await digests.weekly_digests(ctx) == 3
    first = await digest_of(ctx, shop.boss)
    assert await digests.weekly_digests(ctx) == 0  # again at once
    clock.advance(timedelta(days=2))  # late in the same week: the same week's digest
    assert await digests.weekly_digests(ctx) == 0
    assert len(await digest_pushes(ctx)) == 3
    async with ctx.db.read() as s:
        assert len(list(await s.scalars(select(DigestRow.id)))) == 3

    clock.advance(timedelta(days=5))  # the next Monday: this week's members, the next digest
    assert await digests.weekly_digests(ctx) >= 1
    later = await digest_of(ctx, shop.boss)
    assert later.id != first.id and later.week == date(2026, 1, 12)
    dormant = [item for item in later.items if item.kind == DORMANT]
    assert [await members_of(ctx, item) for item in dormant] == [[shop.dormant_today]]
    # The first digest is kept as it was, for its buttons.
    assert lines(await digests.get_digest(ctx, first.id)) == lines(first)


async def test_nothing_moved_no_digest(ctx: Context) -> None:
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    assert await digests.weekly_digests(ctx) == 0
    assert await digest_pushes(ctx) == []


async def test_the_win_back_line_targets_exactly_the_members_it_counted(
    ctx: Context, clock: FixedClock
) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    boss = await digest_of(ctx, shop.boss)
    gold_main = boss.items[0]
    segment = Segment(stages={Stage.DORMANT}, tiers={"gold"})
    # The segment now holds more dormant 金卡 members of main than the line counted.
    assert await preview(ctx, Segment(stages={Stage.DORMANT}, tiers={"gold"}, store="main")) == 4
    assert await preview(ctx, segment, digest_item=gold_main.id) == 2  # less the opt-out

    clock.advance(timedelta(days=3))  # days later the button still works
    sent = await create_and_send(
        ctx,
        staff=shop.boss,
        segment=segment,
        message="好久不见",
        reward="coupon10",
        store="main",
        digest_item=gold_main.id,
    )
    assert (sent.reached, sent.holdout, sent.coupons) == (2, 0, 2)
    async with ctx.db.read() as s:
        reached = list(
            await s.scalars(
                select(OutboxRow.member_id)
                .where(OutboxRow.kind == KIND)
                .order_by(OutboxRow.member_id)
            )
        )
        campaign_item = await s.scalar(
            select(DigestItemRow.id).where(DigestItemRow.id == gold_main.id)
        )
    assert reached == shop.gold_main[:2]
    assert campaign_item == gold_main.id


async def test_only_the_digests_owner_or_an_owner_may_use_its_lines(
    ctx: Context, clock: FixedClock
) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    mia = await digest_of(ctx, shop.mia)
    line = mia.items[0]
    segment = Segment(stages={Stage.DORMANT}, tiers={"gold"})

    async def send(staff: StaffView, item: int, store: str = "main") -> int:
        sent = await create_and_send(
            ctx,
            staff=staff,
            segment=segment,
            message="回来吧",
            reward=None,
            store=store,
            digest_item=item,
        )
        return sent.reached

    with pytest.raises(NotAllowed):  # riverside's manager: not her store
        await send(shop.rita, line.id)
    rita_line = (await digest_of(ctx, shop.rita)).items[0]
    with pytest.raises(UnknownDigest):  # nor through a line of someone else's digest
        await send(shop.rita, line.id, store="riverside")
    with pytest.raises(UnknownDigest):  # a line that counts no members
        await send(shop.mia, mia.items[2].id)
    with pytest.raises(UnknownDigest):
        await send(shop.mia, 999_999)
    assert await send(shop.mia, line.id) == 2
    assert await send(shop.rita, rita_line.id, store="riverside") == 1
    with pytest.raises(UnknownDigest):
        await digests.winback_item(ctx, line.id, shop.rita)
    assert (await digests.winback_item(ctx, line.id, shop.boss)).count == 3

    # Consent withdrawn after the digest: left out then.
    async with ctx.db.transaction() as s:
        await s.execute(
            update(MemberRow)
            .where(MemberRow.id == shop.gold_main[0])
            .values(marketing_consent=False)
        )
    clock.advance(timedelta(hours=1))
    assert await send(shop.boss, line.id) == 1
