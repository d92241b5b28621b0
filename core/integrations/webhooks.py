"""Events told to other systems (a till, a CRM): an endpoint subscribes to event types, and
each event becomes an outbox row per subscribed endpoint, written with the session of the
change, so an event goes out if and only if its change was committed
(``core.integrations.deliveries`` says how they go out).

Payloads carry numbers and codes — member_no, store, receipt, amounts, points, tiers, coupon
codes — never a name, phone or birthday (data minimisation): a till that needs more looks
the member up by member_no, and a member's erasure has no copy of their person to chase in
deliveries already sent. ``member.deleted`` carries the member_no only.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select, update

from core import audit
from core.context import Context
from core.errors import InvalidInput, InvalidWebhookUrl, UnknownWebhook, UnknownWebhookEvent
from core.people.members import format_member_no, store_id
from core.pushes.outbox import PENDING, SKIPPED, UNSENT
from storage.db import run
from storage.models import OutboxRow, StoreRow, WebhookRow
from storage.session import Session

EVENTS = (
    "member.registered",
    "member.deleted",
    "sale.recorded",
    "sale.refunded",
    "coupon.issued",
    "coupon.redeemed",
    "tier.changed",
    "points.expired",
    "feedback.received",
    "booking.created",
    "booking.cancelled",
)
PING = "ping"  # ``memberbot webhook test``: to one endpoint, never queued
MEMBER_DELETED = "member.deleted"
URL_MAX = 500
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    events: tuple[str, ...]
    store: str | None  # None: events of every store
    created_at: datetime
    secret_hint: str  # the secret's first characters, to tell which one a receiver holds


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once, to be given to the receiver


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl(url=url)
    return url


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    """The event types named (a comma list may be given as it was typed), each known."""
    named = {e.strip() for text in events for e in text.split(",") if e.strip()}
    if not named:
        raise InvalidInput(field="events")
    for event in sorted(named):
        if event not in EVENTS:
            raise UnknownWebhookEvent(event=event, known=", ".join(EVENTS))
    return tuple(e for e in EVENTS if e in named)


def _endpoint(row: WebhookRow, store: str | None) -> Endpoint:
    hint = row.secret[: len(SECRET_PREFIX) + 4] + "…" if row.secret else ""
    return Endpoint(row.id, row.url, tuple(row.events), store, row.created_at, hint)


async def add_endpoint(
    ctx: Context, url: str, events: Iterable[str], *, store: str | None = None, actor: str
) -> NewEndpoint:
    """Subscribe ``url`` to ``events`` (of one store's, or of every store); the signing
    secret is drawn here and returned once."""
    url, chosen = check_url(url), check_events(events)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store) if store else None
        row = WebhookRow(url=url, events=list(chosen), store_id=sid, secret=secret, created_at=now)
        s.add(row)
        await s.flush()
        audit.record(s, now, actor, "webhook.added", webhook_id=row.id, events=list(chosen))
        return NewEndpoint(_endpoint(row, store), secret)


async def endpoints(ctx: Context) -> list[Endpoint]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(WebhookRow, StoreRow.code)
            .outerjoin(StoreRow, StoreRow.id == WebhookRow.store_id)
            .where(WebhookRow.removed_at.is_(None))
            .order_by(WebhookRow.id)
        )
        return [_endpoint(row, code) for row, code in rows]


async def remove_endpoint(ctx: Context, reference: str, *, actor: str) -> Endpoint:
    """Unsubscribe an endpoint by its number or its address; what it was still owed is
    skipped (kept in the outbox with the reason), and its secret forgotten."""
    reference = reference.strip()
    now = ctx.now()
    async with ctx.db.transaction() as s:
        query = select(WebhookRow, StoreRow.code).outerjoin(
            StoreRow, StoreRow.id == WebhookRow.store_id
        )
        if reference.isdigit():
            query = query.where(WebhookRow.id == int(reference))
        else:
            query = query.where(WebhookRow.url == reference)
        found = (await s.execute(query.where(WebhookRow.removed_at.is_(None)))).first()
        if found is None:
            raise UnknownWebhook(webhook=reference)
        row, code = found
        row.removed_at = now
        row.secret = ""  # nothing is signed with it any more
        await s.execute(
            update(OutboxRow)
            .where(OutboxRow.webhook_id == row.id, OutboxRow.status.in_(UNSENT))
            .values(status=SKIPPED, last_error="webhook removed")
        )
        audit.record(s, now, actor, "webhook.removed", webhook_id=row.id)
        return _endpoint(row, code)


def money(name: str, fen: int) -> dict[str, Any]:
    """An amount as integer fen and as a decimal string of yuan: ``12.30``."""
    return {f"{name}_fen": fen, name: str(Decimal(fen).scaleb(-2))}


def moment(at: datetime) -> str:
    """A time as payloads give it: ISO 8601 in UTC, ``2026-01-05T02:00:00Z``."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(event: str, now: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """What a delivery's body says; its id stays the same however often it is sent."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "type": event,
        "created": moment(now),
        "data": data,
    }


@dataclass(frozen=True)
class Happening:
    """One event of a batch: about which member, at which store, saying what."""

    member_id: int | None
    store: str | None
    data: dict[str, Any]


async def emit(
    session: Session,
    now: datetime,
    event: str,
    *,
    member_id: int | None,
    store: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Tell the endpoints subscribed to ``event`` (of this store, or of every store), in the
    caller's transaction. ``data`` gets the member_no and store code added."""
    await emit_many(session, now, event, [Happening(member_id, store, data or {})])


async def emit_many(
    session: Session, now: datetime, event: str, happenings: Sequence[Happening]
) -> None:
    """``emit`` for a batch (a campaign's coupons): one look at the endpoints, one insert."""
    subscribed = await _subscribed(session, event)
    rows: list[dict[str, Any]] = []
    for happening in happenings:
        data: dict[str, Any] = {}
        if happening.member_id is not None:
            data["member_no"] = format_member_no(happening.member_id)
        if happening.store is not None:
            data["store"] = happening.store
        body = payload(event, now, data | happening.data)
        for endpoint_id, code in subscribed:
            if code is not None and happening.store not in (None, code):
                continue  # another store's: an endpoint of one store hears only its own
            rows.append(
                {
                    "webhook_id": endpoint_id,
                    "about_member_id": happening.member_id,
                    "kind": event,
                    "params": body,
                    "dedup_key": f"webhook:{endpoint_id}:{body['id']}",
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if rows:
        await session.execute(insert(OutboxRow.__table__), rows)


# Asked with every sale (and every other event): built once, run prebuilt.
_ENDPOINTS = (
    select(WebhookRow.id, WebhookRow.events, StoreRow.code)
    .outerjoin(StoreRow, StoreRow.id == WebhookRow.store_id)
    .where(WebhookRow.removed_at.is_(None))
)


async def _subscribed(session: Session, event: str) -> list[tuple[int, str | None]]:
    """The endpoints that hear ``event``, with their store (None: every store)."""
    assert event in EVENTS, event
    return [
        (endpoint_id, code)
        for endpoint_id, events, code in await run(session, _ENDPOINTS)
        if event in events
    ]


async def listened(session: Session, event: str) -> bool:
    """Whether any endpoint hears ``event``: a job spares working out what nobody hears."""
    return bool(await _subscribed(session, event))


async def erase_member(session: Session, member_id: int) -> None:
    """Erasing a member (``core.people.erasure``): their events not delivered yet are dropped
    (the ``member.deleted`` written after this is what the endpoints learn); those delivered
    hold numbers and codes only, nothing that says who they were."""
    await session.execute(
        delete(OutboxRow).where(
            OutboxRow.webhook_id.is_not(None),
            OutboxRow.about_member_id == member_id,
            OutboxRow.status.in_(UNSENT),
        )
    )
