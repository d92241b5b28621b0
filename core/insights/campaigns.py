"""Campaigns: a message (optionally with a coupon) from the shop to a segment of members,
and who is reached.

Who is reached: the members of the segment who accepted marketing messages, never a
member who deleted their data. Sending is one transaction: the campaign, one row per
member reached (with the coupon it gave them), the coupons, one outbox message per member
(kind ``campaign``, a marketing kind, dedup key ``campaign:{id}:{member}``) and the audit
entry. The same campaign confirmed again by the same person within ``REPEAT_MINUTES``
(a double tap, a retried request) is not sent again: its first result is returned.

Managers send to the members of their own store; owners to any store or to all members.

**Measured campaigns.** A campaign may carry a second message (variant B) and keeps a
*holdout* aside: ``floor(n × holdout_percent / 100)`` of its ``n`` members (the shop file's
``[campaigns] holdout_percent``, 10 by default, or what staff chose), drawn at random, get
nothing — no message, no coupon, no outbox row. The others are shuffled into A and B, half
each (A gets the odd one); without B they all get A. A campaign reaching fewer than
``min_members`` has no holdout. The draw is made once, in the sending transaction, and kept
per member (``campaign_members.variant``): a repeated confirmation returns the first
campaign, and results only read the draw, so nobody is ever drawn again.

What came of a campaign, measured against its holdout, is ``core.insights.campaign_results``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from core import audit
from core.context import Context
from core.errors import InvalidInput, NotAllowed, UnknownReward
from core.insights import digests
from core.insights.segments import Segment, select_members
from core.ledger.coupons import IssuedCoupon, hand_out
from core.people.members import store_id
from core.people.staff import Role, StaffView
from core.pushes import outbox
from core.pushes.audience import reachable
from core.pushes.routes import marketing_waits_until
from storage.models import (
    CampaignMemberRow,
    CampaignRow,
    MemberRow,
    RewardRow,
    StaffRow,
)
from storage.session import Session

KIND = "campaign"
MESSAGE_MAX = 500
REPEAT_MINUTES = 10  # the same campaign confirmed again within this time is sent once
CHUNK = 500  # member ids per IN (…) list, well below every database's parameter limit
A, B, HOLDOUT = "a", "b", "holdout"  # the groups a campaign's members are drawn into
_draws = random.SystemRandom()


# --- segments as stored with a campaign ---------------------------------------------------


def segment_to_json(segment: Segment) -> dict[str, Any]:
    """The segment as the campaign row keeps it (sorted lists, so equal segments compare
    equal)."""
    return {
        "stages": sorted(str(stage) for stage in segment.stages),
        "tiers": sorted(segment.tiers),
        "store": segment.store,
        "tags": sorted(segment.tags),
        "birthday_month": segment.birthday_month,
        "has_unused_coupon": segment.has_unused_coupon,
        "marketing_consent_only": segment.marketing_consent_only,
    }


def segment_from_json(data: dict[str, Any]) -> Segment:
    return Segment(
        stages=frozenset(data.get("stages", ())),
        tiers=frozenset(data.get("tiers", ())),
        store=data.get("store"),
        tags=frozenset(data.get("tags", ())),
        birthday_month=data.get("birthday_month"),
        has_unused_coupon=data.get("has_unused_coupon"),
        marketing_consent_only=bool(data.get("marketing_consent_only", False)),
    )


def _for_store(segment: Segment, store: str | None) -> Segment:
    """The segment restricted to ``store`` (members whose home store it is), if given."""
    if store is None:
        return segment
    if segment.store is not None and segment.store != store:
        raise InvalidInput(field="store", value=store)
    return replace(segment, store=store)


# --- who is reached -----------------------------------------------------------------------


def _reachable() -> ColumnElement[bool]:
    """Members the campaign can reach: consented, not deleted, with a chat account that
    has not blocked or unfollowed us. Others would be gifted a coupon and counted as
    reached, and the A/B results would measure people who never saw the message."""
    return reachable(marketing=True)


async def _reachable_ids(s: Session, ids: Sequence[int]) -> list[int]:
    found: list[int] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.extend(
            await s.scalars(
                select(MemberRow.id)
                .where(MemberRow.id.in_(chunk), _reachable())
                .order_by(MemberRow.id)
            )
        )
    return found


async def reached_members(ctx: Context, segment: Segment) -> list[int]:
    """Ids of the members a campaign to ``segment`` would reach, ascending."""
    ids = await select_members(ctx, replace(segment, marketing_consent_only=True))
    async with ctx.db.read() as s:
        return await _reachable_ids(s, ids)


async def preview(ctx: Context, segment: Segment, *, digest_item: int | None = None) -> int:
    """How many members a campaign to ``segment`` — or to the members counted in a digest
    line — would reach (opt-outs left out), the holdout included."""
    if digest_item is None:
        return len(await reached_members(ctx, segment))
    async with ctx.db.read() as s:
        return len(await _reachable_ids(s, await digests.item_members(s, digest_item)))


def holdout_size(ctx: Context, members: int, percent: int | None = None) -> int:
    """How many of a campaign's ``members`` are kept aside: ``percent`` (default: the shop
    file's) of them, rounded down; none below ``min_members``."""
    rules = ctx.shop.campaigns
    percent = rules.holdout_percent if percent is None else percent
    if not 0 <= percent <= 50:
        raise InvalidInput(field="holdout", value=percent)
    if members < rules.min_members:
        return 0
    return members * percent // 100


def draw_groups(members: Sequence[int], holdout: int, *, with_b: bool) -> dict[int, str]:
    """Each member's group, at random: ``holdout`` of them kept aside, the others A and B
    half each (A gets the odd one), or all A."""
    shuffled = list(members)
    _draws.shuffle(shuffled)
    groups = dict.fromkeys(shuffled[:holdout], HOLDOUT)
    for index, member_id in enumerate(shuffled[holdout:]):
        groups[member_id] = B if with_b and index % 2 else A
    return groups


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignResult:
    campaign_id: int | None  # None: nobody to reach, so no campaign was made
    reached: int  # members sent a message (A or B)
    coupons: int
    sent_at: datetime | None
    repeated: bool = False  # the same campaign was already sent moments ago: not sent again
    holdout: int = 0  # members kept aside, sent nothing
    variant_b: int = 0  # of ``reached``, members sent message B
    waits_until: datetime | None = None  # quiet hours: the messages go then, not now


def _check_message(message: str) -> str:
    message = message.strip()
    if not message or len(message) > MESSAGE_MAX:
        raise InvalidInput(field="message", max=MESSAGE_MAX)
    return message


def campaign_store(staff: StaffView, segment: Segment, store: str | None) -> str | None:
    """The store a campaign is for (None: all stores), after checking who may send it:
    managers only to their own store's members, owners to any store or all."""
    staff.require(Role.MANAGER)
    store = store if store is not None else segment.store
    if staff.role is not Role.OWNER and (store is None or store != staff.store):
        raise NotAllowed(needed=Role.OWNER.value)
    return store


async def create_and_send(
    ctx: Context,
    *,
    staff: StaffView,
    segment: Segment,
    message: str,
    reward: str | None,
    store: str | None,
    message_b: str | None = None,
    holdout_percent: int | None = None,
    digest_item: int | None = None,
) -> CampaignResult:
    """Send ``message`` (and a coupon of ``reward`` to each, if given) to the members of
    ``segment`` — restricted to ``store``'s members when given — who accepted marketing;
    with ``digest_item``, to exactly the members that digest line counted instead. With
    ``message_b``, half of them get that one; ``holdout_percent`` (default: the shop
    file's) of them get nothing (see the module docstring).
    Nobody to reach: nothing is created (``campaign_id`` None)."""
    message = _check_message(message)
    if message_b is not None:
        message_b = _check_message(message_b)
    store = campaign_store(staff, segment, store)
    segment = _for_store(segment, store)
    stored_segment = segment_to_json(segment)
    if digest_item is None:
        candidates = await select_members(ctx, replace(segment, marketing_consent_only=True))
    now = ctx.now()
    async with ctx.db.transaction() as s:
        # One campaign at a time per sender, so a repeat is seen also on PostgreSQL.
        await s.scalar(select(StaffRow.id).where(StaffRow.id == staff.id).with_for_update())
        sid = await store_id(s, store) if store is not None else None
        reward_row = None
        if reward is not None:
            reward_row = await s.scalar(
                select(RewardRow).where(RewardRow.code == reward, RewardRow.active)
            )
            if reward_row is None:
                raise UnknownReward(reward=reward)
        if digest_item is not None:
            candidates = await digests.winback_audience(s, digest_item, staff)
        # Consent is checked again here: it may have been withdrawn since the selection.
        members = await _reachable_ids(s, candidates)
        holdout = holdout_size(ctx, len(members), holdout_percent)
        percent = 0  # as kept with the campaign: the share really held out
        if holdout:
            percent = ctx.shop.campaigns.holdout_percent
            percent = percent if holdout_percent is None else holdout_percent
        earlier = await _same_campaign(
            s,
            now,
            staff.id,
            sid,
            stored_segment,
            (message, message_b, percent, digest_item),
            reward_row.id if reward_row else None,
        )
        if earlier is not None:
            return earlier
        if not members:
            return CampaignResult(campaign_id=None, reached=0, coupons=0, sent_at=None)
        groups = draw_groups(members, holdout, with_b=message_b is not None)
        campaign = CampaignRow(
            created_by=staff.id,
            store_id=sid,
            segment=stored_segment,
            message=message,
            message_b=message_b,
            holdout_percent=percent,
            digest_item_id=digest_item,
            reward_id=reward_row.id if reward_row else None,
            created_at=now,
            sent_at=now,
            reached=len(members) - holdout,
        )
        s.add(campaign)
        await s.flush()
        gifts: dict[int, IssuedCoupon] = {}
        if reward_row is not None:  # a goods gift takes a piece for each, or none at all
            sent: list[tuple[int, dict[str, object]]] = [
                (m, {"campaign_id": campaign.id}) for m in members if groups[m] != HOLDOUT
            ]
            coupons = await hand_out(s, reward_row, sent, now, actor=staff.actor)
            gifts = {coupon.member_id: coupon for coupon in coupons}
        for member_id in members:
            group = groups[member_id]
            if group == HOLDOUT:  # kept aside: recorded, never sent anything
                s.add(
                    CampaignMemberRow(campaign_id=campaign.id, member_id=member_id, variant=group)
                )
                continue
            text = message_b if group == B and message_b is not None else message
            params: dict[str, Any] = {"campaign_id": campaign.id, "message": text}
            if message_b is not None:
                params["variant"] = group
            if store is not None:
                params["store"] = store
            coupon_id = None
            if reward_row is not None:
                coupon = gifts[member_id]
                coupon_id = coupon.id
                params |= {
                    "coupon": coupon.code,
                    "reward": reward_row.code,
                    "amount_fen": coupon.value_fen,
                    "expires_at": coupon.expires_at.isoformat(),
                }
            s.add(
                CampaignMemberRow(
                    campaign_id=campaign.id, member_id=member_id, coupon_id=coupon_id, variant=group
                )
            )
            await outbox.enqueue(
                s,
                now=now,
                member_id=member_id,
                marketing_consent=True,
                kind=KIND,
                dedup_key=f"{KIND}:{campaign.id}:{member_id}",
                params=params,
            )
        audit.record(
            s,
            now,
            staff.actor,
            "campaign.sent",
            None,
            campaign_id=campaign.id,
            store=store,
            segment=stored_segment,
            reward=reward_row.code if reward_row else None,
            reached=campaign.reached,
            holdout=holdout,
            holdout_percent=percent,
            variant_b=message_b is not None,
            digest_item=digest_item,
        )
        return CampaignResult(
            campaign_id=campaign.id,
            reached=campaign.reached,
            coupons=len(gifts),
            sent_at=now,
            holdout=holdout,
            variant_b=sum(1 for group in groups.values() if group == B),
            waits_until=marketing_waits_until(now, ctx.shop.pushes, ctx.zone),
        )


async def _same_campaign(
    s: Session,
    now: datetime,
    staff_id: int,
    sid: int | None,
    segment: dict[str, Any],
    content: tuple[str, str | None, int, int | None],
    reward_id: int | None,
) -> CampaignResult | None:
    """The same campaign by the same person — messages, holdout and audience — sent within
    ``REPEAT_MINUTES``, if any, as it was sent then."""
    message = content[0]
    recent = await s.scalars(
        select(CampaignRow)
        .where(
            CampaignRow.created_by == staff_id,
            CampaignRow.created_at > now - timedelta(minutes=REPEAT_MINUTES),
            CampaignRow.message == message,
        )
        .order_by(CampaignRow.id)
    )
    for row in recent:
        same = (row.message, row.message_b, row.holdout_percent, row.digest_item_id) == content
        if same and (row.store_id, row.segment, row.reward_id) == (sid, segment, reward_id):
            counts = {
                variant: (int(n), int(coupons))
                for variant, n, coupons in await s.execute(
                    select(
                        CampaignMemberRow.variant,
                        func.count(),
                        func.count(CampaignMemberRow.coupon_id),
                    )
                    .where(CampaignMemberRow.campaign_id == row.id)
                    .group_by(CampaignMemberRow.variant)
                )
            }
            return CampaignResult(
                campaign_id=row.id,
                reached=row.reached,
                coupons=sum(coupons for _, coupons in counts.values()),
                sent_at=row.sent_at,
                repeated=True,
                holdout=counts.get(HOLDOUT, (0, 0))[0],
                variant_b=counts.get(B, (0, 0))[0],
            )
    return None
