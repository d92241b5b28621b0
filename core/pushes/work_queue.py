"""The outbox as a work queue for dispatchers: claim what is due, then settle each row.

A claim marks rows ``sending`` in the name of the dispatcher's worker (``storage.workers``),
in one transaction; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so several dispatchers
take disjoint rows. A living dispatcher keeps its rows however long they take; one that
dies leaves them to be claimed again as soon as its lease has run out (at once on the same
machine): at most the messages it had in flight go out again, never one already marked sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, or_, select, update

from core.context import Context
from core.integrations import deliveries
from core.people.members import format_member_no
from core.pushes import gifts
from core.pushes.outbox import FAILED, PENDING, REPLY, SENDING, SENT, SKIPPED, WAITING
from storage import service_messages, workers
from storage.db import run
from storage.models import IdentityRow, MemberRow, OutboxRow, StaffRow
from storage.session import Session

WECHAT_CS = "wechat_cs"  # how a WeChat customer-service message is recorded in ``via``


@dataclass(frozen=True)
class Recipient:
    """A chat account a push may go to, with what WeChat's reply windows need to know."""

    identity_id: int
    channel: str
    external_id: str
    last_message_at: datetime | None = None
    last_event_at: datetime | None = None
    cs_since_message: int = 0  # customer-service messages already sent in each window
    cs_since_event: int = 0


@dataclass(frozen=True)
class Reader:
    """Who reads a push, as far as its wording needs: the member, or the staff member (in
    the language they chat in; named as in their member profile, if they have one)."""

    name: str
    member_no: str
    locale: str


@dataclass(frozen=True)
class Push:
    id: int
    kind: str
    params: dict[str, Any]
    created_at: datetime
    attempts: int  # this one included
    member_id: int | None
    staff_id: int | None
    recipients: tuple[Recipient, ...]  # reachable accounts, the most recently used first
    reader: Reader | None = None
    account_id: int | None = None  # a reply's: the one chat account it goes to
    webhook: deliveries.Target | None = None  # an event's: the endpoint it is posted to

    @property
    def whom(self) -> Whom:
        return _whom(self.member_id, self.staff_id, self.account_id)


_DUE = (  # the statements of a claim, built once
    select(OutboxRow.id)
    .where(
        or_(
            and_(
                OutboxRow.status == PENDING,
                OutboxRow.next_attempt_at <= bindparam("now"),
                deliveries.in_turn(),
            ),
            and_(
                OutboxRow.status == SENDING,
                ~workers.alive(OutboxRow.worker_id, bindparam("now")),
            ),
        )
    )
    .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_TAKE = (
    update(OutboxRow.__table__)
    .where(OutboxRow.id.in_(bindparam("ids", expanding=True)))
    .values(status=SENDING, worker_id=bindparam("worker"), attempts=OutboxRow.attempts + 1)
)
_TAKEN = (
    select(
        OutboxRow.id,
        OutboxRow.kind,
        OutboxRow.params,
        OutboxRow.created_at,
        OutboxRow.attempts,
        OutboxRow.member_id,
        OutboxRow.staff_id,
        OutboxRow.identity_id,  # set before sending only for replies (core.pushes.late_replies)
        OutboxRow.webhook_id,
    )
    .where(OutboxRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(OutboxRow.id)
)


async def claim(ctx: Context, limit: int) -> list[Push]:
    """Take up to ``limit`` due rows (pending, or claimed by a dispatcher that is gone).
    Read as columns, not ORM objects: loading a batch of rows and their accounts as
    objects was a tenth of the dispatcher's CPU."""
    now = ctx.now()
    worker = await workers.me(ctx.db, now)
    async with ctx.db.transaction() as s:
        ids = list((await run(s, _DUE, {"now": now, "limit": limit})).scalars())
        if not ids:
            return []
        await run(s, _TAKE, {"ids": ids, "worker": worker})
        rows = (await run(s, _TAKEN, {"ids": ids})).all()
        whoms = {row.id: _whom(row.member_id, row.staff_id, row.identity_id) for row in rows}
        recipients = await _recipients(s, set(whoms.values()))
        readers = await _readers(s, rows)
        targets = await deliveries.targets(s, {r.webhook_id for r in rows if r.webhook_id})
        return [
            Push(
                id=row.id,
                kind=row.kind,
                params=dict(row.params),
                created_at=row.created_at,
                attempts=row.attempts,
                member_id=row.member_id,
                staff_id=row.staff_id,
                recipients=recipients.get(whoms[row.id], ()),
                reader=readers.get(whoms[row.id]),
                account_id=row.identity_id,
                webhook=targets.get(row.webhook_id) if row.webhook_id else None,
            )
            for row in rows
        ]


async def next_due(ctx: Context) -> datetime | None:
    """When the next pending row is due (rows other dispatchers hold are theirs; a webhook
    event waiting for its member's earlier one is due after it)."""
    async with ctx.db.read() as s:
        due: datetime | None = await s.scalar(
            select(func.min(OutboxRow.next_attempt_at)).where(
                OutboxRow.status == PENDING, deliveries.in_turn()
            )
        )
        return due


_MEMBER_READERS = select(MemberRow.id, MemberRow.name, MemberRow.locale).where(
    MemberRow.id.in_(bindparam("ids", expanding=True))
)
_STAFF_READERS = (  # in the staff member's own language, member profile or not
    select(StaffRow.id, MemberRow.id, MemberRow.name, StaffRow.name, StaffRow.locale)
    .join(IdentityRow, IdentityRow.id == StaffRow.identity_id)
    .outerjoin(MemberRow, MemberRow.id == IdentityRow.member_id)
    .where(StaffRow.id.in_(bindparam("ids", expanding=True)))
)


async def _readers(s: Session, rows: Sequence[Row[Any]]) -> dict[Whom, Reader]:
    """The readers of a batch in two queries, so wording a push needs no more."""
    members = {
        r.member_id
        for r in rows
        if r.staff_id is None and r.member_id is not None and r.identity_id is None
    }
    staff = {r.staff_id for r in rows if r.staff_id is not None}
    found: dict[Whom, Reader] = {}
    if members:
        for member_id, name, locale in await run(s, _MEMBER_READERS, {"ids": list(members)}):
            found[("member", member_id)] = Reader(name, format_member_no(member_id), locale)
    if staff:
        for staff_id, member_id, name, staff_name, locale in await run(
            s, _STAFF_READERS, {"ids": list(staff)}
        ):
            member_no = format_member_no(member_id) if member_id is not None else ""
            found[("staff", staff_id)] = Reader(name or staff_name, member_no, locale)
    return found


async def fresh_recipients(ctx: Context, push: Push) -> tuple[Recipient, ...]:
    """The push's accounts as they are now: WeChat's quota counts the messages sent since
    the claim, e.g. earlier pushes of the same batch."""
    async with ctx.db.read() as s:
        return (await _recipients(s, {push.whom})).get(push.whom, ())


Whom = tuple[str, int]


def _whom(member_id: int | None, staff_id: int | None, account_id: int | None = None) -> Whom:
    if account_id is not None:
        return ("account", account_id)
    return ("staff", staff_id) if staff_id is not None else ("member", member_id or 0)


_ACCOUNT = (  # what a Recipient needs of a chat account
    IdentityRow.id,
    IdentityRow.member_id,
    IdentityRow.channel,
    IdentityRow.external_id,
    IdentityRow.last_message_at,
    IdentityRow.last_event_at,
)
_ACCOUNTS = select(*_ACCOUNT).where(
    IdentityRow.id.in_(bindparam("ids", expanding=True)), IdentityRow.reachable.is_(True)
)
_MEMBER_ACCOUNTS = select(*_ACCOUNT).where(
    IdentityRow.member_id.in_(bindparam("ids", expanding=True)), IdentityRow.reachable.is_(True)
)
_STAFF_ACCOUNTS = (
    select(StaffRow.id.label("staff_id"), *_ACCOUNT)
    .join(IdentityRow, IdentityRow.id == StaffRow.identity_id)
    .where(
        StaffRow.id.in_(bindparam("ids", expanding=True)),
        StaffRow.removed_at.is_(None),
        IdentityRow.reachable.is_(True),
    )
)


async def _recipients(s: Session, whoms: set[Whom]) -> dict[Whom, tuple[Recipient, ...]]:
    """Reachable accounts of these members and staff, newest contact first."""
    member_ids = [n for kind, n in whoms if kind == "member"]
    staff_ids = [n for kind, n in whoms if kind == "staff"]
    account_ids = [n for kind, n in whoms if kind == "account"]
    found: list[tuple[Whom, Row[*tuple[Any, ...]]]] = []
    if account_ids:
        for account in await run(s, _ACCOUNTS, {"ids": account_ids}):
            found.append((("account", account.id), account))
    if member_ids:
        for account in await run(s, _MEMBER_ACCOUNTS, {"ids": member_ids}):
            found.append((("member", account.member_id or 0), account))
    if staff_ids:
        for staff_account in await run(s, _STAFF_ACCOUNTS, {"ids": staff_ids}):
            found.append((("staff", staff_account.staff_id), staff_account))
    result: dict[Whom, list[Recipient]] = {}
    for whom, account in found:
        result.setdefault(whom, []).append(await _recipient(s, account))
    oldest = datetime.min.replace(tzinfo=UTC)
    return {
        whom: tuple(
            sorted(
                accounts,
                key=lambda r: max(r.last_message_at or oldest, r.last_event_at or oldest),
                reverse=True,
            )
        )
        for whom, accounts in result.items()
    }


async def _recipient(s: Session, account: Row[*tuple[Any, ...]]) -> Recipient:
    since_message = since_event = 0
    if account.channel == "wechat":
        since_message = await service_messages.sent_since(s, account.id, account.last_message_at)
        since_event = await service_messages.sent_since(s, account.id, account.last_event_at)
    return Recipient(
        identity_id=account.id,
        channel=account.channel,
        external_id=account.external_id,
        last_message_at=account.last_message_at,
        last_event_at=account.last_event_at,
        cs_since_message=since_message,
        cs_since_event=since_event,
    )


_MARK_SENT = (  # built once: the dispatcher runs it for every few pushes
    update(OutboxRow.__table__)
    .where(OutboxRow.id == bindparam("push_id"), OutboxRow.status == SENDING)
    .values(
        status=SENT,
        sent_at=bindparam("now"),
        identity_id=bindparam("to_identity"),
        channel=bindparam("to_channel"),
        via=bindparam("to_via"),
        last_error=None,
    )
)


async def mark_sent(ctx: Context, sent: list[tuple[int, Recipient, str]]) -> None:
    """These (push, account, via) went out: one statement for all of them (a row no
    longer ours, e.g. deleted with its member meanwhile, is left alone)."""
    now = ctx.now()
    rows = [
        {
            "push_id": p,
            "now": now,
            "to_identity": r.identity_id,
            "to_channel": r.channel,
            "to_via": v,
        }
        for p, r, v in sent
    ]
    async with ctx.db.transaction() as s:
        await run(s, _MARK_SENT, rows)
        await _forget_replies(s, [p for p, _, _ in sent])


async def retry(
    ctx: Context, push_id: int, at: datetime, reason: str, *, counts: bool = True
) -> None:
    """Try again at ``at``. A wait the platform asked for (rate limits) or our own pacing
    does not count as a failed attempt (``counts=False``)."""
    values: dict[str, Any] = {"status": PENDING, "next_attempt_at": at, "last_error": reason}
    if not counts:
        values["attempts"] = OutboxRow.attempts - 1
    await _settle(ctx, push_id, values)


async def wait_for_member(ctx: Context, push_id: int, reason: str) -> None:
    """Until the member's next message (``core.pushes.outbox.wake``), or until it is stale."""
    await _settle(ctx, push_id, {"status": WAITING, "last_error": reason})


async def give_up(ctx: Context, push_id: int, reason: str, *, failed: bool = False) -> None:
    """Never sent: skipped on purpose (reason recorded), or failed for good; what the push
    gave (a gift coupon, a campaign's reach) is taken back with it (``core.pushes.gifts``)."""
    async with ctx.db.transaction() as s:
        given_up = await s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == push_id, OutboxRow.status == SENDING)
            .values(status=FAILED if failed else SKIPPED, last_error=reason)
            .returning(OutboxRow.member_id, OutboxRow.kind, OutboxRow.params)
        )
        await gifts.take_back(s, given_up.all(), ctx.now(), reason)
        await _forget_replies(s, [push_id])


async def _settle(
    ctx: Context, push_id: int, values: dict[str, Any], *, final: bool = False
) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == push_id, OutboxRow.status == SENDING)
            .values(**values)
        )
        if final:
            await _forget_replies(s, [push_id])


_FORGET_REPLIES = (
    update(OutboxRow.__table__)
    .where(
        OutboxRow.id.in_(bindparam("ids", expanding=True)),
        OutboxRow.kind == REPLY,
        OutboxRow.status.in_((SENT, FAILED, SKIPPED)),
    )
    .values(params={})
)


async def _forget_replies(s: Session, push_ids: list[int]) -> None:
    """A reply's words are kept only until it is settled: they may name members (a
    clerk's sale confirmation), and nothing needs them afterwards."""
    await run(s, _FORGET_REPLIES, {"ids": push_ids})


async def mark_unreachable(ctx: Context, identity_id: int) -> None:
    """The platform says this account cannot be written to (blocked, unfollowed)."""
    async with ctx.db.transaction() as s:
        await s.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(reachable=False)
        )


async def skip_stale(ctx: Context) -> int:
    """Waiting rows older than the shop's ``fresh_hours`` are no longer worth sending."""
    oldest = ctx.now() - timedelta(hours=ctx.shop.pushes.fresh_hours)
    reason = "stale: the member did not write again in time"
    async with ctx.db.transaction() as s:
        result = await s.execute(
            update(OutboxRow)
            .where(OutboxRow.status == WAITING, OutboxRow.created_at < oldest)
            .values(status=SKIPPED, last_error=reason)
            .returning(OutboxRow.member_id, OutboxRow.kind, OutboxRow.params)
        )
        stale = result.all()
        await gifts.take_back(s, stale, ctx.now(), reason)
        return len(stale)


@dataclass(frozen=True)
class QueueSummary:
    counts: dict[tuple[str, str], int]  # (kind, status) → rows
    last_errors: list[tuple[datetime, str, str, str]]  # (when, kind, status, error)

    def total(self, status: str) -> int:
        return sum(n for (_, s), n in self.counts.items() if s == status)


async def summary(ctx: Context, errors: int = 10) -> QueueSummary:
    """Counts by kind and status, and the latest rows that carry an error."""
    async with ctx.db.read() as s:
        counts = Counter(
            {
                (kind, status): int(n)
                for kind, status, n in await s.execute(
                    select(OutboxRow.kind, OutboxRow.status, func.count()).group_by(
                        OutboxRow.kind, OutboxRow.status
                    )
                )
            }
        )
        last = [
            (row.next_attempt_at, row.kind, row.status, row.last_error or "")
            for row in await s.scalars(
                select(OutboxRow)
                .where(OutboxRow.last_error.is_not(None))
                .order_by(OutboxRow.id.desc())
                .limit(errors)
            )
        ]
    return QueueSummary(dict(counts), last)
