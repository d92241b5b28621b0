"""Preferences: what a member likes, from the product lines of their sales, and "for you".

- **Preferred categories**: the ``[preferences] top_categories`` categories a member spent
  most on (line amounts; then quantity, then the code, so ties always read the same) in the
  last ``window_months``. Sales refunded in full do not count; lines are the only source, so
  a member whose sales carry no lines has no preferred category.
- **Frequency and amount tags**: the member's F and M scores of the segments (1–5 by
  quintiles over the shop's members): ``high`` from ``high_score``, ``low`` up to
  ``low_score``, ``medium`` between; none for a member who never bought.
- **For you** (为你推荐): up to ``recommendations`` active products of the preferred
  categories that the member has not bought in the last ``recent_days``, the shop's best
  sellers first (pieces sold in the window, then the code). When those are fewer, the shop's
  other best sellers the member has not bought lately fill the list; a member without lines
  gets the best sellers alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.clock import add_months
from core.context import Context
from core.engagement.products import ProductView
from core.insights.segments import Rfm, compute_segments, is_purchase
from core.shop import PreferenceRules
from storage.models import ProductRow, SaleLineRow, SaleRow
from storage.session import Session

HIGH, MEDIUM, LOW = "high", "medium", "low"


def score_tag(score: int, rules: PreferenceRules) -> str:
    """An RFM score (1–5) as the tag staff read."""
    if score >= rules.high_score:
        return HIGH
    if score <= rules.low_score:
        return LOW
    return MEDIUM


@dataclass(frozen=True)
class Preferences:
    categories: tuple[str, ...]  # category codes, the most spent on first
    frequency: str | None  # high, medium, low; None: never bought
    amount: str | None


async def member_preferences(ctx: Context, member_id: int) -> Preferences:
    """The member's preference tags (scoring RFM over every member: a pass over all sales;
    a caller that has the member's segment already uses :func:`preferences_for`)."""
    async with ctx.db.read() as s:
        segments = await compute_segments(s, ctx)
    segment = next((m for m in segments if m.member_id == member_id), None)
    return await preferences_for(ctx, member_id, segment.rfm if segment else None)


async def preferences_for(ctx: Context, member_id: int, rfm: Rfm | None) -> Preferences:
    """The member's preference tags, with their RFM (None: never bought) given."""
    async with ctx.db.read() as s:
        categories = await _preferred(s, ctx, member_id)
    rules = ctx.shop.preferences
    return Preferences(
        categories=tuple(categories),
        frequency=score_tag(rfm.f, rules) if rfm else None,
        amount=score_tag(rfm.m, rules) if rfm else None,
    )


def _since(ctx: Context) -> datetime:
    return add_months(ctx.now().astimezone(ctx.zone), -ctx.shop.preferences.window_months)


async def _preferred(s: Session, ctx: Context, member_id: int) -> list[str]:
    rows = await s.execute(
        select(
            ProductRow.category,
            func.sum(SaleLineRow.amount_fen),
            func.sum(SaleLineRow.quantity),
        )
        .join(SaleRow, SaleRow.id == SaleLineRow.sale_id)
        .join(ProductRow, ProductRow.id == SaleLineRow.product_id)
        .where(SaleRow.member_id == member_id, SaleRow.sold_at > _since(ctx), is_purchase())
        .group_by(ProductRow.category)
    )
    ranked = sorted(rows, key=lambda row: (-int(row[1]), -int(row[2]), row[0]))
    return [category for category, _amount, _quantity in ranked][
        : ctx.shop.preferences.top_categories
    ]


@dataclass(frozen=True)
class Recommendations:
    products: list[ProductView]
    categories: tuple[str, ...]  # the member's preferred categories; () → best sellers only


async def best_sellers(s: Session, ctx: Context) -> list[tuple[int, ProductView]]:
    """Every active product with its id, the most pieces sold in the window first."""
    sold = (
        select(SaleLineRow.product_id, func.sum(SaleLineRow.quantity).label("sold"))
        .join(SaleRow, SaleRow.id == SaleLineRow.sale_id)
        .where(SaleRow.sold_at > _since(ctx), is_purchase())
        .group_by(SaleLineRow.product_id)
        .subquery()
    )
    rows = await s.execute(
        select(ProductRow)
        .outerjoin(sold, sold.c.product_id == ProductRow.id)
        .where(ProductRow.active)
        .order_by(func.coalesce(sold.c.sold, 0).desc(), ProductRow.code)
    )
    return [
        (p.id, ProductView(p.code, p.name, p.name_en, p.category, p.price_fen, p.active))
        for (p,) in rows
    ]


async def recommend(ctx: Context, member_id: int) -> Recommendations:
    """ "For you": see the module's docstring."""
    rules = ctx.shop.preferences
    async with ctx.db.read() as s:
        categories = await _preferred(s, ctx, member_id)
        recent = set(
            await s.scalars(
                select(SaleLineRow.product_id)
                .join(SaleRow, SaleRow.id == SaleLineRow.sale_id)
                .where(
                    SaleRow.member_id == member_id,
                    SaleRow.sold_at > ctx.now() - timedelta(days=rules.recent_days),
                )
            )
        )
        catalogue = [(i, p) for i, p in await best_sellers(s, ctx) if i not in recent]
    picks = [p for _i, p in catalogue if p.category in categories]
    picks += [p for _i, p in catalogue if p.category not in categories]
    return Recommendations(products=picks[: rules.recommendations], categories=tuple(categories))
