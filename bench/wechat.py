"""WeChat round trip: the real ``memberbot serve`` on loopback (SQLite in a temporary folder,
a shop of 10 000 members who follow the account) answering "积分" from distinct members, 50
at a time, in plaintext and in AES safe mode; and, in the same run, a baseline server that
only checks the signature, parses and echoes (``bench/baseline_wechat.py``), and the floor:
the echo plus memberbot's statements for the message run straight on sqlite3
(``bench/floor_wechat.py``).

Reports requests/s, p50/p95/p99 latency, the full stack's throughput as a share of the
baseline's, the floor's (an upper bound for any server doing this work on aiohttp and
SQLite), and the peak memory of ``memberbot serve``.

    .venv/bin/python -m bench wechat [--requests 5000] [--concurrency 50] [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from bench.common import (
    Load,
    Server,
    bench_server,
    fill_shop,
    free_port,
    load,
    load_on,
    memberbot,
    shop_database,
    utc_now,
    write_results,
)
from bench.wechat_load import AES_KEY, APP_ID, TOKEN, text_requests

CONTENT = "积分"


async def _measure(server: Server, members: list[str], concurrency: int) -> dict[str, Load]:
    url = server.url + "/wechat"
    half = len(members) // 2
    results = {}
    for mode, openids in (("plaintext", members[:half]), ("aes", members[half:])):
        requests = text_requests(url, openids, CONTENT, safe=mode == "aes")
        await load(requests[:50], min(concurrency, 10))  # warm-up: imports, caches, pool
        results[mode] = await load_on(server, requests[50:], concurrency)
    return results


async def main(requests: int, concurrency: int, members: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = f"sqlite+aiosqlite:///{work / 'memberbot.db'}"
        ctx = await shop_database(url, utc_now())
        print(await fill_shop(ctx, members, channel="wechat"))
        await ctx.db.dispose()
        shutil.copy(work / "memberbot.db", work / "floor.db")  # the same shop, untouched
        openids = [f"o-{n}" for n in range(1, members + 1)]
        wanted = 2 * (requests + 50)
        talkers = (openids * (wanted // len(openids) + 1))[:wanted]

        port = free_port()
        env = {
            "MEMBERBOT_DATABASE_URL": url,
            "MEMBERBOT_WECHAT_TOKEN": TOKEN,
            "MEMBERBOT_WECHAT_APP_ID": APP_ID,
            "MEMBERBOT_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "MEMBERBOT_PORT": str(port),
        }
        full = Server(memberbot("serve"), env, port, work / "serve.log")
        try:
            await full.ready()
            stack = await _measure(full, talkers, concurrency)
            peak = full.peak_rss_mb()
        finally:
            full.stop()

        base = await _measure_module(["bench.baseline_wechat"], work, talkers, concurrency)
        floor = await _measure_module(
            ["bench.floor_wechat", str(work / "floor.db")], work, talkers, concurrency
        )

    figures: dict[str, object] = {"members": members, "concurrency": concurrency}
    for mode in ("plaintext", "aes"):
        print(stack[mode].line(f"memberbot {mode}"))
        print(base[mode].line(f"baseline {mode}"))
        print(floor[mode].line(f"floor {mode}"))
        ratio = stack[mode].rate / base[mode].rate
        print(f"{'ratio full / baseline':28} {ratio:8.2f}")
        reachable = floor[mode].rate / base[mode].rate
        print(f"{'ratio floor / baseline':28} {reachable:8.2f}  (upper bound)")
        of_floor = stack[mode].rate / floor[mode].rate
        print(f"{'ratio full / floor':28} {of_floor:8.2f}  (target ≥ 0.8)")
        figures[mode] = {
            "memberbot": stack[mode].figures(),
            "baseline": base[mode].figures(),
            "floor": floor[mode].figures(),
            "ratio": round(ratio, 3),
            "floor_ratio": round(reachable, 3),
            "of_floor": round(of_floor, 3),
        }
    print(f"{'peak RSS of memberbot serve':28} {peak:8.1f} MB  (target < 250 MB)")
    figures["peak_rss_mb"] = round(peak, 1)
    aes = stack["aes"].figures()
    write_results(
        "wechat",
        figures,
        f"wechat: {aes['requests_per_s']} req/s AES, p99 {aes['p99_ms']} ms (target < 100), "
        f"of the floor {figures['aes']['of_floor']} / {figures['plaintext']['of_floor']} "  # type: ignore[index]
        f"(target ≥ 0.8); ratio to the echo {figures['aes']['ratio']} "  # type: ignore[index]
        f"(plaintext {figures['plaintext']['ratio']}; "  # type: ignore[index]
        f"floor {figures['aes']['floor_ratio']} / {figures['plaintext']['floor_ratio']}), "  # type: ignore[index]
        f"peak RSS {peak:.0f} MB",
    )


async def _measure_module(
    module: list[str], work: Path, talkers: list[str], concurrency: int
) -> dict[str, Load]:
    """Start one of the reference servers (``python -m MODULE PORT [ARGS]``) and measure it."""
    server = bench_server(work, *module)
    try:
        await server.ready()
        return await _measure(server, talkers, concurrency)
    finally:
        server.stop()


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench wechat", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args(argv)
    asyncio.run(main(args.requests, args.concurrency, args.members))
