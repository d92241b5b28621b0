"""Mirror the shop file's stores, rewards and events into the database, matched by code.

Rows are never deleted (sales and coupons point at them): a store or reward that left the
shop file is marked inactive, and comes back if it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.context import Context
from core.engagement.event_organising import sync_events
from core.engagement.products import sync_goods, sync_products
from storage.models import RewardRow, StoreRow


@dataclass(frozen=True)
class SyncReport:
    stores: int
    rewards: int
    events: int = 0


async def sync_shop(ctx: Context) -> SyncReport:
    async with ctx.db.transaction() as s:
        stores = {r.code: r for r in await s.scalars(select(StoreRow))}
        for row in stores.values():
            row.active = False
        for store in ctx.shop.stores:
            row = stores.get(store.code) or StoreRow(code=store.code)
            row.name, row.name_en, row.address = store.name, store.name_en, store.address
            row.active = True
            s.add(row)
        rewards = {r.code: r for r in await s.scalars(select(RewardRow))}
        for reward_row in rewards.values():
            reward_row.active = False
        for reward in ctx.shop.rewards:
            reward_row = rewards.get(reward.code) or RewardRow(code=reward.code)
            reward_row.name, reward_row.name_en = reward.name, reward.name_en
            reward_row.points = reward.points
            reward_row.coupon_value_fen = reward.coupon_value_fen
            reward_row.valid_days = reward.valid_days
            reward_row.active = True
            s.add(reward_row)
        await sync_products(s, ctx)
        await sync_goods(s, ctx)
        events = await sync_events(s, ctx)
    return SyncReport(stores=len(ctx.shop.stores), rewards=len(ctx.shop.rewards), events=events)
