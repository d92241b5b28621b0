"""Telegram round trip: the real ``memberbot serve`` on loopback (SQLite in a temporary
folder, a shop of 10 000 members on Telegram) taking webhook updates "积分" from distinct
members, 50 at a time, with the secret-token header checked and each reply sent to a fake
Bot API server over loopback; and, in the same run, a bare aiogram echo dispatcher behind
the same kind of webhook (``bench/baseline_telegram.py``). The fake Bot API runs in a process
of its own, as the real one does, not on the load generator's loop.

    .venv/bin/python -m bench telegram [--requests 5000] [--concurrency 50] [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.common import (
    Load,
    Request,
    Server,
    bench_server,
    bot_api_stats,
    fake_bot_api,
    fill_shop,
    free_port,
    load,
    load_on,
    memberbot,
    shop_database,
    utc_now,
    write_results,
)
from bench.fake_bot_api import TOKEN

SECRET = "bench-secret_1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def updates(url: str, users: list[int], text: str, first_id: int) -> list[Request]:
    now = int(time.time())
    requests: list[Request] = []
    for n, user in enumerate(users):
        update = {
            "update_id": first_id + n,
            "message": {
                "message_id": n + 1,
                "date": now,
                "chat": {"id": user, "type": "private", "first_name": "M"},
                "from": {"id": user, "is_bot": False, "first_name": "M", "language_code": "zh"},
                "text": text,
            },
        }
        headers = {HEADER: SECRET, "Content-Type": "application/json"}
        requests.append((url, {}, json.dumps(update).encode(), headers))
    return requests


async def _measure(
    server: Server, api: Server, users: list[int], requests: int, concurrency: int
) -> tuple[Load, int]:
    """The load, and how many replies reached the Bot API meanwhile."""
    batch = updates(server.url + "/telegram", users[: requests + 50], "积分", 1)
    await load(batch[:50], 10)  # warm-up
    sent = (await bot_api_stats(api))["sent"]
    measured = await load_on(server, batch[50:], concurrency)
    return measured, (await bot_api_stats(api))["sent"] - sent


async def main(requests: int, concurrency: int, members: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        async with fake_bot_api(work) as api:
            url = f"sqlite+aiosqlite:///{work / 'memberbot.db'}"
            ctx = await shop_database(url, utc_now())
            print(await fill_shop(ctx, members, channel="telegram"))
            await ctx.db.dispose()
            users = list(range(1, members + 1)) * ((requests + 50) // members + 1)

            port = free_port()
            env = {
                "MEMBERBOT_DATABASE_URL": url,
                "MEMBERBOT_TELEGRAM_TOKEN": TOKEN,
                "MEMBERBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
                "MEMBERBOT_TELEGRAM_API_BASE": api.url,
                "MEMBERBOT_PORT": str(port),
            }
            full = Server(memberbot("serve"), env, port, work / "serve.log")
            try:
                await full.ready()
                stack, replies = await _measure(full, api, users, requests, concurrency)
                peak = full.peak_rss_mb()
            finally:
                full.stop()

            bare = bench_server(work, "bench.baseline_telegram", api.url, SECRET)
            try:
                await bare.ready()
                base, _ = await _measure(bare, api, users, requests, concurrency)
            finally:
                bare.stop()

    ratio = stack.rate / base.rate
    print(stack.line("memberbot"))
    print(base.line("baseline (aiogram echo)"))
    print(f"{'ratio full / baseline':28} {ratio:8.2f}  (target ≥ 0.33)")
    print(f"{'replies at the Bot API':28} {replies:8d}  for {stack.requests} updates")
    print(f"{'peak RSS of memberbot serve':28} {peak:8.1f} MB  (target < 250 MB)")
    f = stack.figures()
    write_results(
        "telegram",
        {
            "members": members,
            "concurrency": concurrency,
            "memberbot": f,
            "baseline": base.figures(),
            "ratio": round(ratio, 3),
            "replies": replies,
            "peak_rss_mb": round(peak, 1),
        },
        f"telegram: {f['requests_per_s']} req/s, p99 {f['p99_ms']} ms (target < 200), "
        f"ratio {ratio:.3f}, peak RSS {peak:.0f} MB",
    )


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench telegram", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args(argv)
    asyncio.run(main(args.requests, args.concurrency, args.members))
