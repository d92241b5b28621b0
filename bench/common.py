"""What every benchmark shares: a big shop written straight into a fresh database, servers
started as processes of their own, a load generator, percentiles, and the results file.

Benchmarks print their figures and end with one summary line; the figures are also written
as JSON to ``bench/results/<name>.json``. They are never part of the test suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import Table, insert, select

from bot.composition import shop_context
from core.clock import FixedClock
from core.context import Context
from core.shop_file import load_shop
from storage import migrate
from storage.db import Database
from storage.models import (
    BookingRow,
    CouponRow,
    IdentityRow,
    LedgerRow,
    MemberRow,
    RewardRow,
    SaleRow,
    StoreRow,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHUNK = 5_000


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "at": time.time()}


def write_results(name: str, figures: dict[str, Any], summary: str) -> Path:
    """Print the summary line and keep the figures as JSON."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps({"benchmark": name, "machine": machine(), **figures}, indent=2) + "\n"
    )
    print(summary)
    return path


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: dict[int, int]
    server_cpu: float | None = None  # seconds of CPU the server's process used meanwhile

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, float]:
        ms = [x * 1000 for x in self.latencies]
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(self.rate, 1),
            "p50_ms": round(percentile(ms, 0.50), 2),
            "p95_ms": round(percentile(ms, 0.95), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_cpu_ms_per_request": self.cpu_per_request(),
        }

    def cpu_per_request(self) -> float | None:
        """The server's CPU per request, in ms: what bounds its throughput on a busy core."""
        if self.server_cpu is None or not self.requests:
            return None
        return round(self.server_cpu / self.requests * 1000, 3)

    def line(self, label: str) -> str:
        f = self.figures()
        cpu = "" if self.server_cpu is None else f"  CPU {self.cpu_per_request():.2f} ms/req"
        return (
            f"{label:28} {f['requests_per_s']:8.1f} req/s  p50 {f['p50_ms']:7.2f} ms  "
            f"p95 {f['p95_ms']:7.2f} ms  p99 {f['p99_ms']:7.2f} ms{cpu}  {f['statuses']}"
        )


Request = tuple[str, dict[str, str], bytes, dict[str, str]]  # url, query, body, headers


async def load(requests: Sequence[Request], concurrency: int) -> Load:
    """Send every request once, ``concurrency`` at a time, over keep-alive connections."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                url, query, body, headers = queue.pop()
                began = time.perf_counter()
                async with session.post(url, params=query, data=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return Load(len(requests), seconds, latencies, statuses)


async def load_on(server: Server, requests: Sequence[Request], concurrency: int) -> Load:
    """``load``, with the CPU the server's process used meanwhile."""
    before = server.cpu_seconds()
    measured = await load(requests, concurrency)
    return replace(measured, server_cpu=server.cpu_seconds() - before)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A process serving HTTP on loopback, started and waited for, stopped with SIGINT."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.process = subprocess.Popen(
            args,
            env={**os.environ, **env},
            cwd=log.parent,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, path: str = "/health", timeout: float = 60) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: see {self.log}")
                try:
                    async with session.get(self.url + path) as response:
                        if response.status < 500:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"server not ready: see {self.log}")

    def cpu_seconds(self) -> float:
        """The CPU time (user and system) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (VmHWM), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def bench_server(folder: Path, module: str, *args: str) -> Server:
    """``python -m MODULE PORT ARGS…`` (a reference server of ``bench/``) on a free port,
    logging to ``folder``."""
    port = free_port()
    log = folder / f"{module.removeprefix('bench.')}_{port}.log"
    command = [sys.executable, "-m", module, str(port), *args]
    return Server(command, {"PYTHONPATH": str(ROOT)}, port, log)


@contextlib.asynccontextmanager
async def fake_bot_api(folder: Path, limit: int | None = None) -> AsyncIterator[Server]:
    """``bench.fake_bot_api`` in a process of its own, as Telegram is: answering the Bot API
    on the load generator's loop would delay the generator and inflate its latencies."""
    api = bench_server(folder, "bench.fake_bot_api", *([str(limit)] if limit else []))
    try:
        await api.ready("/stats")
        yield api
    finally:
        api.stop()


async def bot_api_stats(api: Server) -> dict[str, Any]:
    """What ``bench.fake_bot_api`` counted so far."""
    async with aiohttp.ClientSession() as session, session.get(api.url + "/stats") as response:
        stats: dict[str, Any] = await response.json()
        return stats


def memberbot(*args: str) -> list[str]:
    """The installed ``memberbot`` command, beside this Python."""
    return [str(Path(sys.executable).parent / "memberbot"), *args]


# --- a big shop -----------------------------------------------------------------------------

ZONE = ZoneInfo("Asia/Shanghai")


async def shop_database(url: str, now: datetime) -> Context:
    """A migrated database with the shop file synced, on a clock standing at ``now``."""
    db = Database(url)
    await migrate.upgrade(db)
    return await shop_context(db, load_shop(), FixedClock(now), ZONE)


async def _insert(ctx: Context, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with ctx.db.transaction() as s:
            await s.execute(insert(table), rows[start : start + CHUNK])


async def fill_shop(ctx: Context, members: int, *, channel: str = "telegram") -> str:
    """``members`` members, each with a chat account on ``channel`` (external id: the member
    id, prefixed ``o-`` on WeChat), a birthday, marketing consent for 70 %, up to 8 purchases
    over three years with their points lots, some coupons and bookings — written in bulk, not
    through the use cases, so that a shop of 100 000 takes seconds. Returns a summary."""
    now = ctx.now()
    rnd = random.Random(7)
    async with ctx.db.read() as s:
        store = await s.scalar(select(StoreRow.id).where(StoreRow.code == "main"))
        reward = await s.scalar(select(RewardRow.id).where(RewardRow.code == "coupon10"))
    people, chats, sales, lots, coupons, visits = [], [], [], [], [], []
    prefix = "o-" if channel == "wechat" else ""
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
                "registered_at": now - timedelta(days=1100),
            }
        )
        chats.append(
            {
                "channel": channel,
                "external_id": f"{prefix}{n}",
                "member_id": n,
                "reachable": True,
                "created_at": now - timedelta(days=1100),
            }
        )
        for _ in range(rnd.randrange(0, 9)):
            sold_at = now - timedelta(days=rnd.uniform(1, 1095))
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
            issued = now - timedelta(days=rnd.uniform(0, 30))
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
                    "starts_at": now + timedelta(hours=rnd.uniform(1, 72)),
                    "party_size": 2,
                    "note": "",
                    "status": "booked",
                    "created_at": now - timedelta(days=3),
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
    return (
        f"{members} members, {len(sales)} sales and lots, {len(coupons)} coupons, "
        f"{len(visits)} bookings"
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
