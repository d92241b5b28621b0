"""Products: the catalogue (from the shop file, or imported from CSV), the product lines of a
sale, and the stock of goods rewards (商品兑换).

A sale's lines are optional and describe what was bought: each names a product, a positive
quantity and what was paid for it (fen, zero for a free item). The lines may add up to less
than the sale's amount — items outside the catalogue, a service — but never to more: the
amount is what the member paid and what earns points; lines only tell preferences apart.

A goods reward has a stock: how many pieces it has in all, and ``taken``, the pieces
handed out, which only a conditional UPDATE (``taken + pieces <= stock``) raises — the same
way booking slots count places — so stock never goes below zero, also under concurrent
redemptions. Pickup codes taken back (their message never went) return their pieces
(``core.pushes.gifts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update

from core.context import Context
from core.errors import (
    InvalidInput,
    LinesExceedTotal,
    NotEnoughStock,
    OutOfStock,
    UnknownProduct,
)
from core.shop import ShopFileError
from storage.db import run
from storage.models import ProductRow, RewardRow, RewardStockRow, SaleLineRow
from storage.session import Session, rowcount

LINES_MAX = 100  # lines on one receipt: more is a mistake (a pasted file), not a basket
QUANTITY_MAX = 10_000
SHOP, IMPORT = "shop", "import"  # ProductRow.source


@dataclass(frozen=True)
class SaleLine:
    """One line of a sale as given: the product's code, how many, what was paid (fen)."""

    product: str
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class ProductView:
    code: str
    name: str
    name_en: str
    category: str
    price_fen: int | None
    active: bool


def _view(row: ProductRow) -> ProductView:
    return ProductView(row.code, row.name, row.name_en, row.category, row.price_fen, row.active)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_lines(lines: Iterable[SaleLine], amount_fen: int) -> list[SaleLine]:
    """The lines of a sale of ``amount_fen``, checked before anything is written: whole
    positive quantities, whole amounts of at least zero, at most :data:`LINES_MAX` lines,
    and together no more than the sale's amount (equal or less)."""
    checked = list(lines)
    if len(checked) > LINES_MAX:
        raise InvalidInput(field="lines", max=LINES_MAX)
    for line in checked:
        if not _whole(line.quantity) or not 0 < line.quantity <= QUANTITY_MAX:
            raise InvalidInput(field="quantity", value=line.quantity)
        if not _whole(line.amount_fen) or line.amount_fen < 0:
            raise InvalidInput(field="amount", value=line.amount_fen)
    total = sum(line.amount_fen for line in checked)
    if total > amount_fen:
        raise LinesExceedTotal(lines_fen=total, amount_fen=amount_fen)
    return checked


# What a sale with lines runs: built once, run prebuilt (storage.db.run).
_ACTIVE_ID = select(ProductRow.id).where(ProductRow.code == bindparam("code"), ProductRow.active)
_INSERT_LINE = insert(SaleLineRow.__table__)


async def add_lines(s: Session, sale_id: int, lines: Sequence[SaleLine]) -> None:
    """Write a new sale's lines inside its transaction; a code that names no product of
    the catalogue (or one taken off it) refuses the whole sale with UnknownProduct."""
    known = {
        code: (await run(s, _ACTIVE_ID, {"code": code})).scalar()
        for code in sorted({line.product.strip().lower() for line in lines})
    }
    for line in lines:
        product_id = known[line.product.strip().lower()]
        if product_id is None:  # the sale's transaction is rolled back, lines and all
            raise UnknownProduct(product=line.product)
        values = {"sale_id": sale_id, "product_id": product_id, "quantity": line.quantity}
        await run(s, _INSERT_LINE, values | {"amount_fen": line.amount_fen})


async def list_products(ctx: Context, *, include_inactive: bool = False) -> list[ProductView]:
    """The catalogue by category and code."""
    query = select(ProductRow).order_by(ProductRow.category, ProductRow.code)
    if not include_inactive:
        query = query.where(ProductRow.active)
    async with ctx.db.read() as s:
        return [_view(row) for row in await s.scalars(query)]


async def products_by_code(ctx: Context, codes: Iterable[str]) -> dict[str, ProductView]:
    """The products of ``codes`` that exist (inactive ones too: old coupons name them)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    async with ctx.db.read() as s:
        rows = await s.scalars(select(ProductRow).where(ProductRow.code.in_(wanted)))
        return {row.code: _view(row) for row in rows}


# --- the shop file's catalogue ------------------------------------------------------------


async def sync_products(s: Session, ctx: Context) -> int:
    """Mirror the shop file's products by code (inside :func:`core.catalog.sync_shop`): a
    product that left the file is inactive; imported products are left as they are."""
    rows = {r.code: r for r in await s.scalars(select(ProductRow))}
    for row in rows.values():
        if row.source == SHOP:
            row.active = False
    for product in ctx.shop.products:
        row = rows.get(product.code) or ProductRow(code=product.code)
        row.name, row.name_en = product.name, product.name_en
        row.category, row.price_fen = product.category, product.price_fen
        row.source, row.active = SHOP, True
        s.add(row)
    await s.flush()
    return len(ctx.shop.products)


async def sync_goods(s: Session, ctx: Context) -> None:
    """The stock of every goods reward of the shop file (after rewards and products are
    mirrored). A goods reward without a coupon value is worth its product's price.

    A reward that left the file keeps its row, and with it the count of pieces taken: it
    cannot be redeemed while it is out (core.catalog makes it inactive), and a start
    without the shop file, or with it being edited, must not hand out the pieces again."""
    stocks = {r.reward_id: r for r in await s.scalars(select(RewardStockRow))}
    for index, reward in enumerate(ctx.shop.rewards):
        row = await s.scalar(select(RewardRow).where(RewardRow.code == reward.code))
        if row is None:
            continue
        stock = stocks.pop(row.id, None)
        if reward.goods is None:
            if stock is not None:  # goods no more: a coupon has no stock to count
                await s.delete(stock)
            continue
        product = await s.scalar(select(ProductRow).where(ProductRow.code == reward.goods))
        if product is None:
            raise ShopFileError(
                f"shop file: rewards[{index}].goods: no product with the code {reward.goods!r}"
            )
        if not reward.coupon_value_fen:
            row.coupon_value_fen = product.price_fen or 0
        if stock is None:
            s.add(RewardStockRow(reward_id=row.id, product_id=product.id, stock=reward.stock))
        else:
            stock.product_id, stock.stock = product.id, reward.stock or 0


# --- goods rewards ------------------------------------------------------------------------


async def take_stock(s: Session, reward: RewardRow, pieces: int = 1) -> None:
    """Take ``pieces`` of a goods reward inside the transaction that hands them out, all
    or none: OutOfStock for one piece, NotEnoughStock (with what is left) for several. A
    coupon reward has no stock: nothing to take."""
    taken = await s.execute(
        update(RewardStockRow)
        .where(
            RewardStockRow.reward_id == reward.id,
            RewardStockRow.taken + pieces <= RewardStockRow.stock,
        )
        .values(taken=RewardStockRow.taken + pieces)
    )
    if rowcount(taken) or not pieces:
        return
    left = await s.scalar(
        select(RewardStockRow.stock - RewardStockRow.taken).where(
            RewardStockRow.reward_id == reward.id
        )
    )
    if left is None:  # no goods
        return
    if pieces == 1:
        raise OutOfStock(reward=reward.code)
    raise NotEnoughStock(reward=reward.code, left=max(int(left), 0), needed=pieces)


async def reward_values(ctx: Context) -> dict[str, int]:
    """What a coupon of each reward is worth (fen), by code, as it is handed out: a goods
    reward's is its product's price — the shop file's reward has no value of its own."""
    async with ctx.db.read() as s:
        rows = await s.execute(select(RewardRow.code, RewardRow.coupon_value_fen))
        return {code: int(value) for code, value in rows}


async def stock_left(ctx: Context) -> dict[str, int]:
    """Pieces left of each goods reward, by reward code."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(RewardRow.code, RewardStockRow.stock - RewardStockRow.taken).join(
                RewardStockRow, RewardStockRow.reward_id == RewardRow.id
            )
        )
        return {code: max(int(left), 0) for code, left in rows}
