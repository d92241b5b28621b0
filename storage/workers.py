"""Leases of the processes that claim work: one mechanism for every claim.

A process that claims something to do — an inbound message (``storage.inbound_deliveries``), pushes
of the outbox (``core.pushes.work_queue``) — claims it in the name of its worker row, whose lease
it renews every ``BEAT`` while it lives. A claim whose worker's lease has run out is
anyone's to take over: a process killed mid-work loses nothing, and a living one's claims
are never taken from it, however long its work takes.

A process killed on this machine need not wait for its lease: the living workers of the
machine (and a restarted one, at once) see that its pid is gone and end its lease. The
machine is named with its process namespace, so containers sharing a host name do not
judge each other's pids.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.models import WorkerRow
from storage.session import rowcount

LEASE = timedelta(seconds=10)  # a claim outlives its silent worker this long at most
BEAT = timedelta(seconds=2)  # how often a living worker renews its lease
log = logging.getLogger(__name__)


def _machine() -> str:
    """This machine as its processes see it: host name and pid namespace."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}#{namespace}"[:128]


HOST = _machine()


@dataclass
class Lease:
    id: int
    until: datetime


async def me(db: Database, now: datetime) -> int:
    """This process's worker id, joined at the first claim. The lease is renewed here once
    half of it has run, so a process that claims stays alive by its own claims, with or
    without ``kept``'s heartbeat."""
    lease: Lease | None = db.worker
    if lease is None:
        lease = db.worker = Lease(await _join(db, now), now + LEASE)
        await reap(db, now)
    elif lease.until - now < LEASE / 2:
        await _renew(db, lease, now)
    return lease.id


async def _join(db: Database, now: datetime) -> int:
    values = {"host": HOST, "pid": os.getpid(), "started_at": now, "alive_until": now + LEASE}
    async with db.transaction() as s:
        result = await s.execute(insert(WorkerRow).returning(WorkerRow.id), values)
        worker_id: int = result.scalar_one()
    log.info("worker %d started", worker_id)
    return worker_id


async def _renew(db: Database, lease: Lease, now: datetime) -> None:
    async with db.transaction() as s:
        await s.execute(
            update(WorkerRow).where(WorkerRow.id == lease.id).values(alive_until=now + LEASE)
        )
    lease.until = now + LEASE


async def reap(db: Database, now: datetime) -> int:
    """End the leases of this machine's workers whose process is gone; how many."""
    mine = db.worker.id if db.worker is not None else None
    async with db.read() as s:
        rows = (
            await s.execute(
                select(WorkerRow.id, WorkerRow.pid).where(
                    WorkerRow.host == HOST, WorkerRow.alive_until > now, WorkerRow.id != mine
                )
            )
        ).all()
    gone = [worker_id for worker_id, pid in rows if not _running(pid)]
    if gone:
        await _end(db, gone, now)
        log.info("workers %s are gone: their claims are taken over", gone)
    return len(gone)


async def _end(db: Database, ids: list[int], now: datetime) -> None:
    async with db.transaction() as s:
        await s.execute(
            update(WorkerRow)
            .where(WorkerRow.id.in_(ids), WorkerRow.alive_until > now)
            .values(alive_until=now)
        )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    return True


async def prune(db: Database, before: datetime) -> int:
    """Forget workers gone since before ``before`` (ids are not reused: a claim still
    naming one is simply not held)."""
    async with db.transaction() as s:
        result = await s.execute(delete(WorkerRow).where(WorkerRow.alive_until < before))
        return int(rowcount(result) or 0)


def alive(holder: Any, now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL: the worker ``holder`` (a column of worker ids) still holds its lease at ``now``."""
    return exists().where(WorkerRow.id == holder, WorkerRow.alive_until > now)


@asynccontextmanager
async def kept(
    db: Database,
    now: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[None]:
    """The block runs with this process's lease renewed every ``BEAT`` (and the gone
    workers of the machine reaped); at its end the lease is given up, so that whatever
    it still held is taken over at once."""
    await me(db, now())
    lease = db.worker
    assert lease is not None  # taken by me(), held until the block ends

    async def beat() -> None:
        while True:
            await sleep(BEAT.total_seconds())
            try:
                await _renew(db, lease, now())
                await reap(db, now())
            except (SQLAlchemyError, OSError):  # the database away: try at the next beat
                log.exception("worker lease not renewed")

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:
            await _end(db, [lease.id], now())
        except (SQLAlchemyError, OSError):
            log.exception("worker lease not given up: its claims wait for it to run out")
        db.worker = None
