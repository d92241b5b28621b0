"""Putting pushes into the outbox, in the transaction of the change that causes them.

Messages are stored as a kind plus parameters and rendered in the member's language when
sent. Marketing kinds are never enqueued for members who have not consented.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    bindparam,
    delete,
    exists,
    select,
    update,
)

from core.pushes import gifts
from storage.db import insert_ignore, insert_ignore_many
from storage.erasure import figures, mentioning
from storage.models import OutboxRow
from storage.session import Session

# Service messages: the member needs them whatever their marketing choice.
# Reminders of points and coupons about to expire are about the member's own account.
SERVICE_KINDS = frozenset(
    {
        "receipt",
        "refund",
        "tier_changed",
        "booking_reminder",
        "feedback_answer",
        "security",
        "points_expiring",
        "coupon_expiring",
        "event_reminder",  # an event the member signed up for (core.engagement.shop_events)
        "referral_reward",  # points credited to the reader's own account (referrals)
        "handoff_answer",  # a staff member's answer in the member's chat with staff
        "handoff_closed",  # staff closed that chat
    }
)
# To staff: never marketing (a member's message in their chat with staff: staff_handoff).
STAFF_KINDS = frozenset({"staff_alert", "staff_digest", "staff_handoff"})
# The rest of an answer that could not go with it (core.pushes.late_replies): to the chat account
# that wrote (``identity_id`` set when queued), whoever it is.
REPLY = "reply"
NOT_MARKETING = SERVICE_KINDS | STAFF_KINDS | {REPLY}  # every other kind is marketing

# The life of an outbox row (see storage.models.OutboxRow).
PENDING, SENDING, WAITING = "pending", "sending", "waiting"
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"
UNSENT = (PENDING, SENDING, WAITING)


def is_marketing(kind: str) -> bool:
    return kind not in NOT_MARKETING


async def skip_unsent_marketing(
    session: Session, member_id: int, reason: str, *, now: datetime
) -> None:
    """The member's marketing not sent yet, skipped with the reason (consent withdrawn:
    each row was queued with it), and what it gave taken back (``core.pushes.gifts``). A row a
    dispatcher is sending right now stays its."""
    skipped = await session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.member_id == member_id,
            OutboxRow.status.in_((PENDING, WAITING)),
            OutboxRow.kind.not_in(NOT_MARKETING),
        )
        .values(status=SKIPPED, last_error=reason)
        .returning(OutboxRow.member_id, OutboxRow.kind, OutboxRow.params)
    )
    await gifts.take_back(session, skipped.all(), now, reason)


async def enqueue(
    session: Session,
    *,
    now: datetime,
    member_id: int,
    marketing_consent: bool,
    kind: str,
    dedup_key: str,
    params: dict[str, Any],
) -> bool:
    """Queue one message; a second call with the same dedup key is a no-op. True if queued."""
    if is_marketing(kind) and not marketing_consent:
        return False
    return await insert_ignore(
        session,
        OutboxRow.__table__,
        {
            "member_id": member_id,
            "kind": kind,
            "params": params,
            "dedup_key": dedup_key,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        conflict=["dedup_key"],
    )


async def enqueue_many(
    session: Session,
    *,
    now: datetime,
    pushes: list[tuple[int, bool, str, str, dict[str, Any]]],
) -> set[str]:
    """``enqueue`` for many (member, marketing consent, kind, dedup key, params) in one
    statement; the dedup keys really queued."""
    rows = [
        {
            "member_id": member_id,
            "kind": kind,
            "params": params,
            "dedup_key": dedup_key,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for member_id, consent, kind, dedup_key, params in pushes
        if consent or not is_marketing(kind)
    ]
    return await insert_ignore_many(
        session, OutboxRow.__table__, rows, conflict=["dedup_key"], key="dedup_key"
    )


async def enqueue_for_staff(
    session: Session,
    *,
    now: datetime,
    staff_id: int,
    kind: str,
    dedup_key: str,
    params: dict[str, Any],
) -> bool:
    """Queue a message to a staff member's chat (an alert for the owner)."""
    return await insert_ignore(
        session,
        OutboxRow.__table__,
        {
            "staff_id": staff_id,
            "kind": kind,
            "params": params,
            "dedup_key": dedup_key,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        conflict=["dedup_key"],
    )


def waiting_for(member_id: ColumnExpressionArgument[int | None]) -> ColumnElement[bool]:
    """Whether pushes of this member wait for their next message (see ``wake``)."""
    return exists().where(OutboxRow.member_id == member_id, OutboxRow.status == WAITING)


_WAKE = (  # built once: every recorded arrival runs it
    update(OutboxRow.__table__)
    .where(OutboxRow.member_id == bindparam("p_member"), OutboxRow.status == WAITING)
    .values(status=PENDING, next_attempt_at=bindparam("p_now"))
)


async def wake(session: Session, member_id: int, now: datetime) -> None:
    """The member just wrote: what waited for their next message (WeChat's reply window)
    may go now."""
    await session.execute(_WAKE, {"p_member": member_id, "p_now": now})


async def erase_member(session: Session, member_id: int) -> None:
    """Erasing a member (``core.people.erasure``): what was not sent yet is dropped; what was sent
    keeps its kind and figures (campaign results count it), not its words."""
    await session.execute(
        delete(OutboxRow).where(OutboxRow.member_id == member_id, OutboxRow.status.in_(UNSENT))
    )
    rows = await session.execute(
        select(OutboxRow.id, OutboxRow.params).where(OutboxRow.member_id == member_id)
    )
    for row_id, params in rows.all():
        await session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(params=figures(params), last_error=None)
        )


async def forget_mentioning(session: Session, needles: list[str]) -> None:
    """Erasing a person (``core.people.erasure``): other people's pushes that name them (a
    clerk's sale confirmation waiting out flood control) are dropped while unsent, and keep
    only their figures once sent."""
    named = mentioning(OutboxRow.params, needles)
    await session.execute(delete(OutboxRow).where(named, OutboxRow.status.in_(UNSENT)))
    rows = await session.execute(select(OutboxRow.id, OutboxRow.params).where(named))
    for row_id, params in rows.all():
        await session.execute(
            update(OutboxRow).where(OutboxRow.id == row_id).values(params=figures(params))
        )


async def forget_accounts(session: Session, identity_ids: list[int]) -> None:
    """Erasing chat accounts (``core.people.erasure``): pushes no longer say where they went."""
    await session.execute(
        update(OutboxRow).where(OutboxRow.identity_id.in_(identity_ids)).values(identity_id=None)
    )
