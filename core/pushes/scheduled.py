"""What the scheduled push jobs share: queueing the pushes a job planned, in small
transactions, with a gift coupon for those that carry one.

A job selects its members with one query, turns them into ``Planned`` pushes and hands
them here. Each batch of ``BATCH`` is one transaction that first looks again — who is still
reachable (consent withdrawn, data deleted or chat blocked since the selection) and which
dedup keys are already queued — and then enqueues the rest. Small batches keep the write
lock short, so the counter's sales do not wait behind a weekly job.

A gift coupon is issued only for a push that was really queued: its code is drawn first
and written in the outbox row's parameters, and the coupon is issued for the rows that went
in, in the same transaction. A second run, a late run or a run after a restart therefore
neither sends a message twice nor gives a second coupon, and nobody who declined marketing
gets one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core import audit
from core.context import Context
from core.errors import UnknownReward
from core.ledger.coupons import coupon_expires_at, fresh_coupon_codes, hand_out
from core.pushes import outbox
from core.pushes.audience import reachable
from storage.models import MemberRow, OutboxRow, RewardRow
from storage.session import Session

# Pushes per transaction, and ids per IN (…) list: a batch of gifts holds SQLite's write
# lock about 80 ms, and win-back's first run on 100 000 members took a sixth longer in
# batches of 200.
BATCH = 500

# The gift fields of a push that can carry a coupon (birthday, win-back); None: no coupon.
NO_GIFT: dict[str, Any] = {
    "coupon_code": None,
    "reward": None,
    "value_fen": None,
    "valid_until": None,
}


@dataclass(frozen=True)
class Planned:
    """A push a job wants to queue; ``params`` exactly as the dispatcher renders them."""

    member_id: int
    kind: str
    dedup_key: str
    params: dict[str, Any]


def gift_params(ctx: Context, reward: RewardRow, now: datetime) -> dict[str, Any]:
    """The gift fields of a coupon of ``reward`` issued ``now``, but its code; valid until
    the shop-local day it expires, the day the member's coupon list shows too."""
    return {
        "reward": reward.code,
        "value_fen": reward.coupon_value_fen,
        "valid_until": coupon_expires_at(reward, now).astimezone(ctx.zone).date().isoformat(),
    }


async def queue(ctx: Context, planned: Sequence[Planned], *, gift: str = "") -> int:
    """Queue ``planned`` pushes; with ``gift`` (a reward code, "" = none) every push that is
    queued brings a coupon of that reward. Returns how many were queued."""
    queued = 0
    for start in range(0, len(planned), BATCH):
        async with ctx.db.transaction() as s:
            queued += await _queue_batch(s, ctx, planned[start : start + BATCH], gift)
    return queued


async def _queue_batch(s: Session, ctx: Context, batch: Sequence[Planned], gift: str) -> int:
    now = ctx.now()
    reward = await _gift_reward(s, gift)
    members = {p.member_id for p in batch}
    consent = {
        member_id: consented
        for member_id, consented in await s.execute(
            select(MemberRow.id, MemberRow.marketing_consent).where(
                MemberRow.id.in_(sorted(members)), reachable(marketing=False)
            )
        )
    }
    taken = set(
        await s.scalars(
            select(OutboxRow.dedup_key).where(OutboxRow.dedup_key.in_([p.dedup_key for p in batch]))
        )
    )
    wanted = [p for p in batch if p.member_id in consent and p.dedup_key not in taken]
    codes: dict[str, str] = {}  # dedup key: its gift's coupon code
    params = {p.dedup_key: p.params for p in wanted}
    if reward is not None:
        fields = gift_params(ctx, reward, now)
        drawn = await fresh_coupon_codes(s, len(wanted))
        codes = {p.dedup_key: code for p, code in zip(wanted, drawn, strict=True)}
        params = {key: p | fields | {"coupon_code": codes[key]} for key, p in params.items()}
    queued = await outbox.enqueue_many(
        s,
        now=now,
        pushes=[
            (p.member_id, consent[p.member_id], p.kind, p.dedup_key, params[p.dedup_key])
            for p in wanted
        ],
    )  # without those who declined marketing, or queued by someone else meanwhile
    gifted = [p for p in wanted if p.dedup_key in queued]
    if reward is not None and gifted:
        await hand_out(
            s,
            reward,
            [(p.member_id, {"push": p.dedup_key}) for p in gifted],
            now,
            actor=audit.SYSTEM,
            codes=[codes[p.dedup_key] for p in gifted],
        )
    return len(queued)


async def _gift_reward(s: Session, code: str) -> RewardRow | None:
    """The catalogue's reward for a gift ("" = none). The shop file names only rewards it
    has, so a missing one means the catalogue was not synced: refuse rather than promise a
    coupon in a message without one."""
    if not code:
        return None
    reward = await s.scalar(select(RewardRow).where(RewardRow.code == code, RewardRow.active))
    if reward is None:
        raise UnknownReward(reward=code)
    return reward
