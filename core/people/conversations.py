"""Who is talking and where their conversation stands.

Multi-step chat flows keep their state in the database (not in process memory), so a
restart or a second worker process continues the conversation; a conversation left
silent longer than the timeout is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, select, update
from sqlalchemy.orm import aliased

from core.context import Context
from core.errors import InvalidInput
from core.people.members import MemberView, identity_row, view_of
from core.people.staff import StaffView, is_current, staff_view
from core.pushes import outbox
from storage import buttons, inbound_deliveries, service_messages
from storage.db import run, upsert
from storage.erasure import mentioning
from storage.models import (
    ChoicesRow,
    ConversationRow,
    IdentityRow,
    LinkCodeRow,
    MemberRow,
    MemberTagRow,
    StaffInviteRow,
    StaffRow,
    StoreRow,
)
from storage.session import Session, rowcount

TIMEOUT = timedelta(minutes=15)
RECORD_AFTER = timedelta(seconds=30)  # an arrival this soon after the last is not rewritten


@dataclass(frozen=True)
class Identity:
    id: int
    channel: str
    external_id: str
    member_id: int | None


CLAIMED = ":claimed"  # a ``once`` step being done (``claim_step``)
DONE = ":done"  # the step of a conversation over, kept with its answer (``finish_step``)


@dataclass(frozen=True)
class Conversation:
    flow: str
    step: str
    data: dict[str, Any]

    @property
    def done(self) -> bool:
        """Over: no step waits; ``data`` holds what its last step answered."""
        return self.step.endswith(DONE)


@dataclass(frozen=True)
class Recording:
    """The write of an arrival (``record``), when ``arrival(defer=True)`` left it to the
    caller's closing transaction."""

    identity_id: int
    member_id: int | None
    event: bool
    at: datetime
    wake: bool  # pushes of the member wait for their next message


@dataclass(frozen=True)
class Arrival:
    """Everything the dialog engine needs about the sender of an event, read together."""

    identity: Identity
    member: MemberView | None
    conversation: Conversation | None
    staff: StaffView | None
    shown: Shown  # the choices last shown as numbers (WeChat)
    unrecorded: Recording | None = None


async def arrival(
    ctx: Context, channel: str, external_id: str, *, event: bool = False, defer: bool = False
) -> Arrival:
    """Record that this chat account just wrote — or, with ``event``, clicked a menu,
    followed or scanned — and read who it is: the account (created on first contact), its
    member, its open conversation and its staff role, in one transaction.

    Recording opens WeChat's reply window, shows the account is reachable again and wakes
    the pushes that waited for it. It is a write, and on SQLite every write waits for the
    one write lock, so it is only written when it changes something: a new account, an
    unreachable one, pushes waiting for this member, or a window timestamp older than
    ``RECORD_AFTER``. Thirty seconds of staleness do not hurt the windows (48 hours after a
    message, one minute after a click): a push then only sees a window that closes up to
    30 s early and counts a few more messages against its quota, so it waits or takes a
    template sooner — never one more message than WeChat allows; and what waits is woken by
    the next arrival, which is always recorded while something waits. (The pushes woken are
    those the read saw waiting; one the dispatcher puts to wait between that read and the
    write waits for the next message, as one put to wait just after the write always did.)

    With ``defer``, the write of a known account is left to the caller: it comes back as
    ``unrecorded``, for ``record`` in the transaction that ends the message (``answered``),
    one write instead of two."""
    if not external_id:
        raise InvalidInput(field="channel", value=channel)
    now = ctx.now()
    async with ctx.db.read() as s:
        seen = await _sender(s, channel, external_id, now)
    if seen is not None:
        last = seen.last_event_at if event else seen.last_message_at
        if seen.reachable and not seen.waiting and _recent(last, now):
            return seen.arrival
        identity = seen.arrival.identity
        recording = Recording(identity.id, identity.member_id, event, now, seen.waiting)
        if defer:
            return replace(seen.arrival, unrecorded=recording)
        async with ctx.db.transaction() as s:
            await record(s, recording)
        return seen.arrival
    async with ctx.db.transaction() as s:  # first contact: created, and read again
        row = await identity_row(s, channel, external_id, now)
        row.last_inbound_at, row.reachable = now, True
        if event:
            row.last_event_at = now
        else:
            row.last_message_at = now
        await s.flush()
        seen = await _sender(s, channel, external_id, now)
        assert seen is not None
        return seen.arrival


async def record(s: Session, recording: Recording) -> None:
    """Write an arrival: its window opened, the account reachable, waiting pushes woken."""
    params = {"p_identity": recording.identity_id, "p_now": recording.at}
    await run(s, _RECORD[recording.event], params)
    if recording.member_id is not None and recording.wake:
        await outbox.wake(s, recording.member_id, recording.at)


async def arrive(ctx: Context, channel: str, external_id: str, *, event: bool = False) -> Identity:
    """``arrival`` for callers that only need the chat account."""
    return (await arrival(ctx, channel, external_id, event=event)).identity


def _record(moment: Any) -> Any:
    """The arrival's write: ``moment`` is the column of its window."""
    return (
        update(IdentityRow.__table__)
        .where(IdentityRow.id == bindparam("p_identity"))
        .values({IdentityRow.last_inbound_at: bindparam("p_now"), IdentityRow.reachable: True})
        .values({moment: bindparam("p_now")})
    )


_RECORD = {False: _record(IdentityRow.last_message_at), True: _record(IdentityRow.last_event_at)}


def _recent(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and timedelta(0) <= now - moment < RECORD_AFTER


@dataclass(frozen=True)
class _Seen:
    arrival: Arrival
    reachable: bool
    last_message_at: datetime | None
    last_event_at: datetime | None
    waiting: bool  # pushes of the member wait for their next message


_home, _desk = aliased(StoreRow), aliased(StoreRow)
# Built once: a statement this wide costs more to build than to run. Columns, not ORM
# objects (a third of the cost): the member's under their own names, for ``view_of``, and
# the conversation's (flow, step, data, updated_at), for ``_open``; the rest labelled.
_SENDER = (
    select(
        IdentityRow.id.label("account_id"),
        IdentityRow.member_id.label("account_member_id"),
        IdentityRow.reachable,
        IdentityRow.last_message_at,
        IdentityRow.last_event_at,
        outbox.waiting_for(IdentityRow.member_id).label("waiting"),
        *MemberRow.__table__.c,
        _home.code.label("home_store"),
        ConversationRow.flow,
        ConversationRow.step,
        ConversationRow.data,
        ConversationRow.updated_at,
        StaffRow.id.label("staff_id"),
        StaffRow.role.label("staff_role"),
        _desk.code.label("staff_store"),
        StaffRow.name.label("staff_name"),
        StaffRow.locale.label("staff_locale"),
        ChoicesRow.choices,
        ChoicesRow.updated_at.label("choices_at"),
        MemberTagRow.tag,
    )
    .outerjoin(MemberRow, MemberRow.id == IdentityRow.member_id)
    .outerjoin(_home, _home.id == MemberRow.home_store_id)
    .outerjoin(ConversationRow, ConversationRow.identity_id == IdentityRow.id)
    .outerjoin(StaffRow, and_(StaffRow.identity_id == IdentityRow.id, is_current()))
    .outerjoin(_desk, _desk.id == StaffRow.store_id)
    .outerjoin(ChoicesRow, ChoicesRow.identity_id == IdentityRow.id)
    .outerjoin(MemberTagRow, MemberTagRow.member_id == MemberRow.id)
    .where(
        IdentityRow.channel == bindparam("channel"),
        IdentityRow.external_id == bindparam("external_id"),
    )
    .order_by(MemberTagRow.tag)
)


async def _sender(s: Session, channel: str, external_id: str, now: datetime) -> _Seen | None:
    """The chat account with its member (and its tags), conversation, staff role and the
    choices last shown: one statement, a row per tag (everything else is at most one row)."""
    params = {"channel": channel, "external_id": external_id}
    rows = (await run(s, _SENDER, params)).all()
    if not rows:
        return None
    row = rows[0]
    member = None
    if row.id is not None:  # the member's
        tags = [r.tag for r in rows if r.tag is not None]
        member = view_of(row, row.home_store, tags)
    staff = None
    if row.staff_id is not None:
        staff = staff_view(
            row.staff_id,
            channel,
            external_id,
            row.staff_role,
            row.staff_store,
            row.staff_name,
            row.staff_locale,
        )
    arrival = Arrival(
        identity=Identity(row.account_id, channel, external_id, row.account_member_id),
        member=member,
        conversation=_open(row if row.flow is not None else None, now),
        staff=staff,
        shown=_shown(row.choices, row.choices_at, now),
    )
    return _Seen(arrival, row.reachable, row.last_message_at, row.last_event_at, bool(row.waiting))


async def identity_of(ctx: Context, identity_id: int) -> Identity:
    async with ctx.db.read() as s:
        row = await s.get(IdentityRow, identity_id)
        if row is None:
            raise InvalidInput(field="external_id", value=identity_id)
        return Identity(row.id, row.channel, row.external_id, row.member_id)


async def leave(ctx: Context, channel: str, external_id: str) -> None:
    """The chat account unfollowed or blocked us: no pushes until it writes again."""
    async with ctx.db.transaction() as s:
        await s.execute(
            update(IdentityRow)
            .where(IdentityRow.channel == channel, IdentityRow.external_id == external_id)
            .values(reachable=False)
        )


Choice = tuple[str, str]  # (label, payload)


@dataclass(frozen=True)
class Shown:
    """The choices last shown to a chat account as numbers, and when."""

    choices: list[Choice]
    at: datetime | None = None

    def unchanged(self, choices: list[Choice], now: datetime) -> bool:
        """Showing ``choices`` now would store nothing new: the same list, stored less than
        ``RECORD_AFTER`` ago (so skipping the write moves their timeout by less than that)."""
        return self.choices == choices and _recent(self.at, now)


async def save_choices(ctx: Context, channel: str, external_id: str, choices: list[Choice]) -> None:
    """Remember the (label, payload) choices just shown as numbers, for the next message."""
    async with ctx.db.transaction() as s:
        await _store_choices(s, channel, external_id, choices, ctx.now())


async def answered(
    ctx: Context,
    channel: str,
    external_id: str,
    *,
    delivery: str,
    status: str,
    reply: str | None,
    choices: list[Choice] | None,
    identity_id: int | None = None,
    recording: Recording | None = None,
) -> None:
    """The end of one inbound message, in one write transaction: the outcome of its
    delivery, so that a redelivery is answered from it (``storage.inbound_deliveries``), the
    choices its reply showed (None: leave the stored ones as they are) and the arrival
    ``arrival(defer=True)`` left unrecorded. ``identity_id``, when known, saves looking the
    chat account up again."""
    async with ctx.db.transaction() as s:
        account = await _account(s, channel, external_id, identity_id)
        if account is None:
            # The person erased themselves with this message (``forget_accounts``): their
            # reply names them, so it is not kept, nor anything else of theirs.
            await inbound_deliveries.settle(s, channel, delivery, status, None)
            return
        if recording is not None:
            await record(s, recording)
        if choices is not None:
            await _store_choices(s, channel, external_id, choices, ctx.now(), account)
        await inbound_deliveries.settle(s, channel, delivery, status, reply)


_ACCOUNT_BY_ID = select(IdentityRow.id).where(IdentityRow.id == bindparam("p_id"))
_ACCOUNT = select(IdentityRow.id).where(
    IdentityRow.channel == bindparam("p_channel"),
    IdentityRow.external_id == bindparam("p_external_id"),
)


async def _account(
    s: Session, channel: str, external_id: str, identity_id: int | None
) -> int | None:
    """The chat account's id, if it (still) exists (statements built once: every message
    asks)."""
    if identity_id is not None:
        return (await run(s, _ACCOUNT_BY_ID, {"p_id": identity_id})).scalar()
    params = {"p_channel": channel, "p_external_id": external_id}
    return (await run(s, _ACCOUNT, params)).scalar()


async def _store_choices(
    s: Session,
    channel: str,
    external_id: str,
    choices: list[Choice],
    now: datetime,
    identity_id: int | None = None,
) -> None:
    """The choices, for numbers typed next; and each choice under its link's key, for a link
    tapped in this or any older message (``storage.buttons.link_key``)."""
    if identity_id is None:
        identity_id = (await identity_row(s, channel, external_id, now)).id
    values = {"identity_id": identity_id, "choices": [list(c) for c in choices], "updated_at": now}
    await upsert(s, ChoicesRow.__table__, values, conflict=["identity_id"])
    await buttons.keep_links(s, link_scope(channel, external_id), [p for _, p in choices], now)


def link_scope(channel: str, external_id: str) -> str:
    """Whose links: a link's key is made for the chat account it is shown to."""
    return f"{channel}:{external_id}"


def _shown(choices: list[list[str]] | None, at: datetime | None, now: datetime) -> Shown:
    """None once they are older than the conversation timeout (a number typed tomorrow is
    just a number)."""
    if choices is None or at is None or now - at > TIMEOUT:
        return Shown([])
    return Shown([(str(label), str(payload)) for label, payload in choices], at)


async def load_conversation(ctx: Context, identity_id: int) -> Conversation | None:
    """The open conversation of this chat account, or None (none, or timed out)."""
    async with ctx.db.read() as s:
        return _open(await s.get(ConversationRow, identity_id), ctx.now())


def _open(row: ConversationRow | Row[Any] | None, now: datetime) -> Conversation | None:
    """The conversation of a row (or of a Core row with its columns), unless there is
    none or it timed out."""
    if row is None or now - row.updated_at > TIMEOUT:
        return None
    return Conversation(row.flow, row.step, dict(row.data))


async def save_conversation(
    ctx: Context, identity_id: int, flow: str, step: str, data: dict[str, Any]
) -> None:
    """One statement (insert or update), so a concurrent end of the same conversation (two
    taps at once) cannot make it fail half-way."""
    values = {"flow": flow, "step": step, "data": dict(data), "updated_at": ctx.now()}
    async with ctx.db.transaction() as s:
        await upsert(
            s, ConversationRow.__table__, {"identity_id": identity_id, **values}, ["identity_id"]
        )


async def finish_step(
    ctx: Context, identity_id: int, flow: str, step: str, answer: dict[str, Any]
) -> None:
    """End the conversation after its ``once`` step, keeping what that step answered: a
    second tap of its button (a double tap, an old WeChat link) is shown the same answer —
    the coupon code — instead of the menu over it, until the next conversation begins or
    the timeout."""
    await save_conversation(ctx, identity_id, flow, step + DONE, answer)


async def end_conversation(ctx: Context, identity_id: int) -> None:
    async with ctx.db.transaction() as s:
        await s.execute(delete(ConversationRow).where(ConversationRow.identity_id == identity_id))


async def prune(ctx: Context) -> int:
    """Forget conversations and shown choices older than the timeout (run daily): they
    are no longer continued, and a registration left half-way holds a name and a phone."""
    before = ctx.now() - TIMEOUT
    async with ctx.db.transaction() as s:
        ended = await s.execute(delete(ConversationRow).where(ConversationRow.updated_at < before))
        await s.execute(delete(ChoicesRow).where(ChoicesRow.updated_at < before))
        return rowcount(ended) or 0


async def claim_step(ctx: Context, identity_id: int, flow: str, step: str) -> bool:
    """Move the conversation off ``step`` atomically; only one caller can win. This is how a
    double tap on "confirm" redeems, books or registers once."""
    async with ctx.db.transaction() as s:
        result = await s.execute(
            update(ConversationRow)
            .where(
                ConversationRow.identity_id == identity_id,
                ConversationRow.flow == flow,
                ConversationRow.step == step,
            )
            .values(step=step + CLAIMED, updated_at=ctx.now())
        )
        return bool(rowcount(result))


async def forget_accounts(s: Session, identity_ids: list[int]) -> None:
    """Erasing a person (``core.people.erasure``): their chat accounts go, with their
    conversations, choices and message counts, so no chat id of theirs stays; a message
    from one of them later is a stranger's first contact. An account of a current staff
    member (theirs to keep while they work here) is only detached from the member; rows
    that keep a past (a removed staff member's, an invite or link code used) keep no
    account."""
    working = set(
        await s.scalars(
            select(StaffRow.identity_id).where(StaffRow.identity_id.in_(identity_ids), is_current())
        )
    )
    await s.execute(update(IdentityRow).where(IdentityRow.id.in_(working)).values(member_id=None))
    await s.execute(delete(ConversationRow).where(ConversationRow.identity_id.in_(identity_ids)))
    await s.execute(delete(ChoicesRow).where(ChoicesRow.identity_id.in_(identity_ids)))
    gone = [i for i in identity_ids if i not in working]
    await service_messages.forget(s, gone)
    await outbox.forget_accounts(s, gone)
    for column in (
        LinkCodeRow.used_by_identity_id,
        StaffInviteRow.used_by_identity_id,
        StaffRow.identity_id,
    ):
        await s.execute(update(column.class_).where(column.in_(gone)).values({column: None}))
    await s.execute(delete(IdentityRow).where(IdentityRow.id.in_(gone)))


async def forget_mentioning(s: Session, needles: list[str]) -> None:
    """Erasing a person (``core.people.erasure``): other people's conversations and choices that
    mention them (a clerk half-way through a sale to them, their name as a choice) end."""
    await s.execute(delete(ConversationRow).where(mentioning(ConversationRow.data, needles)))
    await s.execute(delete(ChoicesRow).where(mentioning(ChoicesRow.choices, needles)))
