"""Ledger: sales recorded per second and rewards redeemed per second through the core use
cases, by one writer and by 20 concurrent writers, on SQLite and (with ``--pg URL``, an
empty database it may fill) on PostgreSQL; counting any "database is locked" error.

    .venv/bin/python -m bench ledger [--operations 2000] [--pg postgresql+asyncpg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import fill_shop, shop_database, utc_now, write_results
from bot import event_loop
from core import loyalty
from core.clock import SystemClock
from core.context import Context
from core.ledger.coupons import redeem_reward
from storage.models import Base

MEMBERS = 2000


async def _run(ctx: Context, writers: int, operations: int, work: Any) -> dict[str, Any]:
    numbers = itertools.count()
    locked = 0
    failed = 0

    async def writer() -> None:
        nonlocal locked, failed
        while (n := next(numbers)) < operations:
            try:
                await work(ctx, n)
            except Exception as exc:  # counted, not hidden: the figure says how many
                failed += 1
                locked += "locked" in str(exc)

    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    took = time.perf_counter() - began
    return {
        "writers": writers,
        "operations": operations,
        "seconds": round(took, 3),
        "per_second": round(operations / took, 1),
        "failed": failed,
        "database_locked": locked,
    }


async def _sale(ctx: Context, n: int) -> None:
    await loyalty.record_sale(
        ctx,
        store="main",
        receipt_no=f"L-{n}",
        member_id=1 + n % MEMBERS,
        amount_fen=12_300,
        notify=True,
    )


async def _redeem(ctx: Context, n: int) -> None:
    await redeem_reward(ctx, 1 + n % MEMBERS, "coupon10")


async def _database(url: str) -> Context:
    ctx = await shop_database(url, utc_now())
    if not ctx.db.is_sqlite:  # start from nothing, as on SQLite
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with ctx.db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await ctx.db.dispose()
        ctx = await shop_database(url, utc_now())
    await fill_shop(ctx, MEMBERS)
    return replace(ctx, clock=SystemClock())


async def _measure(url: str, operations: int) -> dict[str, Any]:
    """Each writer count on a fresh database (``{n}`` in a SQLite URL: the writer count)."""
    figures: dict[str, Any] = {}
    for writers in (1, 20):
        ctx = await _database(url.format(n=writers))
        try:
            figures[f"sales_{writers}"] = await _run(ctx, writers, operations, _sale)
            await _top_up(ctx, operations)
            figures[f"redemptions_{writers}"] = await _run(ctx, writers, operations, _redeem)
        finally:
            await ctx.db.dispose()
    return figures


async def _top_up(ctx: Context, operations: int) -> None:
    """Enough points for every planned redemption: one more sale per member of ¥10 000."""
    for member in range(1, MEMBERS + 1):
        await loyalty.record_sale(
            ctx,
            store="main",
            receipt_no=f"TOP-{member}-{operations}",
            member_id=member,
            amount_fen=1_000_000 * (1 + operations // MEMBERS // 100),
            notify=False,
        )


NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _lines(name: str, figures: dict[str, Any]) -> None:
    for key, f in figures.items():
        print(
            f"{name:10} {key:16} {f['per_second']:8.1f}/s  ({f['operations']} in "
            f"{f['seconds']} s, {f['writers']} writers)  failed {f['failed']}, "
            f"database locked {f['database_locked']}"
        )


def _summary(name: str, f: dict[str, Any]) -> str:
    return (
        f"{name} sales {f['sales_1']['per_second']}/s single, "
        f"{f['sales_20']['per_second']}/s with 20 writers; redemptions "
        f"{f['redemptions_1']['per_second']}/s, {f['redemptions_20']['per_second']}/s"
    )


async def main(operations: int, pg: str | None) -> None:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await _measure(
            f"sqlite+aiosqlite:///{Path(folder) / 'ledger-{n}.db'}", operations
        )
    _lines(NAMES["sqlite"], results["sqlite"])
    if pg:
        results["postgresql"] = await _measure(pg, operations)
        _lines(NAMES["postgresql"], results["postgresql"])
    locked = sum(f["database_locked"] for db in results.values() for f in db.values())
    measured = "; ".join(_summary(NAMES[db], f) for db, f in results.items())
    write_results("ledger", results, f"ledger: {measured}; database locked: {locked}")


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=2000)
    parser.add_argument("--pg", help="a PostgreSQL URL whose database may be emptied")
    args = parser.parse_args(argv)
    # The loop memberbot's processes run on.
    event_loop.run(main(args.operations, args.pg))
