"""How long the scheduled push jobs take on a large shop, on SQLite.

100 000 members (every one with a chat account, a birthday and a purchase history spread
over three years), their points lots and some coupons and bookings, written straight into
a fresh database; then each job runs twice — the first run queues, the second finds
everything queued already — and the times are printed.

    .venv/bin/python bench/push_jobs.py [--members N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select

from core.birthdays import wish_birthdays
from core.catalog import sync_shop
from core.clock import FixedClock
from core.context import Context
from core.reminders import remind_bookings, remind_expiring_coupons, remind_expiring_points
from core.shop import load_shop
from core.winback import win_back
from storage import migrate
from storage.db import Database
from storage.models import (
    BookingRow,
    CouponRow,
    IdentityRow,
    LedgerRow,
    MemberRow,
    OutboxRow,
    RewardRow,
    SaleRow,
    StoreRow,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 5, 10, 15, tzinfo=ZONE).astimezone(UTC)
CHUNK = 5_000


async def _insert(ctx: Context, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with ctx.db.transaction() as s:
            await s.execute(insert(table), rows[start : start + CHUNK])


async def _fill(ctx: Context, members: int) -> None:
    rnd = random.Random(7)
    async with ctx.db.read() as s:
        store = await s.scalar(select(StoreRow.id).where(StoreRow.code == "main"))
        reward = await s.scalar(select(RewardRow.id).where(RewardRow.code == "coupon10"))
    people, chats, sales, lots, coupons, visits = [], [], [], [], [], []
    for n in range(1, members + 1):
        people.append(
            {
                "id": n,
                "name": f"会员{n}",
                "phone": f"+86139{n:08d}",
                "birthday": date(1970, 1, 1) + timedelta(days=rnd.randrange(365 * 40)),
                "locale": "zh_CN",
                "marketing_consent": rnd.random() < 0.7,
                "tier": "member",
                "registered_at": NOW - timedelta(days=1100),
            }
        )
        chats.append(
            {
                "channel": "telegram",
                "external_id": str(n),
                "member_id": n,
                "reachable": True,
                "created_at": NOW - timedelta(days=1100),
            }
        )
        for _ in range(rnd.randrange(0, 9)):
            sold_at = NOW - timedelta(days=rnd.uniform(1, 1095))
            sales.append(
                {
                    "store_id": store,
                    "receipt_no": f"R{len(sales)}",
                    "member_id": n,
                    "amount_fen": 10_000,
                    "refunded_fen": 0,
                    "points_earned": 10,
                    "points_reversed": 0,
                    "sold_at": sold_at,
                }
            )
            lots.append(
                {
                    "member_id": n,
                    "kind": "earn",
                    "points": 10,
                    "remaining": 10,
                    "created_at": sold_at,
                    "expires_at": sold_at + timedelta(days=365),
                    "shortfall": 0,
                    "reason": "",
                    "detail": {},
                }
            )
        if rnd.random() < 0.2:
            issued = NOW - timedelta(days=rnd.uniform(0, 30))
            coupons.append(
                {
                    "code": f"C{n:09d}",
                    "member_id": n,
                    "reward_id": reward,
                    "value_fen": 1_000,
                    "points": 100,
                    "issued_at": issued,
                    "expires_at": issued + timedelta(days=30),
                }
            )
        if rnd.random() < 0.01:
            visits.append(
                {
                    "store_id": store,
                    "member_id": n,
                    "starts_at": NOW + timedelta(hours=rnd.uniform(1, 72)),
                    "party_size": 2,
                    "note": "",
                    "status": "booked",
                    "created_at": NOW - timedelta(days=3),
                }
            )
    for model, rows in (
        (MemberRow, people),
        (IdentityRow, chats),
        (SaleRow, sales),
        (LedgerRow, lots),
        (CouponRow, coupons),
        (BookingRow, visits),
    ):
        await _insert(ctx, model.__table__, rows)  # type: ignore[arg-type]
    print(
        f"{members} members, {len(sales)} sales and lots, {len(coupons)} coupons, "
        f"{len(visits)} bookings"
    )


async def main(members: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        await migrate.upgrade(db)
        ctx = Context(db=db, shop=load_shop(), clock=FixedClock(NOW), zone=ZONE)
        await sync_shop(ctx)
        await _fill(ctx, members)
        jobs: list[tuple[str, Callable[[Context], Awaitable[int]]]] = [
            ("birthdays", wish_birthdays),
            ("win-back", win_back),
            ("booking reminders", remind_bookings),
            ("points expiring", remind_expiring_points),
            ("coupons expiring", remind_expiring_coupons),
        ]
        for name, job in jobs:
            for run in ("first", "again"):
                started = time.perf_counter()
                queued = await job(ctx)
                took = time.perf_counter() - started
                print(f"{name:18} {run:5}: {queued:6} queued in {took:6.2f} s")
        async with db.read() as s:
            print("outbox rows:", await s.scalar(select(func.count(OutboxRow.id))))
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().members))
