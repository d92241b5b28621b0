"""Receipt numbers of sales entered without one: short, numbered by shop day and store,
unique under concurrent sales; a double entry of one conversation records once; an undone
sale's number can be entered again."""

from __future__ import annotations

import asyncio
from datetime import datetime

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.ledger import refunds, statement
from core.people.staff import add_staff
from tests.conftest import ZONE
from tests.factories import member


async def chat_sale(ctx: Context, member_id: int, key: str, **kw: object) -> loyalty.SaleResult:
    sale: dict[str, object] = dict(store="main", member_id=member_id, amount_fen=10_000)
    return await loyalty.record_sale(ctx, receipt_no=None, entry_key=key, **(sale | kw))


async def test_identical_chat_sales_get_numbers_of_their_shop_day(
    ctx: Context, clock: FixedClock
) -> None:
    """The same ¥100 for the same member twice in a minute is two sales; the number counts
    the store's chat sales of the shop's day (Shanghai, not UTC)."""
    member_id = await member(ctx, name="王小明", phone="13800000001")
    first = await chat_sale(ctx, member_id, "k1")
    second = await chat_sale(ctx, member_id, "k2")
    assert (first.receipt_no, first.duplicate) == ("C-260105-001", False)
    assert (second.receipt_no, second.duplicate) == ("C-260105-002", False)
    assert (await chat_sale(ctx, member_id, "k3", store="riverside")).receipt_no == ("C-260105-001")

    clock.set(datetime(2026, 1, 5, 23, 59, tzinfo=ZONE))
    assert (await chat_sale(ctx, member_id, "k4")).receipt_no == "C-260105-003"
    clock.set(datetime(2026, 1, 6, 0, 1, tzinfo=ZONE))  # 16:01 UTC, still the 5th there
    assert (await chat_sale(ctx, member_id, "k5")).receipt_no == "C-260106-001"
    assert (await statement.points_summary(ctx, member_id)).balance == 50


async def test_concurrent_chat_sales_never_share_a_number(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    other = await member(ctx, name="王小明", phone="13900000002")
    racing = await asyncio.gather(
        *(chat_sale(ctx, (member_id, other)[i % 2], f"k{i}") for i in range(10))
    )
    assert sorted(r.receipt_no for r in racing) == [f"C-260105-{n:03d}" for n in range(1, 11)]
    assert not any(r.duplicate for r in racing)


async def test_one_entry_tapped_twice_is_one_sale_also_concurrently(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    racing = await asyncio.gather(*(chat_sale(ctx, member_id, "same") for _ in range(5)))
    assert sum(not r.duplicate for r in racing) == 1
    assert {r.receipt_no for r in racing} == {"C-260105-001"}
    again = await chat_sale(ctx, member_id, "same")
    assert (again.duplicate, again.receipt_no) == (True, "C-260105-001")
    assert (await statement.points_summary(ctx, member_id)).balance == 10
    assert (await chat_sale(ctx, member_id, "next")).receipt_no == "C-260105-002"  # no gap


async def test_a_chat_receipt_number_is_refunded_as_typed_in_any_case(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await chat_sale(ctx, member_id, "k1", amount_fen=23_800)
    found = await loyalty.find_sale(ctx, store="main", receipt_no=" c-260105-001 ")
    assert (found.receipt_no, found.amount_fen) == ("C-260105-001", 23_800)
    refund = await refunds.refund_sale(ctx, store="main", receipt_no="c-260105-001")
    assert (refund.amount_fen, refund.balance) == (23_800, 0)


async def test_after_undo_the_same_receipt_number_is_entered_again(ctx: Context) -> None:
    """A clerk typed ¥500 for receipt U-1 instead of ¥50 and undid it: U-1 with ¥50 is
    recorded, and the receipt number now means that sale."""
    member_id = await member(ctx, name="王小明", phone="13800000001")
    clerk = await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    typo = await loyalty.record_sale(
        ctx,
        store="main",
        receipt_no="U-1",
        member_id=member_id,
        amount_fen=50_000,
        staff_id=clerk.id,
    )
    await refunds.undo_sale(ctx, sale_id=typo.sale_id, staff_id=clerk.id)
    right = await loyalty.record_sale(
        ctx, store="main", receipt_no="U-1", member_id=member_id, amount_fen=5_000
    )
    assert (right.duplicate, right.receipt_no, right.points) == (False, "U-1", 0)
    assert (await loyalty.find_sale(ctx, store="main", receipt_no="U-1")).amount_fen == 5_000
    again = await loyalty.record_sale(
        ctx, store="main", receipt_no="U-1", member_id=member_id, amount_fen=5_000
    )
    assert again.duplicate
    refund = await refunds.refund_sale(ctx, store="main", receipt_no="U-1")
    assert refund.amount_fen == 5_000
    visits = await loyalty.recent_sales(ctx, member_id)
    assert [(v.amount_fen, v.refunded_fen, v.undone) for v in visits] == [
        (5_000, 5_000, False),
        (50_000, 50_000, True),
    ]


async def test_undoing_a_sale_takes_back_the_upgrade_it_made(ctx: Context) -> None:
    """¥5 000 typed for ¥50 lifted the member to Gold: undone, they are a Member again, and
    the right sale earns at 1×."""
    member_id = await member(ctx, name="王小明", phone="13800000001")
    clerk = await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    sale = dict(store="main", member_id=member_id, staff_id=clerk.id)
    slip = await loyalty.record_sale(ctx, **sale, receipt_no="S-1", amount_fen=500_000)
    assert slip.upgraded_from == "member"
    await refunds.undo_sale(ctx, sale_id=slip.sale_id, staff_id=clerk.id)
    assert (await statement.points_summary(ctx, member_id)).tier == "member"
    right = await loyalty.record_sale(ctx, **sale, receipt_no="S-1", amount_fen=23_800)
    assert (right.points, right.tier) == (20, "member")
