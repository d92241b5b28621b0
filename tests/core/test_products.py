"""Products: the catalogue from the shop file and from CSV, sale lines checked in the sale's
transaction, and goods rewards whose stock never goes below zero."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.composition import shop_context
from core import loyalty
from core.catalog import sync_shop
from core.clock import FixedClock
from core.context import Context
from core.engagement import products
from core.engagement.product_csv import import_products
from core.engagement.products import SaleLine
from core.errors import (
    DuplicateProductRow,
    InvalidInput,
    LinesExceedTotal,
    MissingColumn,
    NotEnoughPoints,
    NotEnoughStock,
    OutOfStock,
    ProductInShopFile,
    UnknownColumn,
    UnknownProduct,
)
from core.insights.campaigns import create_and_send
from core.insights.segments import Segment, Stage
from core.ledger import statement
from core.ledger.coupons import CouponView, member_coupons, redeem_reward, use_coupon
from core.people.members import update_member
from core.people.staff import add_staff
from core.pushes import work_queue
from core.pushes.outbox import enqueue
from core.pushes.scheduled import Planned, queue
from core.shop import ShopFileError
from core.shop_file import load_shop
from storage.db import Database
from storage.models import (
    CampaignRow,
    CouponRow,
    LedgerRow,
    MemberRow,
    OutboxRow,
    SaleLineRow,
    SaleRow,
)
from tests.conftest import ZONE
from tests.factories import count, give_points, member, reachable
from tests.shop_with_products import SHOP_FILE, product_context


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    return await product_context(db, clock, tmp_path)


# --- the catalogue ------------------------------------------------------------------------


async def test_shop_file_products_are_mirrored_and_retired_by_code(
    ctx: Context, tmp_path: Path
) -> None:
    listed = await products.list_products(ctx)
    assert [(p.code, p.category, p.price_fen) for p in listed][:3] == [
        ("cheesecake", "cake", 3_000),
        ("tiramisu", "cake", 3_500),
        ("americano", "coffee", 2_200),
    ]
    assert len(listed) == 8
    # The mocha leaves the shop file: kept for old sales, no longer offered.
    path = tmp_path / "smaller.toml"
    path.write_text(SHOP_FILE.replace('code = "mocha"', 'code = "flatwhite"'), encoding="utf-8")
    smaller = await shop_context(ctx.db, load_shop(path), ctx.clock, ZONE)
    codes = {p.code for p in await products.list_products(smaller)}
    assert "mocha" not in codes and "flatwhite" in codes
    everything = await products.list_products(smaller, include_inactive=True)
    assert {p.code: p.active for p in everything}["mocha"] is False


def test_a_goods_reward_needs_stock_and_a_coupon_needs_a_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        SHOP_FILE.replace('goods = "mug"\nstock = 1\n', 'goods = "mug"\n'), encoding="utf-8"
    )
    with pytest.raises(ShopFileError, match="needs its stock"):
        load_shop(bad)
    bad.write_text(SHOP_FILE.replace("coupon_value_yuan = 10\n", ""), encoding="utf-8")
    with pytest.raises(ShopFileError, match="coupon_value_yuan must be greater than 0"):
        load_shop(bad)


async def test_a_goods_reward_of_an_unknown_product_stops_the_start(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(SHOP_FILE.replace('goods = "mug"', 'goods = "mugg"'), encoding="utf-8")
    typo = load_shop(path)
    with pytest.raises(
        ShopFileError, match=r"rewards\[1\]\.goods: no product with the code 'mugg'"
    ):
        await shop_context(ctx.db, typo, ctx.clock, ZONE)


# --- CSV import ---------------------------------------------------------------------------

CSV = (
    "\ufeffcode,name,name_en,category,price_yuan,active\n"
    "SCONE,司康,Scone,Cake,12.50,\n"
    "croissant,可颂,,cake,,yes\n"
    "latte,拿铁,Latte,coffee,28,\n"  # the shop file's
    "bad code!,坏,Bad,cake,1,\n"
    "bagel,贝果,Bagel,cake,1.234,\n"
    "bun,面包,Bun,cake,5,maybe\n"
    "scone,司康 again,Scone,cake,13,\n"
    ",,,,,\n"
)


async def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line(ctx: Context) -> None:
    report = await import_products(ctx, io.StringIO(CSV), actor="cli")
    assert (report.created, report.updated) == (2, 0)
    errors = {row.line: row.error for row in report.errors}
    assert sorted(errors) == [4, 5, 6, 7, 8]
    assert isinstance(errors[4], ProductInShopFile)
    assert isinstance(errors[5], InvalidInput) and errors[5].params["field"] == "code"
    assert errors[6].params["field"] == "price_yuan"
    assert errors[7].params["field"] == "active"
    assert isinstance(errors[8], DuplicateProductRow) and errors[8].params["first_line"] == 2
    found = await products.products_by_code(ctx, ["scone", "croissant"])
    assert (found["scone"].name_en, found["scone"].category, found["scone"].price_fen) == (
        "Scone",
        "cake",
        1_250,
    )
    assert (found["croissant"].name_en, found["croissant"].price_fen) == ("可颂", None)
    # Again, with a change: updated by code, never duplicated; the shop file's sync keeps it.
    again = await import_products(
        ctx, io.StringIO("code,name,category,active\nscone,司康,cake,no\ncroissant,可颂,cake,\n")
    )
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 1, 1, [])
    await sync_shop(ctx)
    listed = {p.code: p for p in await products.list_products(ctx, include_inactive=True)}
    assert listed["scone"].active is False and listed["croissant"].active is True
    assert listed["scone"].price_fen == 1_250  # a file without prices keeps them


async def test_csv_import_refuses_a_file_with_unknown_or_missing_columns(ctx: Context) -> None:
    report = await import_products(ctx, io.StringIO("code,nmae,price_yuan\nx,y,1\n"))
    kinds = {type(row.error) for row in report.errors}
    assert kinds == {UnknownColumn, MissingColumn}
    assert (report.created, [row.line for row in report.errors]) == (0, [1, 1])


# --- sale lines ---------------------------------------------------------------------------


async def test_a_sale_keeps_its_lines(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    lines = [SaleLine("latte", 2, 5_600), SaleLine(" Cheesecake ", 1, 3_000)]
    sale = await loyalty.record_sale(
        ctx, store="main", receipt_no="L1", member_id=member_id, amount_fen=10_000, lines=lines
    )
    async with ctx.db.read() as s:
        stored = (
            await s.execute(
                select(SaleLineRow.quantity, SaleLineRow.amount_fen)
                .where(SaleLineRow.sale_id == sale.sale_id)
                .order_by(SaleLineRow.id)
            )
        ).all()
    assert stored == [(2, 5_600), (1, 3_000)]
    # Equal to the total is fine too; a repeated receipt adds no lines.
    exact = [SaleLine("latte", 1, 2_800)]
    await loyalty.record_sale(
        ctx, store="main", receipt_no="L2", member_id=member_id, amount_fen=2_800, lines=exact
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="L2", member_id=member_id, amount_fen=2_800, lines=exact
    )
    assert await count(ctx, SaleLineRow) == 3


@pytest.mark.parametrize(
    ("lines", "error", "field"),
    [
        ([SaleLine("latte", 0, 100)], InvalidInput, "quantity"),
        ([SaleLine("latte", -1, 100)], InvalidInput, "quantity"),
        ([SaleLine("latte", 1, -100)], InvalidInput, "amount"),
        ([SaleLine("latte", 2, 6_000), SaleLine("mocha", 2, 6_400)], LinesExceedTotal, None),
        ([SaleLine("espresso", 1, 100)], UnknownProduct, None),
        ([SaleLine("latte", 1, 100)] * 101, InvalidInput, "lines"),
    ],
)
async def test_bad_lines_refuse_the_whole_sale(
    ctx: Context, lines: list[SaleLine], error: type, field: str | None
) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    with pytest.raises(error) as raised:
        await loyalty.record_sale(
            ctx, store="main", receipt_no="X", member_id=member_id, amount_fen=10_000, lines=lines
        )
    if field is not None:
        assert raised.value.params["field"] == field
    assert await count(ctx, SaleRow) == 0
    assert await count(ctx, SaleLineRow) == 0
    assert await count(ctx, LedgerRow, LedgerRow.kind == "earn") == 0


async def test_a_product_taken_off_the_catalogue_cannot_be_sold(ctx: Context) -> None:
    await import_products(ctx, io.StringIO("code,name,category,active\nscone,司康,cake,no\n"))
    member_id = await member(ctx, name="王小明", phone="13800000001")
    with pytest.raises(UnknownProduct):
        await loyalty.record_sale(
            ctx,
            store="main",
            receipt_no="X",
            member_id=member_id,
            amount_fen=1_000,
            lines=[SaleLine("scone", 1, 1_000)],
        )


# --- goods rewards ------------------------------------------------------------------------


async def test_goods_reward_of_stock_one_redeemed_by_two_members_at_once(ctx: Context) -> None:
    first, second = (
        await member(ctx, name="王小明", phone="13800000001"),
        await member(ctx, name="王小明", phone="13800000002"),
    )
    for member_id in (first, second):
        await give_points(ctx, member_id, 500)
    assert await products.stock_left(ctx) == {"mug": 1}

    results = await asyncio.gather(
        redeem_reward(ctx, first, "mug"),
        redeem_reward(ctx, second, "mug"),
        return_exceptions=True,
    )

    coupons = [r for r in results if isinstance(r, CouponView)]
    refusals = [r for r in results if not isinstance(r, CouponView)]
    assert len(coupons) == 1 and len(refusals) == 1
    assert isinstance(refusals[0], OutOfStock), refusals
    assert refusals[0].params == {"reward": "mug"}
    assert await products.stock_left(ctx) == {"mug": 0}
    balances = sorted([(await statement.points_summary(ctx, m)).balance for m in (first, second)])
    assert balances == [300, 500]  # the one who got nothing kept every point
    assert await count(ctx, LedgerRow, LedgerRow.kind == "spend") == 1
    # The pickup coupon is worth the product's price and is used at the counter once.
    (coupon,) = coupons
    assert (coupon.reward, coupon.value_fen, coupon.points) == ("mug", 5_900, 200)
    used = await use_coupon(ctx, coupon.code, store="main")
    assert used.used_at is not None


async def test_many_members_racing_for_restocked_goods_never_overdraw(
    ctx: Context, tmp_path: Path
) -> None:
    path = tmp_path / "restock.toml"
    path.write_text(SHOP_FILE.replace("stock = 1", "stock = 3"), encoding="utf-8")
    restocked = await shop_context(ctx.db, load_shop(path), ctx.clock, ZONE)
    members = [await member(ctx, name="王小明", phone=f"1380000{i:04d}") for i in range(8)]
    for member_id in members:
        await give_points(ctx, member_id, 200)

    results = await asyncio.gather(
        *(redeem_reward(restocked, m, "mug") for m in members), return_exceptions=True
    )

    assert sum(isinstance(r, CouponView) for r in results) == 3
    assert all(isinstance(r, CouponView | OutOfStock) for r in results), results
    assert await products.stock_left(restocked) == {"mug": 0}
    assert await count(ctx, CouponRow) == 3


async def test_pieces_taken_survive_a_start_without_the_shop_file(ctx: Context) -> None:
    """The last mug is redeemed; memberbot starts once without MEMBERBOT_SHOP_FILE (its
    defaults have no mug), then with it again: the mug is still gone."""
    first, second = (
        await member(ctx, name="王小明", phone="13800000001"),
        await member(ctx, name="王小明", phone="13800000002"),
    )
    for member_id in (first, second):
        await give_points(ctx, member_id, 200)
    await redeem_reward(ctx, first, "mug")
    await shop_context(ctx.db, load_shop(), ctx.clock, ZONE)
    await sync_shop(ctx)
    assert await products.stock_left(ctx) == {"mug": 0}
    with pytest.raises(OutOfStock):
        await redeem_reward(ctx, second, "mug")
    assert await count(ctx, CouponRow) == 1


async def test_out_of_stock_takes_nothing_and_not_enough_points_takes_no_stock(
    ctx: Context,
) -> None:
    poor, rich = (
        await member(ctx, name="王小明", phone="13800000001"),
        await member(ctx, name="王小明", phone="13800000002"),
    )
    await give_points(ctx, poor, 50)
    await give_points(ctx, rich, 400)
    with pytest.raises(NotEnoughPoints):
        await redeem_reward(ctx, poor, "mug")
    assert await products.stock_left(ctx) == {"mug": 1}  # not taken by a refusal
    await redeem_reward(ctx, rich, "mug")
    with pytest.raises(OutOfStock):
        await redeem_reward(ctx, rich, "mug")
    assert (await statement.points_summary(ctx, rich)).balance == 200
    # Coupons have no stock: they are redeemed as before.
    coupon = await redeem_reward(ctx, rich, "coupon10")
    assert coupon.value_fen == 1_000


async def test_a_campaign_gift_of_goods_takes_its_stock_or_is_refused(ctx: Context) -> None:
    """Seen: a campaign gave a mug (stock 5, all taken) to 126 members. Now a campaign
    whose members outnumber the pieces left is refused with how many are left, nothing
    given; one that fits takes a piece per member, worth the product's price."""
    boss = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    members = [await reachable(ctx) for _ in range(3)]
    everyone = Segment(stages={Stage.POTENTIAL})
    with pytest.raises(NotEnoughStock) as refused:
        await create_and_send(
            ctx, staff=boss, segment=everyone, message="送杯子", reward="mug", store=None
        )
    assert refused.value.params == {"reward": "mug", "left": 1, "needed": 3}
    assert await count(ctx, CouponRow) == 0
    assert await count(ctx, CampaignRow) == 0
    assert await products.stock_left(ctx) == {"mug": 1}

    async with ctx.db.transaction() as s:  # two of them decline marketing
        await s.execute(
            update(MemberRow).where(MemberRow.id.in_(members[1:])).values(marketing_consent=False)
        )
    sent = await create_and_send(
        ctx, staff=boss, segment=everyone, message="送杯子", reward="mug", store=None
    )
    assert (sent.reached, sent.coupons) == (1, 1)
    assert await products.stock_left(ctx) == {"mug": 0}
    async with ctx.db.read() as s:
        assert list(await s.scalars(select(CouponRow.value_fen))) == [5_900]


async def test_every_gift_path_takes_goods_stock(ctx: Context) -> None:
    """Birthday and win-back gifts go through the same hand-out: a goods gift takes its
    pieces, and a batch larger than what is left is refused, with nothing queued."""
    first, second = await reachable(ctx), await reachable(ctx)
    planned = [Planned(m, "birthday", f"birthday:2026:{m}", {"name": "x"}) for m in (first, second)]
    with pytest.raises(OutOfStock):
        await queue(ctx, planned, gift="mug")
    assert await count(ctx, CouponRow) == 0
    assert await count(ctx, OutboxRow) == 0
    assert await queue(ctx, planned[:1], gift="mug") == 1
    assert await products.stock_left(ctx) == {"mug": 0}


async def test_a_gift_whose_message_is_given_up_returns_its_piece(ctx: Context) -> None:
    """The only mug goes with a campaign to a member who then turns offers off before it
    is sent: the pickup code is void and the mug back in stock."""
    boss = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    member_id = await reachable(ctx)
    await create_and_send(
        ctx,
        staff=boss,
        segment=Segment(stages={Stage.POTENTIAL}),
        message="送杯子",
        reward="mug",
        store=None,
    )
    assert await products.stock_left(ctx) == {"mug": 0}
    await update_member(ctx, member_id, actor="member", marketing_consent=False)
    assert await products.stock_left(ctx) == {"mug": 1}
    assert await member_coupons(ctx, member_id) == []
    async with ctx.db.read() as s:
        (reached,) = await s.scalars(select(CampaignRow.reached))
    assert reached == 0


async def test_a_reminder_given_up_takes_back_no_coupon(ctx: Context) -> None:
    """Only gifts follow their message: a coupon reminder carries the code of a coupon the
    member paid for, and giving the reminder up leaves that coupon alone."""
    member_id = await reachable(ctx)
    await give_points(ctx, member_id, 100)
    coupon = await redeem_reward(ctx, member_id, "coupon10")
    async with ctx.db.transaction() as s:
        await enqueue(
            s,
            now=ctx.now(),
            member_id=member_id,
            marketing_consent=True,
            kind="coupon_expiring",
            dedup_key="coupon_expiring:1",
            params={"coupon_code": coupon.code},
        )
    (push,) = await work_queue.claim(ctx, 10)
    await work_queue.give_up(ctx, push.id, "no reachable chat account")
    assert [c.code for c in await member_coupons(ctx, member_id)] == [coupon.code]
