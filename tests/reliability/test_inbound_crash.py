"""Real ``memberbot serve`` workers killed with SIGKILL in the middle of a load of clerk
sales — over WeChat (signed, encrypted XML) and Telegram (webhook updates) — then started
again, while the platforms do what they do with a request that got no answer: WeChat
posts the same MsgId again, Telegram the same update_id. Every sale is recorded exactly
once, and no delivery is left "processing".

On SQLite one worker is killed and restarted; on PostgreSQL two workers share the load
behind a round-robin "load balancer", one is killed, restarted, and the retries land on
either. Answered messages are sent once more as well: a duplicate of a message already
done is not processed again. Sales carry their receipt numbers, as a till's do.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from core.clock import FixedClock, SystemClock
from core.context import Context
from core.people.staff import add_staff
from storage.models import DeliveryRow, LedgerRow, MemberRow, SaleRow, WorkerRow
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.wechat_sim import AES_KEY, APP_ID, TOKEN, WeChatSimulator
from tests.test_end_to_end import MEMBERBOT, STARTUP_TIMEOUT, free_port, process_env

SALES = 150  # per channel
CLERKS = 8  # per channel
IN_FLIGHT = 24  # requests the platforms have open at once
KILL_AFTER = 60  # answers before the kill
RETRIES = 3  # WeChat's; Telegram tries longer, but three is plenty here
SECRET = "crash-test-secret"


@dataclass
class Message:
    """One sale as the platform holds it until it gets an answer."""

    channel: str
    receipt: str
    wechat_xml: str = ""
    update: dict[str, Any] | None = None
    answered: bool = False


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    url: str


async def shop(ctx: Context) -> None:
    """Members with phones, and clerks on both channels."""
    now = ctx.now()
    members = [
        {
            "id": n,
            "name": f"M{n}",
            "phone": f"+86139{n:08d}",
            "locale": "en",
            "marketing_consent": False,
            "tier": "member",
            "registered_at": now,
        }
        for n in range(1, SALES + 1)
    ]
    async with ctx.db.transaction() as s:
        await s.execute(insert(MemberRow), members)
    for k in range(CLERKS):
        await add_staff(
            ctx, channel="wechat", external_id=f"o-clerk-{k}", role="clerk", store="main"
        )
        await add_staff(
            ctx, channel="telegram", external_id=str(90_000 + k), role="clerk", store="main"
        )


def load(wechat: WeChatSimulator, telegram: FakeTelegram) -> list[Message]:
    """The sales, WeChat's and Telegram's interleaved; each member buys on both."""
    messages = []
    for n in range(1, SALES + 1):
        sale = f"/sale 139{n:08d} 300"
        clerk = n % CLERKS
        xml = wechat.text_xml(f"o-clerk-{clerk}", f"{sale} WX-{n}")
        messages.append(Message("wechat", f"WX-{n}", wechat_xml=xml))
        update = telegram.message_update(90_000 + clerk, f"{sale} TG-{n}")
        messages.append(Message("telegram", f"TG-{n}", update=update))
    return messages


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # WeChat gives up on an answer after 5 seconds; the test waits a little longer.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def start(env: dict[str, str], cwd: Path, name: str) -> Worker:
    port = free_port()
    log = (cwd / f"{name}.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "serve",
        "--no-pushes",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in itertools.count():
            assert process.returncode is None, (cwd / f"{name}.log").read_text()
            try:
                async with session.get(f"{url}/health") as response:
                    if response.status == 200:
                        return Worker(process, url)
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)  # polling for readiness, not timing the test
    raise AssertionError("unreachable")


async def deliver(
    http: aiohttp.ClientSession, sims: dict[str, WeChatSimulator], message: Message, url: str
) -> bool:
    """One delivery attempt; True when the platform got its answer (anything but a broken
    connection, a time-out or a 5xx)."""
    try:
        if message.channel == "wechat":
            answer = await sims.setdefault(
                url, WeChatSimulator(http, f"{url}/wechat", clock=SystemClock())
            ).post(message.wechat_xml)
            return answer.status == 200
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(f"{url}/telegram", json=message.update, headers=headers) as response:
            await response.read()
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def test_workers_killed_mid_load_lose_no_sale_and_record_none_twice(
    ctx: Context, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    assert isinstance(ctx.clock, FixedClock)
    ctx.clock.set(datetime.now(UTC))  # serve runs on the real clock
    await shop(ctx)
    async with FakeTelegram() as telegram:
        env = process_env(ctx) | {
            "MEMBERBOT_LOG_LEVEL": "WARNING",
            "MEMBERBOT_WECHAT_TOKEN": TOKEN,
            "MEMBERBOT_WECHAT_APP_ID": APP_ID,
            "MEMBERBOT_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "MEMBERBOT_TELEGRAM_TOKEN": telegram.token,
            "MEMBERBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "MEMBERBOT_TELEGRAM_API_BASE": telegram.base_url,
        }
        names = ["a"] if ctx.db.is_sqlite else ["a", "b"]
        workers = list(await asyncio.gather(*(start(env, tmp_path, name) for name in names)))
        sims: dict[str, WeChatSimulator] = {}
        messages = load(WeChatSimulator(http, "", clock=SystemClock()), telegram)
        try:
            victim = workers[0]
            killed = asyncio.Event()
            answered = 0
            slots = asyncio.Semaphore(IN_FLIGHT)
            turn = itertools.count()

            async def first(message: Message) -> None:
                nonlocal answered
                async with slots:
                    living = [w for w in workers if w.process.returncode is None] or workers
                    url = living[next(turn) % len(living)].url
                    message.answered = await deliver(http, sims, message, url)
                answered += message.answered
                if answered >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    os.kill(victim.process.pid, signal.SIGKILL)
                    await victim.process.wait()

            await asyncio.gather(*(first(m) for m in messages))
            assert killed.is_set()
            # The kill caught messages mid-processing: claimed by the dead worker.
            async with ctx.db.read() as s:
                caught = await s.scalar(
                    select(func.count())
                    .select_from(DeliveryRow)
                    .join(WorkerRow, WorkerRow.id == DeliveryRow.worker_id)
                    .where(DeliveryRow.status == "processing", WorkerRow.pid == victim.process.pid)
                )
            assert caught, "the kill caught no message mid-processing: make the load heavier"
            unanswered = [m for m in messages if not m.answered]
            assert unanswered

            workers[0] = await start(env, tmp_path, names[0])  # restarted
            again = unanswered + [m for m in messages if m.answered][::10]  # and duplicates
            for attempt in range(RETRIES):
                pending = [m for m in again if not m.answered or attempt == 0]
                results = await asyncio.gather(
                    *(
                        deliver(http, sims, m, workers[i % len(workers)].url)
                        for i, m in enumerate(pending)
                    )
                )
                for message, ok in zip(pending, results, strict=True):
                    message.answered = message.answered or ok
            assert all(m.answered for m in messages)
        finally:
            for worker in workers:
                if worker.process.returncode is None:
                    worker.process.send_signal(signal.SIGINT)
            for worker in workers:
                await asyncio.wait_for(worker.process.wait(), STARTUP_TIMEOUT)

    async with ctx.db.read() as s:
        receipts = list(await s.scalars(select(SaleRow.receipt_no)))
        earned = await s.scalar(
            select(func.count()).select_from(LedgerRow).where(LedgerRow.sale_id.is_not(None))
        )
        processing = await s.scalar(
            select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == "processing")
        )
    assert sorted(receipts) == sorted(m.receipt for m in messages)  # each once
    assert earned == len(messages)  # and its points once
    assert processing == 0
