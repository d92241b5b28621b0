"""Worker leases (``storage.workers``): a claim is held while its worker lives, and is
anyone's once the worker is gone — at once when it was a process of this machine."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from core.clock import FixedClock
from storage import inbound_deliveries, workers
from storage.db import Database
from storage.models import WorkerRow


@pytest.fixture
async def other(db: Database) -> AsyncIterator[Database]:
    """Another process's engine on the same database."""
    database = Database(db.url.render_as_string(hide_password=False))
    yield database
    await database.dispose()


def gone_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


async def test_a_claim_is_held_while_its_worker_renews_and_taken_over_after(
    db: Database, other: Database, clock: FixedClock
) -> None:
    assert await inbound_deliveries.claim(other, "wechat", "msg:1", clock.now()) is None
    for _ in range(30):  # five minutes of a worker that keeps claiming (and so renewing)
        clock.advance(workers.LEASE / 2)
        await inbound_deliveries.claim(other, "wechat", f"msg:{_ + 2}", clock.now())
        assert await inbound_deliveries.claim(db, "wechat", "msg:1", clock.now()) is not None
    clock.advance(workers.LEASE)  # silent for a lease: gone
    assert await inbound_deliveries.claim(db, "wechat", "msg:1", clock.now()) is None
    assert (
        await inbound_deliveries.claim(other, "wechat", "msg:1", clock.now()) is not None
    )  # ours now


async def test_a_worker_of_this_machine_whose_process_is_gone_is_ended_at_once(
    db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    async with db.transaction() as s:
        dead = (
            await s.execute(
                insert(WorkerRow).returning(WorkerRow.id),
                {
                    "host": workers.HOST,
                    "pid": gone_pid(),
                    "started_at": now,
                    "alive_until": now + workers.LEASE,
                },
            )
        ).scalar_one()
        elsewhere = (
            await s.execute(
                insert(WorkerRow).returning(WorkerRow.id),
                {
                    "host": "another-machine#1",
                    "pid": gone_pid(),
                    "started_at": now,
                    "alive_until": now + workers.LEASE,
                },
            )
        ).scalar_one()
    await inbound_deliveries.claim(db, "wechat", "warm-up", now)  # joins, and ends the gone one
    assert await workers.reap(db, now) == 0  # nothing left: another machine's pid says
    async with db.read() as s:  # nothing here, so that one waits for its lease to run out
        assert (await s.get(WorkerRow, dead)).alive_until <= now
        assert (await s.get(WorkerRow, elsewhere)).alive_until > now


async def test_a_worker_that_stops_gives_its_claims_up_at_once(
    db: Database, other: Database, clock: FixedClock
) -> None:
    async def no_wait(_seconds: float) -> None:
        await asyncio.Event().wait()  # no beat needed: the block is short

    async with workers.kept(other, clock.now, no_wait):
        assert await inbound_deliveries.claim(other, "telegram", "update:1", clock.now()) is None
        assert await inbound_deliveries.claim(db, "telegram", "update:1", clock.now()) is not None
    assert other.worker is None
    assert await inbound_deliveries.claim(db, "telegram", "update:1", clock.now()) is None


async def test_long_gone_workers_are_forgotten(db: Database, clock: FixedClock) -> None:
    await inbound_deliveries.claim(db, "wechat", "msg:1", clock.now())
    clock.advance(inbound_deliveries.KEPT + timedelta(days=1))
    assert await workers.prune(db, clock.now() - inbound_deliveries.KEPT) == 1
