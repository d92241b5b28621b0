"""A real ``memberbot serve`` killed with SIGKILL in the middle of a 2 000-member campaign,
then started again: every member gets the message exactly once, counted at the fake Bot API,
and once that one stops, none is left in the outbox to go again at a later start.

The kill lands while the dispatcher has messages in flight that Telegram has not taken yet
(the fake holds them, and drops them when their sender is gone, as a cut connection would).
A message Telegram had already taken when the process died, but whose answer never came
back, cannot be told apart from one lost on the way: it goes again after the restart. That
is the one duplicate no sender can rule out without help from the platform, and what
"at most the messages in flight" means; see the README's Pushes section.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from core.clock import FixedClock
from core.context import Context
from core.insights import campaigns
from core.insights.segments import Segment
from core.people.staff import add_staff
from storage.models import IdentityRow, MemberRow, OutboxRow
from tests.channels.fake_telegram import FakeTelegram
from tests.test_end_to_end import MEMBERBOT, free_port, process_env

MEMBERS = 2000
STOP_SECONDS = 60
SHOP = """
[pushes]
telegram_per_second = 1000
telegram_chat_seconds = 0
quiet_start = "00:00"
quiet_end = "00:00"
"""


async def campaign(ctx: Context) -> None:
    """2 000 members on Telegram, sent one campaign by the owner (no holdout): one queued
    message each, as ``/campaign`` queues them."""
    now = ctx.now()
    members = [
        {
            "id": n,
            "name": f"M{n}",
            "phone": f"+86139{n:08d}",
            "locale": "en",
            "marketing_consent": True,
            "tier": "member",
            "registered_at": now,
        }
        for n in range(1, MEMBERS + 1)
    ]
    accounts = [
        {"channel": "telegram", "external_id": str(10_000 + n), "member_id": n, "created_at": now}
        for n in range(1, MEMBERS + 1)
    ]
    async with ctx.db.transaction() as s:
        for model, rows in ((MemberRow, members), (IdentityRow, accounts)):
            await s.execute(insert(model), rows)
    owner = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    sent = await campaigns.create_and_send(
        ctx,
        staff=owner,
        segment=Segment(),
        message="Spring sale, dear members",
        reward=None,
        store=None,
        holdout_percent=0,
    )
    assert sent.campaign_id is not None


async def start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "serve",
        "--port",
        str(free_port()),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stopped(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C, as an operator stops it; a process still there after ``STOP_SECONDS`` is
    killed, so a shutdown that hangs fails the test instead of holding up the suite."""
    process.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await process.wait()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"serve did not stop within {STOP_SECONDS} s of SIGINT") from None


async def test_sigkill_mid_campaign_then_restart_sends_each_message_once(
    ctx: Context, tmp_path: Path
) -> None:
    assert isinstance(ctx.clock, FixedClock)
    ctx.clock.set(datetime.now(UTC))  # serve runs on the real clock
    await campaign(ctx)
    (tmp_path / "shop.toml").write_text(SHOP, encoding="utf-8")
    async with FakeTelegram() as fake:
        env = process_env(ctx) | {
            "MEMBERBOT_SHOP_FILE": str(tmp_path / "shop.toml"),
            "MEMBERBOT_TELEGRAM_TOKEN": fake.token,
            "MEMBERBOT_TELEGRAM_API_BASE": fake.base_url,
        }
        fake.hold_after(700)
        first = await start(env, tmp_path)
        try:
            await fake.wait_until(lambda: fake.held >= 1, timeout=60)
            os.kill(first.pid, signal.SIGKILL)
        finally:
            await first.wait()
        async with ctx.db.read() as s:
            sent_before = await s.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "sent")
            )
        assert 0 < (sent_before or 0) <= 700 < MEMBERS

        fake.hold_after(None)  # the held requests find their sender gone: dropped
        second = await start(env, tmp_path)
        try:
            await fake.wait_for_calls("sendMessage", MEMBERS, timeout=120)
        finally:
            await stopped(second)

    delivered = Counter(
        c.params["chat_id"] for c in fake.calls_to("sendMessage") if c.status == 200
    )
    assert len(delivered) == MEMBERS
    assert set(delivered.values()) == {1}
    async with ctx.db.read() as s:  # and none is left to go again at the next start
        statuses = dict(
            (
                await s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
            ).all()
        )
    assert statuses == {"sent": MEMBERS}
