"""Tiers: the spending window, and moving a member up or down.

A sale may move a member up at once, an undone sale takes back the upgrade it made, and
the periodic review is the only place a member moves down. They share the window's spending
and one way of recording a change (row, push, audit), kept here.

A tier brought from an old system (``core.ledger.moving_in``, reason ``migrated``) counts as
earned on the day it was brought: the review keeps at least that tier for one window, as it
would for spending made that day, then judges the member on their spending here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from core import audit
from core.clock import add_months
from core.context import Context
from core.integrations import webhooks
from core.ledger.points import Param
from core.people.members import lock_member
from core.pushes import outbox
from storage.models import MemberRow, SaleRow, TierChangeRow
from storage.session import Session


def window_start(ctx: Context) -> datetime:
    return add_months(ctx.now().astimezone(ctx.zone), -ctx.shop.tiers.window_months)


def window_spend_query(member_id: int | Param, since: datetime | Param) -> Select[int]:
    return select(func.coalesce(func.sum(SaleRow.amount_fen - SaleRow.refunded_fen), 0)).where(
        SaleRow.member_id == member_id, SaleRow.sold_at > since
    )


MIGRATED = "migrated"  # the reason of a tier brought from an old system


async def _held_tiers(s: Session, since: datetime) -> dict[int, str]:
    """Tiers brought from an old system inside the window, by member: the floor the review
    keeps until the window has passed."""
    rows = await s.execute(
        select(TierChangeRow.member_id, TierChangeRow.to_tier).where(
            TierChangeRow.reason == MIGRATED, TierChangeRow.created_at > since
        )
    )
    return dict(rows.all())


async def window_spend(s: Session, ctx: Context, member_id: int) -> int:
    """Net spending (sales less refunds) inside the tier window."""
    return int(await s.scalar(window_spend_query(member_id, window_start(ctx))) or 0)


async def change_tier(
    s: Session,
    ctx: Context,
    member: MemberRow,
    to: str,
    reason: str,
    spend_fen: int,
    notify: bool = True,
    sale_id: int | None = None,
) -> TierChangeRow:
    now = ctx.now()
    change = TierChangeRow(
        member_id=member.id,
        from_tier=member.tier,
        to_tier=to,
        reason=reason,
        spend_fen=spend_fen,
        created_at=now,
        sale_id=sale_id,
    )
    s.add(change)
    await s.flush()
    if notify:
        await outbox.enqueue(
            s,
            now=now,
            member_id=member.id,
            marketing_consent=member.marketing_consent,
            kind="tier_changed",
            dedup_key=f"tier:{change.id}",
            params={"from": member.tier, "to": to, "spend_fen": spend_fen},
        )
        await webhooks.emit(
            s,
            now,
            "tier.changed",
            member_id=member.id,
            data={
                "from": member.tier,
                "to": to,
                "reason": reason,
                **webhooks.money("spend", spend_fen),
            },
        )
    audit.record(
        s, now, audit.SYSTEM, "tier.changed", member.id, frm=member.tier, to=to, reason=reason
    )
    member.tier = to
    return change


async def undo_upgrade(s: Session, ctx: Context, member: MemberRow, sale: SaleRow) -> None:
    """An undone sale never happened, so neither did the upgrade it made: the member goes
    back to the tier they had, or the one their spending without it reaches (a tier that
    moved on since is left alone)."""
    change = await s.scalar(select(TierChangeRow).where(TierChangeRow.sale_id == sale.id))
    if change is None or member.tier != change.to_tier:
        return
    await s.flush()  # the refunded amount, for the window spend
    spend = await window_spend(s, ctx, member.id)
    reached = ctx.shop.tier_for_spend(spend).code
    back = max(change.from_tier, reached, key=ctx.shop.tier_rank)
    if back != member.tier:
        await change_tier(s, ctx, member, back, "undo", spend)


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_tier: str
    to_tier: str
    spend_fen: int


async def review_tiers(ctx: Context, *, notify: bool = True) -> list[TierChange]:
    """The periodic review: every member gets the tier their window spending earns. This is
    the only place a member moves down. ``notify`` off queues no push (historical data)."""
    now = ctx.now()
    since = add_months(now.astimezone(ctx.zone), -ctx.shop.tiers.window_months)
    async with ctx.db.read() as s:
        spends: dict[int, int] = {
            member_id: int(total)
            for member_id, total in await s.execute(
                select(SaleRow.member_id, func.sum(SaleRow.amount_fen - SaleRow.refunded_fen))
                .where(SaleRow.sold_at > since)
                .group_by(SaleRow.member_id)
            )
        }
        tiers = (await s.execute(select(MemberRow.id, MemberRow.tier))).all()
        held = await _held_tiers(s, since)

    def earned(member_id: int, spend: int) -> str:
        reached = ctx.shop.tier_for_spend(spend).code
        floor = held.get(member_id)
        return max(reached, floor, key=ctx.shop.tier_rank) if floor else reached

    due = [
        member_id
        for member_id, tier in tiers
        if earned(member_id, spends.get(member_id, 0)) != tier
    ]
    changes: list[TierChange] = []
    for member_id in due:
        async with ctx.db.transaction() as s:
            member = await lock_member(s, member_id)
            spend = await window_spend(s, ctx, member_id)  # again, under the lock
            reached = earned(member_id, spend)
            if reached != member.tier:
                changes.append(TierChange(member_id, member.tier, reached, spend))
                await change_tier(s, ctx, member, reached, "review", spend, notify)
    return changes
