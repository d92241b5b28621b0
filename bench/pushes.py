"""Push fan-out on a shop of 100 000 members (SQLite): how long the scheduled jobs
(birthday, win-back, reminders) take to select and enqueue, on their first run and again;
how fast the dispatcher drains the outbox into a fake Bot API server with the rate limit
off; and, with Telegram's 30 messages a second on, the rate it keeps for 20 seconds and how
many 429 answers it gets from a server that enforces 30/s. The fake server runs in a
process of its own, as Telegram does not share the dispatcher's CPU.

    .venv/bin/python -m bench pushes [--members 100000] [--messages 20000] [--paced-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete, insert

from bench.common import (
    bot_api_stats,
    fake_bot_api,
    fill_shop,
    shop_database,
    utc_now,
    write_results,
)
from bench.fake_bot_api import TOKEN
from bot import event_loop
from bot.dialogs.registry import create_dialogs
from bot.handlers.telegram import TelegramChannel, TelegramPushes, create_bot
from bot.pushes.dispatcher import PushDispatcher
from core.clock import SystemClock
from core.context import Context
from core.pushes.birthdays import wish_birthdays
from core.pushes.reminders import remind_bookings, remind_expiring_coupons, remind_expiring_points
from core.pushes.winback import win_back
from storage.models import OutboxRow


async def _timed(job: object, ctx: Context) -> tuple[int, float]:
    began = time.perf_counter()
    with ctx.db.threaded():  # as the scheduler runs it
        queued = await job(ctx)  # type: ignore[operator]
    return queued, time.perf_counter() - began


async def _queue_receipts(ctx: Context, count: int, members: int, tag: str) -> None:
    now = ctx.now()
    rows = [
        {
            "member_id": 1 + n % members,
            "kind": "receipt",
            "params": {
                "store": "main",
                "receipt_no": f"{tag}-{n}",
                "amount_fen": 10_000,
                "points": 10,
                "balance": 10,
                "tier": "member",
            },
            "dedup_key": f"bench:{tag}:{n}",
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n in range(count)
    ]
    for start in range(0, len(rows), 5000):
        async with ctx.db.transaction() as s:
            await s.execute(insert(OutboxRow), rows[start : start + 5000])


async def _drain(ctx: Context, api_url: str, *, limit: bool, seconds: float | None) -> float:
    channel = TelegramChannel(ctx, create_dialogs(ctx), create_bot(TOKEN, api_url))
    dispatcher = PushDispatcher(
        ctx, {"telegram": TelegramPushes(channel)}, telegram_limit=limit, concurrency=16
    )
    began = time.perf_counter()
    try:
        if seconds is None:
            await dispatcher.drain()
        else:
            with contextlib.suppress(TimeoutError):  # it runs until stopped
                await asyncio.wait_for(dispatcher.run(), seconds)
    finally:
        await channel.close()
    return time.perf_counter() - began


async def main(members: int, messages: int, paced_seconds: int) -> None:
    figures: dict[str, object] = {"members": members}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        ctx = await shop_database(url, utc_now())
        print(await fill_shop(ctx, members))
        jobs = (
            ("birthdays", wish_birthdays),
            ("winback", win_back),
            ("booking_reminders", remind_bookings),
            ("points_expiring", remind_expiring_points),
            ("coupons_expiring", remind_expiring_coupons),
        )
        for name, job in jobs:
            queued, took = await _timed(job, ctx)
            again, took_again = await _timed(job, ctx)
            print(
                f"{name:18} {queued:6} queued in {took:6.2f} s; "
                f"again: {again} in {took_again:.2f} s"
            )
            figures[name] = {
                "queued": queued,
                "seconds": round(took, 3),
                "again_seconds": round(took_again, 3),
            }
        # The jobs' own rows wait for the morning; drain what follows on a real clock.
        async with ctx.db.transaction() as s:
            await s.execute(delete(OutboxRow))
        live = replace(ctx, clock=SystemClock())

        await _queue_receipts(live, messages, members, "free")
        async with fake_bot_api(folder) as api:
            took = await _drain(live, api.url, limit=False, seconds=None)
            sent = (await bot_api_stats(api))["sent"]
        rate = sent / took
        print(
            f"dispatcher, no limit: {sent} messages in {took:.2f} s = {rate:.0f}/s "
            "(target ≥ 1000/s)"
        )
        figures["unlimited"] = {
            "messages": sent,
            "seconds": round(took, 3),
            "per_second": round(rate, 1),
        }

        await _queue_receipts(live, 40 * paced_seconds, members, "paced")
        async with fake_bot_api(folder, limit=30) as api:
            await _drain(live, api.url, limit=True, seconds=paced_seconds)
            paced = await bot_api_stats(api)
        # The rate after the first second (the start is a burst), over the rest of the run.
        sent_at = paced["sent_at"]
        first = sent_at[0] if sent_at else 0.0
        steady = [t for t in sent_at if first + 1 <= t < first + paced_seconds]
        achieved = len(steady) / (paced_seconds - 1)
        print(
            f"dispatcher at 30/s: {paced['sent']} sent in {paced_seconds} s, steady "
            f"{achieved:.1f}/s (target 28–30), {paced['refused']} answered 429 (target 0)"
        )
        figures["paced"] = {
            "sent": paced["sent"],
            "seconds": paced_seconds,
            "per_second": round(achieved, 2),
            "refused_429": paced["refused"],
        }
        await ctx.db.dispose()
    b, w = figures["birthdays"], figures["winback"]
    write_results(
        "pushes",
        figures,
        f"pushes: birthdays {b['seconds']} s, win-back {w['seconds']} s for {members} members "  # type: ignore[index]
        f"(target < 5 s); dispatcher {rate:.0f}/s unlimited (≥ 1000), "
        f"{achieved:.1f}/s paced (28–30) with {paced['refused']} 429s",
    )


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench pushes", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--paced-seconds", type=int, default=20)
    args = parser.parse_args(argv)
    # The loop memberbot's processes run on.
    event_loop.run(main(args.members, args.messages, args.paced_seconds))
