"""Till API: sales recorded per second and their latency through ``POST /api/v1/sales`` of the
real ``memberbot serve --no-pushes`` on loopback (SQLite in a temporary folder, a shop of
10 000 members, a key made by the use case ``memberbot api-key create`` calls), 20 at a
time; beside the same sales recorded by direct calls of ``core.loyalty.record_sale`` on a
copy of the same database, 20 asyncio tasks at a time, in the same run. Then 200 of the
sales are sent again: every answer must be a replay and the database must hold no more sales.

The per-key rate limit is raised out of the way (``MEMBERBOT_API_RATE_PER_SECOND`` and
``_BURST``): this measures the API's throughput, not its limiter. The web worker runs
without the push dispatcher, as a ``serve --no-pushes`` worker does; the direct calls do
not deliver pushes either (both queue the receipt push).

    .venv/bin/python -m bench api [--requests 2000] [--concurrency 20] [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

from bench.common import (
    Load,
    Request,
    Server,
    fill_shop,
    free_port,
    load,
    load_on,
    memberbot,
    percentile,
    shop_database,
    utc_now,
    write_results,
)
from bot import event_loop
from core import audit
from core.clock import SystemClock
from core.engagement.products import IMPORT, SaleLine
from core.integrations.api_keys import create_key
from core.loyalty import record_sale
from core.people.members import format_member_no
from storage.models import ProductRow

STORE = "main"
KEY_NAME = "bench-till"
WARM_UP = 50
RETRIES = 200
UNLIMITED = "1000000"  # calls a second and burst: the limiter never answers 429
PRODUCTS = (("latte", 2_800), ("mocha", 3_200), ("bagel", 1_500))


@dataclass(frozen=True)
class Sale:
    """One till sale: what the API is sent and what the direct call is given."""

    receipt_no: str
    member_id: int
    by_phone: bool
    amount_fen: int
    lines: tuple[tuple[str, int, int], ...]  # product, quantity, amount in fen
    idempotency_key: str | None

    def body(self) -> bytes:
        member = (
            {"phone": f"139{self.member_id:08d}"}
            if self.by_phone
            else {"member_no": format_member_no(self.member_id)}
        )
        sale: dict[str, Any] = {
            "store": STORE,
            "receipt_no": self.receipt_no,
            "member": member,
            "amount_fen": self.amount_fen,
        }
        if self.lines:
            sale["lines"] = [
                {"product": p, "quantity": q, "amount_fen": a} for p, q, a in self.lines
            ]
        return json.dumps(sale).encode()


def plan(prefix: str, count: int, members: int, rnd: random.Random) -> list[Sale]:
    """``count`` sales with distinct receipts by members all over the shop: 60 % named by
    phone, the rest by member number; 5 % list products; half carry an Idempotency-Key."""
    sales = []
    for n in range(count):
        amount = rnd.randrange(500, 60_000)
        lines: tuple[tuple[str, int, int], ...] = ()
        if rnd.random() < 0.05:
            product, price = rnd.choice(PRODUCTS)
            quantity = 1 + rnd.randrange(3)
            amount = max(amount, price * quantity)
            lines = ((product, quantity, price * quantity),)
        sales.append(
            Sale(
                receipt_no=f"{prefix}{n:06d}",
                member_id=1 + rnd.randrange(members),
                by_phone=rnd.random() < 0.6,
                amount_fen=amount,
                lines=lines,
                idempotency_key=f"pos-{prefix}{n}" if n % 2 else None,
            )
        )
    return sales


def requests_of(url: str, key: str, sales: list[Sale]) -> list[Request]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return [
        (
            url,
            {},
            sale.body(),
            headers | ({"Idempotency-Key": sale.idempotency_key} if sale.idempotency_key else {}),
        )
        for sale in sales
    ]


def count_sales(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM sales").fetchone()[0])


async def seed(url: str, members: int) -> str:
    """The shop, a few products of the catalogue and the till's key; returns the key."""
    ctx = await shop_database(url, utc_now())
    try:
        print(await fill_shop(ctx, members))
        async with ctx.db.transaction() as s:
            await s.execute(
                insert(ProductRow.__table__),
                [
                    {"code": code, "name": code, "name_en": code, "category": "cafe"}
                    | {"price_fen": price, "source": IMPORT, "active": True}
                    for code, price in PRODUCTS
                ],
            )
        _view, key = await create_key(ctx, name=KEY_NAME, store=STORE)
        return key
    finally:
        await ctx.db.dispose()


async def retry(server: Server, requests: list[Request], concurrency: int) -> dict[str, int]:
    """Send the requests again, counting the answers that say they are replays."""
    counts = {"sent": 0, "replayed": 0, "other": 0}
    queue = list(requests)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            while queue:
                url, _query, body, headers = queue.pop()
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    replayed = response.headers.get("Idempotent-Replayed") == "true"
                    counts["sent"] += 1
                    counts["replayed" if response.status == 201 and replayed else "other"] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


async def through_api(
    work: Path, url: str, key: str, warm: list[Sale], sales: list[Sale], concurrency: int
) -> tuple[Load, dict[str, int]]:
    port = free_port()
    env = {
        "MEMBERBOT_DATABASE_URL": url,
        "MEMBERBOT_PORT": str(port),
        "MEMBERBOT_API_RATE_PER_SECOND": UNLIMITED,
        "MEMBERBOT_API_RATE_BURST": UNLIMITED,
    }
    server = Server(memberbot("serve", "--no-pushes"), env, port, work / "serve.log")
    try:
        await server.ready()
        endpoint = server.url + "/api/v1/sales"
        await load(requests_of(endpoint, key, warm), min(concurrency, 10))  # imports, pool
        sent = requests_of(endpoint, key, sales)
        measured = await load_on(server, sent, concurrency)
        before = count_sales(work / "api.db")
        again = await retry(server, sent[:: max(1, len(sent) // RETRIES)][:RETRIES], concurrency)
        again["new_sales"] = count_sales(work / "api.db") - before
        return measured, again
    finally:
        server.stop()


async def direct(url: str, warm: list[Sale], sales: list[Sale], concurrency: int) -> Load:
    """The same sales by ``record_sale`` itself, on the loop memberbot runs on."""
    ctx = replace(await shop_database(url, utc_now()), clock=SystemClock())
    actor = audit.api_actor(KEY_NAME)
    latencies: list[float] = []
    failed = 0

    async def one(sale: Sale) -> None:
        await record_sale(
            ctx,
            store=STORE,
            receipt_no=sale.receipt_no,
            member_id=sale.member_id,
            amount_fen=sale.amount_fen,
            lines=[SaleLine(p, q, a) for p, q, a in sale.lines],
            actor=actor,
        )

    async def writers(todo: list[Sale], times: list[float]) -> None:
        queue = list(reversed(todo))

        async def writer() -> None:
            nonlocal failed
            while queue:
                sale = queue.pop()
                began = time.perf_counter()
                try:
                    await one(sale)
                except Exception:  # counted, not hidden: the figure says how many
                    failed += 1
                times.append(time.perf_counter() - began)

        await asyncio.gather(*(writer() for _ in range(concurrency)))

    try:
        await writers(warm, [])
        cpu, began = time.process_time(), time.perf_counter()
        await writers(sales, latencies)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        await ctx.db.dispose()
    done = {201: len(sales) - failed} | ({500: failed} if failed else {})
    return Load(len(sales), seconds, latencies, done, server_cpu=cpu)


async def main(requests: int, concurrency: int, members: int) -> int:
    rnd = random.Random(24)
    warm, sales = plan("W", WARM_UP, members, rnd), plan("A", requests, members, rnd)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = f"sqlite+aiosqlite:///{work / 'api.db'}"
        key = await seed(url, members)
        shutil.copy(work / "api.db", work / "direct.db")  # the same shop, untouched
        seeded = count_sales(work / "api.db")
        api, again = await through_api(work, url, key, warm, sales, concurrency)
        recorded = count_sales(work / "api.db") - seeded - len(warm)
        core = await direct(f"sqlite+aiosqlite:///{work / 'direct.db'}", warm, sales, concurrency)

    ratio = api.rate / core.rate
    p99 = percentile(api.latencies, 0.99) * 1000
    print(api.line("API POST /api/v1/sales"))
    print(core.line("direct record_sale"))
    print(f"{'ratio API / direct':28} {ratio:8.2f}  (target ≥ 0.5)")
    print(f"{'p99 through the API':28} {p99:8.1f} ms  (target < 100 ms)")
    print(f"{'sales recorded by the API':28} {recorded:8d}  of {len(sales)} sent")
    replays_ok = again["replayed"] == again["sent"] and again["new_sales"] == 0
    print(
        f"{'retries of sent sales':28} {again['sent']:8d}  replayed {again['replayed']}, "
        f"other answers {again['other']}, new sales {again['new_sales']}"
        + ("" if replays_ok else "  — DUPLICATES OR LOST REPLAYS")
    )
    figures = {
        "members": members,
        "concurrency": concurrency,
        "api": api.figures(),
        "direct": core.figures(),
        "ratio": round(ratio, 3),
        "recorded": recorded,
        "retries": again,
    }
    write_results(
        "api",
        figures,
        f"api: {api.rate:.0f} sales/s, p99 {p99:.1f} ms (target < 100), direct "
        f"{core.rate:.0f} sales/s, ratio {ratio:.2f} (target ≥ 0.5); CPU "
        f"{api.cpu_per_request()} ms a sale in serve, {core.cpu_per_request()} direct; "
        f"retries: {again['replayed']}/{again['sent']} replayed, {again['new_sales']} new sales",
    )
    return 0 if replays_ok and recorded == len(sales) else 1


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench api", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args(argv)
    # The loop memberbot's processes run on, for the direct calls as for serve.
    if event_loop.run(main(args.requests, args.concurrency, args.members)):
        raise SystemExit(1)
