"""What a push gave follows what was delivered: a marketing push with a gift (a campaign's
coupon, a birthday or win-back gift) that is given up — skipped or failed — takes its gift
back, and a campaign member whose message was given up is no longer counted as reached.

Gift coupons are issued when their push is queued (``core.ledger.coupons.hand_out``), so that the
message can carry the code. The push may then never go: consent withdrawn, the bot blocked,
the member waited for in vain. ``take_back`` runs in the transaction that gives the push up
(``core.pushes.work_queue``, ``core.pushes.outbox``), so the gift and the figures never
disagree with the outbox, also when a dispatcher dies. A coupon already used stays: the
member had it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from core import audit
from storage.models import CampaignMemberRow, CampaignRow, CouponRow, RewardStockRow
from storage.session import Session, rowcount

CAMPAIGN = "campaign"  # core.insights.campaigns.KIND (which imports the outbox, and so this module)
# The pushes that bring a gift, and where their parameters carry its code. Only these: a
# coupon reminder carries the code of a coupon the member already had (perhaps paid for).
GIFT_CODES = {CAMPAIGN: "coupon", "birthday": "coupon_code", "winback": "coupon_code"}

GivenUp = tuple[int | None, str, dict[str, Any]]  # an outbox row's member, kind and params


async def take_back(s: Session, given_up: Iterable[GivenUp], now: datetime, reason: str) -> None:
    """The gifts of these pushes, given up now, taken back: unused coupons deleted (a goods
    reward's pieces returned to its stock), campaign members no longer reached."""
    rows = [(member, kind, params) for member, kind, params in given_up if member is not None]
    codes = [str(p[GIFT_CODES[kind]]) for _, kind, p in rows if p.get(GIFT_CODES.get(kind, ""))]
    if codes:
        await _void(s, codes, now, reason)
    campaign_members = [
        (int(p["campaign_id"]), member) for member, kind, p in rows if kind == CAMPAIGN
    ]
    if campaign_members:
        await _unreach(s, campaign_members, now)


async def _void(s: Session, codes: list[str], now: datetime, reason: str) -> None:
    coupons = (
        await s.execute(
            select(CouponRow.id, CouponRow.member_id, CouponRow.reward_id)
            .where(CouponRow.code.in_(codes), CouponRow.used_at.is_(None))
            .with_for_update()
        )
    ).all()
    if not coupons:
        return
    ids = [coupon_id for coupon_id, _, _ in coupons]
    await s.execute(
        update(CampaignMemberRow).where(CampaignMemberRow.coupon_id.in_(ids)).values(coupon_id=None)
    )
    await s.execute(delete(CouponRow).where(CouponRow.id.in_(ids)))
    for reward_id, pieces in Counter(reward_id for _, _, reward_id in coupons).items():
        # A goods reward's pickup codes give their pieces back (a coupon has no stock row).
        await s.execute(
            update(RewardStockRow)
            .where(RewardStockRow.reward_id == reward_id, RewardStockRow.taken >= pieces)
            .values(taken=RewardStockRow.taken - pieces)
        )
    voided = [(member, {"coupon_id": coupon, "reason": reason}) for coupon, member, _ in coupons]
    await audit.record_many(s, now, audit.SYSTEM, "coupon.voided", voided)


async def _unreach(s: Session, members: list[tuple[int, int]], now: datetime) -> None:
    """Campaign members whose message was given up: out of the reached, once each."""
    unreached: Counter[int] = Counter()
    for campaign_id, member_id in members:
        result = await s.execute(
            update(CampaignMemberRow)
            .where(
                CampaignMemberRow.campaign_id == campaign_id,
                CampaignMemberRow.member_id == member_id,
                CampaignMemberRow.given_up_at.is_(None),
            )
            .values(given_up_at=now)
        )
        unreached[campaign_id] += int(rowcount(result) or 0)
    for campaign_id, count in unreached.items():
        if count:
            await s.execute(
                update(CampaignRow)
                .where(CampaignRow.id == campaign_id)
                .values(reached=CampaignRow.reached - count)
            )
