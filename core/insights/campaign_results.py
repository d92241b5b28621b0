"""What came of campaigns: how many were reached, how many *came back* — bought (a
purchase: a sale not refunded in full, in any store) within N days after the campaign was
sent — and what they spent (net of refunds), and how many of the campaign's coupons were used.

Figures per group *g* (A, B, holdout), over the window of N (``came_back_days``) days
after ``sent_at`` (after it, up to and including ``sent_at + N days``):

- ``members`` n_g: members drawn into the group (for A and B: sent the message — a member
  whose message was given up, skipped or failed, counts nowhere and keeps no coupon);
- ``came_back`` b_g: of them, members with at least one purchase in the window;
- ``sales`` S_g: those purchases' amounts, net of refunds;
- ``coupons used`` U_g, worth V_g: the campaign's coupons of the group used in the window;
- ``points`` P_g: points earned on those purchases, less what refunds took back;
- conversion c_g = b_g / n_g.

Against the holdout *h* (only when it has members), for a variant *v* or both together:

- uplift = c_v − c_h (a difference of rates: 0.04 reads "+4.0 points");
- expected sales E_v = S_h / n_h × n_v (what v would have bought without the message,
  rounded half up to the fen); incremental sales I_v = S_v − E_v (may be negative);
- cost C_v = V_v + P_v × ``point_value_yuan`` (in fen): coupon value given away plus
  points given on the counted purchases (all of them, not only the incremental ones, so
  the cost is never understated);
- ROI = (I_v − C_v) / C_v; none when C_v is 0.

Over several campaigns (the reports' "campaign ROI"), the campaigns with a holdout count:
(ΣI − ΣC) / ΣC with every campaign's A and B together.

Apart from sending because results only read what sending stored (the campaign, its members
and their draw, its coupons), and change with the reports, not with who is reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, select

from core.context import Context
from core.errors import InvalidInput
from core.insights.campaigns import HOLDOUT, A, B
from core.insights.segments import Stage, is_purchase, net_amount
from core.insights.stats import local_midnight
from core.people.members import store_id
from storage.models import CampaignMemberRow, CampaignRow, CouponRow, RewardRow, SaleRow, StoreRow
from storage.session import Session


@dataclass(frozen=True)
class GroupResult:
    """What one group of a campaign did within the window (figures: module docstring)."""

    group: str  # A, B or HOLDOUT
    members: int
    came_back: int
    sales_fen: int
    coupons_used: int
    coupon_value_fen: int
    points: int

    @property
    def conversion(self) -> float:
        return self.came_back / self.members if self.members else 0.0

    def __add__(self, other: GroupResult) -> GroupResult:
        return GroupResult(
            group=self.group if self.group == other.group else f"{self.group}+{other.group}",
            members=self.members + other.members,
            came_back=self.came_back + other.came_back,
            sales_fen=self.sales_fen + other.sales_fen,
            coupons_used=self.coupons_used + other.coupons_used,
            coupon_value_fen=self.coupon_value_fen + other.coupon_value_fen,
            points=self.points + other.points,
        )


@dataclass(frozen=True)
class Uplift:
    """A group measured against the holdout (figures: module docstring)."""

    conversion_uplift: float  # c_v − c_h
    expected_fen: int  # E_v: the holdout's sales per member × the group's members
    incremental_fen: int  # I_v = S_v − E_v
    cost_fen: int  # C_v: coupon value used + points given × point value

    @property
    def roi(self) -> float | None:
        """(I − C) / C; None when nothing was given away."""
        return (self.incremental_fen - self.cost_fen) / self.cost_fen if self.cost_fen else None


def uplift(group: GroupResult, holdout: GroupResult, point_value_fen: int) -> Uplift | None:
    """``group`` against ``holdout``; None without a holdout to compare with."""
    if not holdout.members:
        return None
    expected = (2 * holdout.sales_fen * group.members + holdout.members) // (2 * holdout.members)
    return Uplift(
        conversion_uplift=group.conversion - holdout.conversion,
        expected_fen=expected,
        incremental_fen=group.sales_fen - expected,
        cost_fen=group.coupon_value_fen + group.points * point_value_fen,
    )


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
    message_b: str | None = None
    holdout_percent: int = 0
    groups: tuple[GroupResult, ...] = ()  # A, then B and the holdout when the campaign had them
    point_value_fen: int = 0

    def group(self, name: str) -> GroupResult | None:
        return next((g for g in self.groups if g.group == name), None)

    @property
    def measured(self) -> bool:
        """Kept a holdout, so that uplift and ROI can be worked out."""
        holdout = self.group(HOLDOUT)
        return holdout is not None and holdout.members > 0

    def uplift_of(self, name: str) -> Uplift | None:
        """A variant against the holdout (None: no such variant, or no holdout)."""
        group, holdout = self.group(name), self.group(HOLDOUT)
        if group is None or holdout is None:
            return None
        return uplift(group, holdout, self.point_value_fen)

    @property
    def uplift(self) -> Uplift | None:
        """A and B together against the holdout."""
        sent = [g for g in self.groups if g.group != HOLDOUT]
        holdout = self.group(HOLDOUT)
        if not sent or holdout is None:
            return None
        total = sent[0]
        for group in sent[1:]:
            total += group
        return uplift(total, holdout, self.point_value_fen)


@dataclass(frozen=True)
class CampaignsRoi:
    """The measured campaigns of a period together: ΣI, ΣC and (ΣI − ΣC) / ΣC."""

    campaigns: int
    incremental_fen: int
    cost_fen: int

    @property
    def roi(self) -> float | None:
        return (self.incremental_fen - self.cost_fen) / self.cost_fen if self.cost_fen else None


def campaigns_roi(results: Iterable[CampaignStats]) -> CampaignsRoi | None:
    """The ROI of the campaigns that kept a holdout; None when none did."""
    measured = [u for u in (r.uplift for r in results if r.measured) if u is not None]
    if not measured:
        return None
    return CampaignsRoi(
        campaigns=len(measured),
        incremental_fen=sum(u.incremental_fen for u in measured),
        cost_fen=sum(u.cost_fen for u in measured),
    )


async def _groups(
    s: Session, campaign_id: int, since: datetime, until: datetime
) -> tuple[dict[str, GroupResult], int]:
    """Each group's figures over the window ``since`` < t ≤ ``until``, and the coupons the
    campaign issued."""
    # Members whose message was given up were not reached: in no group (core.pushes.gifts).
    of_campaign = and_(
        CampaignMemberRow.campaign_id == campaign_id, CampaignMemberRow.given_up_at.is_(None)
    )
    members = {
        variant: int(n)
        for variant, n in await s.execute(
            select(CampaignMemberRow.variant, func.count())
            .where(of_campaign)
            .group_by(CampaignMemberRow.variant)
        )
    }
    bought = {
        variant: (int(n), int(spent or 0), int(points or 0))
        for variant, n, spent, points in await s.execute(
            select(
                CampaignMemberRow.variant,
                func.count(distinct(SaleRow.member_id)),
                func.sum(net_amount()),
                func.sum(SaleRow.points_earned - SaleRow.points_reversed),
            )
            .join(CampaignMemberRow, CampaignMemberRow.member_id == SaleRow.member_id)
            .where(of_campaign, SaleRow.sold_at > since, SaleRow.sold_at <= until, is_purchase())
            .group_by(CampaignMemberRow.variant)
        )
    }
    used_in_window = and_(CouponRow.used_at > since, CouponRow.used_at <= until)
    issued, coupons = 0, {}
    for variant, n, used, value in await s.execute(
        select(
            CampaignMemberRow.variant,
            func.count(CouponRow.id),
            func.count(case((used_in_window, 1))),
            func.coalesce(func.sum(case((used_in_window, CouponRow.value_fen), else_=0)), 0),
        )
        .join(CampaignMemberRow, CampaignMemberRow.coupon_id == CouponRow.id)
        .where(of_campaign)
        .group_by(CampaignMemberRow.variant)
    ):
        issued += int(n)
        coupons[variant] = (int(used), int(value))
    return {
        variant: GroupResult(
            group=variant,
            members=count,
            came_back=bought.get(variant, (0, 0, 0))[0],
            sales_fen=bought.get(variant, (0, 0, 0))[1],
            coupons_used=coupons.get(variant, (0, 0))[0],
            coupon_value_fen=coupons.get(variant, (0, 0))[1],
            points=bought.get(variant, (0, 0, 0))[2],
        )
        for variant, count in members.items()
    }, issued


async def campaign_results(
    ctx: Context,
    *,
    store: str | None,
    start: date,
    end: date,
    within_days: int | None = None,
) -> list[CampaignStats]:
    """Campaigns sent on ``start``..``end`` (shop-local days, both included) — those for
    ``store``, or all of them when None — oldest first, with what came of each, per group;
    ``within_days`` defaults to the shop file's ``[campaigns] came_back_days``."""
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    if within_days is None:
        within_days = ctx.shop.campaigns.came_back_days
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
            groups, issued = await _groups(s, campaign.id, sent_at, sent_at + window)
            ordered = tuple(groups[name] for name in (A, B, HOLDOUT) if name in groups)
            sent = [group for group in ordered if group.group != HOLDOUT]
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
                    came_back=sum(g.came_back for g in sent),
                    came_back_fen=sum(g.sales_fen for g in sent),
                    coupons_issued=issued,
                    coupons_used=sum(g.coupons_used for g in sent),
                    message_b=campaign.message_b,
                    holdout_percent=campaign.holdout_percent,
                    groups=ordered,
                    point_value_fen=ctx.shop.campaigns.point_value_fen,
                )
            )
    return results
