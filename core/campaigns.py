"""Campaigns: a message (optionally with a coupon) from the shop to a segment of members,
and what came of it.

Who is reached: the members of the segment who accepted marketing messages, never a
member who deleted their data. Sending is one transaction: the campaign, one row per
member reached (with the coupon it gave them), the coupons, one outbox message per member
(kind ``campaign``, a marketing kind, dedup key ``campaign:{id}:{member}``) and the audit
entry. The same campaign confirmed again by the same person within ``REPEAT_MINUTES``
(a double tap, a retried request) is not sent again: its first result is returned.

Managers send to the members of their own store; owners to any store or to all members.

Results: how many were reached, how many *came back* — bought (a purchase: a sale not
refunded in full, in any store) within N days after the campaign was sent — and what they
spent (net of refunds), and how many of the campaign's coupons were used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, outbox
from core.audience import is_deleted
from core.context import Context
from core.errors import InvalidInput, NotAllowed, UnknownReward
from core.loyalty import give_coupon
from core.members import store_id
from core.segments import Segment, Stage, is_purchase, net_amount, select_members
from core.staff import Role, StaffView
from core.stats import local_midnight
from storage.models import (
    CampaignMemberRow,
    CampaignRow,
    CouponRow,
    MemberRow,
    RewardRow,
    SaleRow,
    StaffRow,
    StoreRow,
)

KIND = "campaign"
MESSAGE_MAX = 500
REPEAT_MINUTES = 10  # the same campaign confirmed again within this time is sent once
CHUNK = 500  # member ids per IN (…) list, well below every database's parameter limit


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
    """Members who may get marketing: consented, and not deleted (name and phone gone)."""
    return and_(MemberRow.marketing_consent.is_(True), ~is_deleted())


async def _reachable_ids(s: AsyncSession, ids: Sequence[int]) -> list[int]:
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


async def preview(ctx: Context, segment: Segment) -> int:
    """How many members a campaign to ``segment`` would reach (opt-outs left out)."""
    return len(await reached_members(ctx, segment))


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignResult:
    campaign_id: int | None  # None: nobody to reach, so no campaign was made
    reached: int
    coupons: int
    sent_at: datetime | None
    repeated: bool = False  # the same campaign was already sent moments ago: not sent again


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
) -> CampaignResult:
    """Send ``message`` (and a coupon of ``reward`` to each, if given) to the members of
    ``segment`` — restricted to ``store``'s members when given — who accepted marketing.
    Nobody to reach: nothing is created (``campaign_id`` None)."""
    message = _check_message(message)
    store = campaign_store(staff, segment, store)
    segment = _for_store(segment, store)
    stored_segment = segment_to_json(segment)
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
        earlier = await _same_campaign(
            s, now, staff.id, sid, stored_segment, message, reward_row.id if reward_row else None
        )
        if earlier is not None:
            return earlier
        # Consent is checked again here: it may have been withdrawn since the selection.
        members = await _reachable_ids(s, candidates)
        if not members:
            return CampaignResult(campaign_id=None, reached=0, coupons=0, sent_at=None)
        campaign = CampaignRow(
            created_by=staff.id,
            store_id=sid,
            segment=stored_segment,
            message=message,
            reward_id=reward_row.id if reward_row else None,
            created_at=now,
            sent_at=now,
            reached=len(members),
        )
        s.add(campaign)
        await s.flush()
        coupons = 0
        for member_id in members:
            params: dict[str, Any] = {"campaign_id": campaign.id, "message": message}
            if store is not None:
                params["store"] = store
            coupon_id = None
            if reward_row is not None:
                coupon = await give_coupon(
                    s, member_id, reward_row, now, actor=staff.actor, campaign_id=campaign.id
                )
                coupon_id, coupons = coupon.id, coupons + 1
                params |= {
                    "coupon": coupon.code,
                    "reward": reward_row.code,
                    "amount_fen": coupon.value_fen,
                    "expires_at": coupon.expires_at.isoformat(),
                }
            s.add(
                CampaignMemberRow(campaign_id=campaign.id, member_id=member_id, coupon_id=coupon_id)
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
            reached=len(members),
        )
        return CampaignResult(
            campaign_id=campaign.id, reached=len(members), coupons=coupons, sent_at=now
        )


async def _same_campaign(
    s: AsyncSession,
    now: datetime,
    staff_id: int,
    sid: int | None,
    segment: dict[str, Any],
    message: str,
    reward_id: int | None,
) -> CampaignResult | None:
    """The same campaign by the same person, sent within ``REPEAT_MINUTES``, if any."""
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
        if (row.store_id, row.segment, row.reward_id) == (sid, segment, reward_id):
            coupons = await s.scalar(
                select(func.count(CampaignMemberRow.coupon_id)).where(
                    CampaignMemberRow.campaign_id == row.id
                )
            )
            return CampaignResult(
                campaign_id=row.id,
                reached=row.reached,
                coupons=int(coupons or 0),
                sent_at=row.sent_at,
                repeated=True,
            )
    return None


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStats:
    campaign_id: int
    sent_at: datetime
    store: str | None  # None: all stores
    stages: tuple[Stage, ...]
    message: str
    reward: str | None
    reached: int
    within_days: int
    came_back: int  # members reached who bought within ``within_days`` after sent_at
    came_back_fen: int  # what they spent then (net of refunds)
    coupons_issued: int
    coupons_used: int


async def campaign_results(
    ctx: Context, *, store: str | None, start: date, end: date, within_days: int = 30
) -> list[CampaignStats]:
    """Campaigns sent on ``start``..``end`` (shop-local days, both included) — those for
    ``store``, or all of them when None — oldest first, with what came of each."""
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    if within_days < 1:
        raise InvalidInput(field="period", value=within_days)
    since, until = local_midnight(ctx, start), local_midnight(ctx, end + timedelta(days=1))
    window = timedelta(days=within_days)
    query = (
        select(CampaignRow, StoreRow.code, RewardRow.code)
        .outerjoin(StoreRow, StoreRow.id == CampaignRow.store_id)
        .outerjoin(RewardRow, RewardRow.id == CampaignRow.reward_id)
        .where(CampaignRow.sent_at >= since, CampaignRow.sent_at < until)
        .order_by(CampaignRow.sent_at, CampaignRow.id)
    )
    results = []
    async with ctx.db.read() as s:
        if store is not None:
            query = query.where(CampaignRow.store_id == await store_id(s, store))
        for campaign, store_code, reward_code in (await s.execute(query)).all():
            sent_at = campaign.sent_at
            assert sent_at is not None
            came_back, spent = (
                await s.execute(
                    select(
                        func.count(distinct(SaleRow.member_id)),
                        func.coalesce(func.sum(net_amount()), 0),
                    )
                    .join(CampaignMemberRow, CampaignMemberRow.member_id == SaleRow.member_id)
                    .where(
                        CampaignMemberRow.campaign_id == campaign.id,
                        SaleRow.sold_at > sent_at,
                        SaleRow.sold_at <= sent_at + window,
                        is_purchase(),
                    )
                )
            ).one()
            issued, used = (
                await s.execute(
                    select(func.count(CouponRow.id), func.count(CouponRow.used_at))
                    .join(CampaignMemberRow, CampaignMemberRow.coupon_id == CouponRow.id)
                    .where(CampaignMemberRow.campaign_id == campaign.id)
                )
            ).one()
            results.append(
                CampaignStats(
                    campaign_id=campaign.id,
                    sent_at=sent_at,
                    store=store_code,
                    stages=tuple(
                        stage
                        for stage in Stage
                        if stage.value in campaign.segment.get("stages", ())
                    ),
                    message=campaign.message,
                    reward=reward_code,
                    reached=campaign.reached,
                    within_days=within_days,
                    came_back=int(came_back),
                    came_back_fen=int(spent or 0),
                    coupons_issued=int(issued),
                    coupons_used=int(used),
                )
            )
    return results
