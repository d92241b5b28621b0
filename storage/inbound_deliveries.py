"""Platform deliveries already received, so a redelivered update is not processed again.

WeChat retries a message it got no answer to in 5 seconds, Telegram redelivers an update
it is not sure we took: the platform's own id (MsgId, update_id) is claimed once, and a
retry is answered from what the first delivery stored.

A claim is held in the name of the worker processing it (``storage.workers``): a retry
while that worker lives is not processed again, and a retry after it died mid-work takes
the claim over and is processed — at least once, and once while its worker lives.
Deliveries are remembered for ``KEPT``: longer than any platform redelivers (Telegram
keeps an update for 24 hours) and than any request is accepted (twice the replay window,
whose timestamps may run ahead of our clock as much as behind it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from storage import workers
from storage.db import Database, insert_ignore, run
from storage.erasure import mentioning
from storage.models import DeliveryRow
from storage.session import Session, rowcount

PROCESSING, ANSWERED, LATE = "processing", "answered", "late"
KEPT = timedelta(days=2)


@dataclass(frozen=True)
class Delivery:
    status: str  # PROCESSING, ANSWERED (reply holds the answer) or LATE (sent separately)
    reply: str | None


async def claim(db: Database, channel: str, key: str, now: datetime) -> Delivery | None:
    """None when the update is ours to process: first seen, or its processing died with
    its worker; otherwise what became of the earlier delivery."""
    worker = await workers.me(db, now)
    values = {
        "channel": channel,
        "key": key,
        "status": PROCESSING,
        "created_at": now,
        "worker_id": worker,
    }
    async with db.transaction() as s:
        if await insert_ignore(s, DeliveryRow.__table__, values, conflict=["channel", "key"]):
            return None
        params = {"p_channel": channel, "p_key": key, "p_worker": worker, "p_now": now}
        if (await run(s, _TAKE_OVER, params)).rowcount:
            return None
        row = await s.scalar(
            select(DeliveryRow).where(DeliveryRow.channel == channel, DeliveryRow.key == key)
        )
        return Delivery(row.status, row.reply) if row else Delivery(PROCESSING, None)


_TAKE_OVER = (  # a processing claim whose worker is gone becomes the caller's
    update(DeliveryRow.__table__)
    .where(
        DeliveryRow.channel == bindparam("p_channel"),
        DeliveryRow.key == bindparam("p_key"),
        DeliveryRow.status == PROCESSING,
        ~workers.alive(DeliveryRow.worker_id, bindparam("p_now")),
    )
    .values(worker_id=bindparam("p_worker"), created_at=bindparam("p_now"))
)


async def finish(db: Database, channel: str, key: str, status: str, reply: str | None) -> None:
    async with db.transaction() as s:
        await settle(s, channel, key, status, reply)


_SETTLE = (  # built once: every message runs it
    update(DeliveryRow.__table__)
    .where(DeliveryRow.channel == bindparam("p_channel"), DeliveryRow.key == bindparam("p_key"))
    .values(status=bindparam("p_status"), reply=bindparam("p_reply"))
)


async def settle(session: Session, channel: str, key: str, status: str, reply: str | None) -> None:
    """``finish`` inside the caller's transaction (with the other writes of the answer)."""
    params = {"p_channel": channel, "p_key": key, "p_status": status, "p_reply": reply}
    await run(session, _SETTLE, params)


async def prune(db: Database, before: datetime) -> int:
    """Forget deliveries claimed before ``before`` (run daily, ``KEPT`` ago)."""
    async with db.transaction() as s:
        result = await s.execute(delete(DeliveryRow).where(DeliveryRow.created_at < before))
        return rowcount(result) or 0


async def forget_old_replies(db: Database, before: datetime) -> int:
    """Drop the replies stored before ``before`` (run daily): a retry comes within
    seconds, and a reply may name a person; the delivery itself is kept until ``prune``."""
    async with db.transaction() as s:
        result = await s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.created_at < before, DeliveryRow.reply.is_not(None))
            .values(reply=None)
        )
        return rowcount(result) or 0


async def release(db: Database, channel: str, key: str) -> None:
    """Give the update back after a failure, so the platform's retry is processed anew."""
    async with db.transaction() as s:
        await s.execute(
            delete(DeliveryRow).where(DeliveryRow.channel == channel, DeliveryRow.key == key)
        )


async def forget_replies(session: Session, needles: list[str]) -> None:
    """Erasing a person (``core.people.erasure``): stored replies that mention them are dropped.
    The deliveries stay, so a retry is still not processed again; it is answered with
    nothing, as one answered late is."""
    await session.execute(
        update(DeliveryRow).where(mentioning(DeliveryRow.reply, needles)).values(reply=None)
    )
