"""How webhook events go out through the outbox (``core.pushes.work_queue`` claims them, the
dispatcher posts them): at least once, and in order per member and endpoint — a member's
later event waits while an earlier one to the same endpoint is still owed. A failed delivery
is tried again after a doubling wait, given up a day after the event with the last reason.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select, update
from sqlalchemy.orm import aliased

from core.context import Context
from core.errors import UnknownWebhook
from core.integrations.webhooks import PING, payload
from core.pushes.outbox import SENDING, SENT, UNSENT
from storage.db import run
from storage.models import OutboxRow, WebhookRow
from storage.session import Session

FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)
VIA = "webhook"  # how a delivery is recorded in ``channel`` and ``via``


@dataclass(frozen=True)
class Target:
    """Where a delivery goes, and the secret that signs it."""

    webhook_id: int
    url: str
    secret: str


_EARLIER = aliased(OutboxRow)


def in_turn() -> ColumnElement[bool]:
    """An outbox row may go: not a webhook delivery, or none before it to the same endpoint
    about the same member is still owed (a ping, about no member, waits for nothing)."""
    return or_(
        OutboxRow.webhook_id.is_(None),
        OutboxRow.about_member_id.is_(None),
        ~exists().where(
            _EARLIER.webhook_id == OutboxRow.webhook_id,
            _EARLIER.about_member_id == OutboxRow.about_member_id,
            _EARLIER.id < OutboxRow.id,
            _EARLIER.status.in_(UNSENT),
        ),
    )


_TARGETS = select(WebhookRow.id, WebhookRow.url, WebhookRow.secret).where(
    WebhookRow.id.in_(bindparam("ids", expanding=True))
)


async def targets(s: Session, webhook_ids: Collection[int]) -> dict[int, Target]:
    if not webhook_ids:
        return {}
    found = await run(s, _TARGETS, {"ids": list(webhook_ids)})
    return {i: Target(i, url, secret) for i, url, secret in found}


def next_try(created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """After ``attempts`` failed tries: when to try again (30 s, doubling, at most an hour
    apart), or None once the event is a day old."""
    if now - created_at >= GIVE_UP_AFTER:
        return None
    doublings = min(max(attempts - 1, 0), 20)  # past an hour by then: the cap holds
    wait = min(FIRST_WAIT * (1 << doublings), LONGEST_WAIT)
    return min(now + wait, created_at + GIVE_UP_AFTER)


async def mark_delivered(ctx: Context, push_id: int) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == push_id, OutboxRow.status == SENDING)
            .values(status=SENT, sent_at=ctx.now(), channel=VIA, via=VIA, last_error=None)
        )


@dataclass(frozen=True)
class Delivery:
    """A delivery as ``memberbot outbox`` lists it."""

    id: int
    url: str
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    in_turn: bool  # False: waits for an earlier event of its member to the same endpoint


async def owed(ctx: Context, limit: int) -> list[Delivery]:
    """The latest deliveries not delivered: queued, being sent, retried or given up."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(
                OutboxRow.id,
                WebhookRow.url,
                OutboxRow.kind,
                OutboxRow.status,
                OutboxRow.attempts,
                OutboxRow.next_attempt_at,
                OutboxRow.last_error,
                in_turn(),
            )
            .join(WebhookRow, WebhookRow.id == OutboxRow.webhook_id)
            .where(OutboxRow.status != SENT)
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        )
        return [Delivery(*row) for row in rows]


async def ping(ctx: Context, webhook_id: int) -> tuple[Target, dict[str, Any]]:
    """A ``ping`` event for one endpoint, to be posted at once (``memberbot webhook test``)."""
    async with ctx.db.read() as s:
        row = await s.scalar(
            select(WebhookRow).where(WebhookRow.id == webhook_id, WebhookRow.removed_at.is_(None))
        )
        if row is None:
            raise UnknownWebhook(webhook=str(webhook_id))
        return Target(row.id, row.url, row.secret), payload(PING, ctx.now(), {})
