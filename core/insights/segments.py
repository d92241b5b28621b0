"""Segments: RFM scores and lifecycle stages of members, and member filters for campaigns.

RFM, as the shop owner reads it:

- **R**ecency: days (shop-local calendar days) since the member's last purchase, over all
  history, so that a member silent for two years is still seen as silent.
- **F**requency: purchases in the last ``RFM_WINDOW_MONTHS`` (12) months.
- **M**onetary: net spending (amount less refunds) in the same 12 months.

F and M use a window, like the tiers do, so that a member who spent a lot two years ago
and nothing since is not scored as valuable today. A *purchase* is a sale not refunded in
full. Each score is 1–5 by rank-based quintiles over the shop's members who ever bought
(equal values share a score), so the scores describe this shop, not a national average.

Stages (thresholds from the shop file's ``[segments]``), checked in this order:
potential (registered, never bought) → new (first purchase within ``new_days``) → lost
(no purchase for ``lost_days``: 永久性沉寂) → dormant (for ``dormant_days``: 暂时性沉寂)
→ at risk (silent longer than ``active_days``) → loyal (F and M scores both at least
``loyal_min_score``) → active.

Everything is computed with a handful of aggregate queries (no query per member), so it
stays fast for 100 000 members.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, and_, case, exists, extract, func, select

from core.clock import add_months
from core.context import Context
from core.errors import InvalidInput
from core.people.members import store_id
from core.shop import SegmentRules
from storage.models import CouponRow, MemberRow, MemberTagRow, SaleRow, StoreRow
from storage.session import Session

RFM_WINDOW_MONTHS = 12
SCORES = 5


class Stage(StrEnum):
    """Lifecycle stages, from not yet a customer to gone; the order is the display order."""

    POTENTIAL = "potential"
    NEW = "new"
    ACTIVE = "active"
    LOYAL = "loyal"
    AT_RISK = "at_risk"
    DORMANT = "dormant"
    LOST = "lost"


# --- pure rules ---------------------------------------------------------------------------


def quintile_scores(values: Mapping[int, int], *, higher_is_better: bool = True) -> dict[int, int]:
    """Score each key 1–5 by where its value ranks among all values.

    ``score = 1 + floor(5 * rank / n)`` where ``rank`` counts the values strictly worse
    than this one, so equal values always get the same score and the result does not
    depend on the order of the input. The best value scores 5 unless it is shared by
    more than a fifth of the keys.
    """
    n = len(values)
    ordered = sorted(values.values() if higher_is_better else (-v for v in values.values()))
    scores = {}
    for key, value in values.items():
        rank = bisect_left(ordered, value if higher_is_better else -value)
        scores[key] = 1 + SCORES * rank // n
    return scores


@dataclass(frozen=True)
class Rfm:
    """A member's figures and their 1–5 scores (5 is best: recent, frequent, big spender)."""

    recency_days: int
    frequency: int
    monetary_fen: int
    r: int
    f: int
    m: int

    @property
    def code(self) -> str:
        """The usual shorthand, e.g. "545"."""
        return f"{self.r}{self.f}{self.m}"


@dataclass(frozen=True)
class PurchaseFigures:
    """What the scoring needs to know about one member who bought at least once."""

    first: date
    last: date
    frequency: int  # purchases inside the RFM window
    monetary_fen: int  # net spending inside the RFM window


def rfm_scores(figures: Mapping[int, PurchaseFigures], today: date) -> dict[int, Rfm]:
    """RFM of every member in ``figures`` (members who bought), scored against each other."""
    recency = {key: (today - fig.last).days for key, fig in figures.items()}
    r = quintile_scores(recency, higher_is_better=False)
    f = quintile_scores({key: fig.frequency for key, fig in figures.items()})
    m = quintile_scores({key: fig.monetary_fen for key, fig in figures.items()})
    return {
        key: Rfm(recency[key], fig.frequency, fig.monetary_fen, r[key], f[key], m[key])
        for key, fig in figures.items()
    }


def lifecycle_stage(
    rules: SegmentRules,
    *,
    today: date,
    first_purchase: date | None,
    last_purchase: date | None,
    f_score: int = 0,
    m_score: int = 0,
) -> Stage:
    """The member's stage on ``today``; dates are shop-local calendar days."""
    if first_purchase is None or last_purchase is None:
        return Stage.POTENTIAL
    if (today - first_purchase).days <= rules.new_days:
        return Stage.NEW
    silent = (today - last_purchase).days
    if silent >= rules.lost_days:
        return Stage.LOST
    if silent >= rules.dormant_days:
        return Stage.DORMANT
    if silent > rules.active_days:
        return Stage.AT_RISK
    if f_score >= rules.loyal_min_score and m_score >= rules.loyal_min_score:
        return Stage.LOYAL
    return Stage.ACTIVE


# --- member segments ----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSegment:
    member_id: int
    stage: Stage
    tier: str
    home_store: str | None
    first_purchase: date | None
    last_purchase: date | None
    rfm: Rfm | None  # None: never bought


def is_purchase() -> ColumnElement[bool]:
    """A sale counts as a purchase unless it was refunded in full (shared with stats); an
    undone sale was refunded in full too."""
    return SaleRow.refunded_fen < SaleRow.amount_fen


def happened() -> ColumnElement[bool]:
    """A sale that took place, refunded or not: not a clerk's slip taken back with Undo,
    which counts in no figure (shared with stats)."""
    return SaleRow.undone_at.is_(None)


def net_amount() -> ColumnElement[int]:
    """What the shop kept of a sale: its amount less what was refunded."""
    return SaleRow.amount_fen - SaleRow.refunded_fen


async def compute_segments(s: Session, ctx: Context) -> list[MemberSegment]:
    """Every member's segment as of now, inside the caller's session (for stats and
    campaigns that need it together with other figures of the same snapshot)."""
    now = ctx.now()
    today = now.astimezone(ctx.zone).date()
    since = add_months(now.astimezone(ctx.zone), -RFM_WINDOW_MONTHS)
    in_window = SaleRow.sold_at > since
    members = (
        await s.execute(
            select(MemberRow.id, MemberRow.tier, StoreRow.code)
            .outerjoin(StoreRow, StoreRow.id == MemberRow.home_store_id)
            .order_by(MemberRow.id)
        )
    ).all()
    rows = await s.execute(
        select(
            SaleRow.member_id,
            func.min(SaleRow.sold_at),
            func.max(SaleRow.sold_at),
            func.count(case((in_window, 1))),
            func.coalesce(func.sum(case((in_window, net_amount()), else_=0)), 0),
        )
        .where(is_purchase())
        .group_by(SaleRow.member_id)
    )
    figures = {
        member_id: PurchaseFigures(
            first=_local_day(first, ctx),
            last=_local_day(last, ctx),
            frequency=int(frequency),
            monetary_fen=int(monetary),
        )
        for member_id, first, last, frequency, monetary in rows
    }
    scores = rfm_scores(figures, today)
    result = []
    for member_id, tier, store in members:
        fig = figures.get(member_id)
        rfm = scores.get(member_id)
        stage = lifecycle_stage(
            ctx.shop.segments,
            today=today,
            first_purchase=fig.first if fig else None,
            last_purchase=fig.last if fig else None,
            f_score=rfm.f if rfm else 0,
            m_score=rfm.m if rfm else 0,
        )
        result.append(
            MemberSegment(
                member_id=member_id,
                stage=stage,
                tier=tier,
                home_store=store,
                first_purchase=fig.first if fig else None,
                last_purchase=fig.last if fig else None,
                rfm=rfm,
            )
        )
    return result


def _local_day(at: datetime, ctx: Context) -> date:
    return at.astimezone(ctx.zone).date()


async def member_segments(ctx: Context) -> list[MemberSegment]:
    """Every member's stage and RFM scores as of now, ordered by member id."""
    async with ctx.db.read() as s:
        return await compute_segments(s, ctx)


async def member_stage(s: Session, ctx: Context, member_id: int) -> Stage:
    """One member's stage as of now, the same as :func:`compute_segments` gives them, with
    a few aggregate queries instead of every member's segment (who may join an event)."""
    now = ctx.now()
    today = now.astimezone(ctx.zone).date()
    since = add_months(now.astimezone(ctx.zone), -RFM_WINDOW_MONTHS)
    in_window = SaleRow.sold_at > since
    per_member = (
        select(
            SaleRow.member_id.label("member_id"),
            func.min(SaleRow.sold_at).label("first"),
            func.max(SaleRow.sold_at).label("last"),
            func.count(case((in_window, 1))).label("frequency"),
            func.coalesce(func.sum(case((in_window, net_amount()), else_=0)), 0).label("monetary"),
        )
        .where(is_purchase())
        .group_by(SaleRow.member_id)
        .subquery()
    )
    mine = (await s.execute(select(per_member).where(per_member.c.member_id == member_id))).first()
    if mine is None:
        return Stage.POTENTIAL
    rules = ctx.shop.segments
    first, last = _local_day(mine.first, ctx), _local_day(mine.last, ctx)
    stage = lifecycle_stage(rules, today=today, first_purchase=first, last_purchase=last)
    if stage is not Stage.ACTIVE:
        return stage  # neither new nor silent: loyal or active, by the scores
    buyers, fewer, less = (
        await s.execute(
            select(
                func.count(),
                func.count(case((per_member.c.frequency < mine.frequency, 1))),
                func.count(case((per_member.c.monetary < mine.monetary, 1))),
            )
        )
    ).one()
    # quintile_scores: 1 + 5 * (values strictly worse) // n
    return lifecycle_stage(
        rules,
        today=today,
        first_purchase=first,
        last_purchase=last,
        f_score=1 + SCORES * int(fewer) // int(buyers),
        m_score=1 + SCORES * int(less) // int(buyers),
    )


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Which members a campaign or a report is about. Every criterion left empty (or None)
    lets everyone through; the criteria given must all hold."""

    stages: frozenset[Stage] = frozenset()
    tiers: frozenset[str] = frozenset()
    store: str | None = None  # home store code
    tags: frozenset[str] = frozenset()  # any one of them
    birthday_month: int | None = None  # 1–12
    has_unused_coupon: bool | None = None  # True: holds a live coupon; False: holds none
    marketing_consent_only: bool = False

    def __post_init__(self) -> None:
        # Accept any iterable (lists from a form, a single code) and check values once, so
        # a campaign built from a person's choices fails with a clear error, not no rows.
        try:
            stages = frozenset(Stage(s) for s in _as_set(self.stages))
        except ValueError:
            raise InvalidInput(field="stages", value=sorted(map(str, self.stages))) from None
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "tiers", _as_set(self.tiers))
        object.__setattr__(self, "tags", _as_set(self.tags))
        month = self.birthday_month
        if month is not None and (
            isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12
        ):
            raise InvalidInput(field="birthday_month", value=month)


def _as_set(values: Iterable[str] | str) -> frozenset[str]:
    return frozenset([values] if isinstance(values, str) else values)


async def _member_query(s: Session, ctx: Context, segment: Segment) -> Select[int]:
    query = select(MemberRow.id)
    if segment.tiers:
        query = query.where(MemberRow.tier.in_(sorted(segment.tiers)))
    if segment.store is not None:
        query = query.where(MemberRow.home_store_id == await store_id(s, segment.store))
    if segment.tags:
        query = query.where(
            exists().where(
                MemberTagRow.member_id == MemberRow.id,
                MemberTagRow.tag.in_(sorted(segment.tags)),
            )
        )
    if segment.birthday_month is not None:
        query = query.where(extract("month", MemberRow.birthday) == segment.birthday_month)
    if segment.has_unused_coupon is not None:
        live = exists().where(
            and_(
                CouponRow.member_id == MemberRow.id,
                CouponRow.used_at.is_(None),
                CouponRow.expires_at > ctx.now(),
            )
        )
        query = query.where(live if segment.has_unused_coupon else ~live)
    if segment.marketing_consent_only:
        query = query.where(MemberRow.marketing_consent.is_(True))
    return query


async def select_members(ctx: Context, segment: Segment) -> list[int]:
    """Ids of the members in ``segment``, ascending. The stage criterion is applied to the
    segments computed in the same snapshot, never member by member."""
    async with ctx.db.read() as s:
        query = await _member_query(s, ctx, segment)
        ids = list(await s.scalars(query.order_by(MemberRow.id)))
        if not segment.stages:
            return ids
        segments = await compute_segments(s, ctx)
        in_stage = {m.member_id for m in segments if m.stage in segment.stages}
        return [member_id for member_id in ids if member_id in in_stage]


async def count_members(ctx: Context, segment: Segment) -> int:
    """How many members ``segment`` holds (one COUNT when no stage is asked for)."""
    if segment.stages:
        return len(await select_members(ctx, segment))
    async with ctx.db.read() as s:
        query = await _member_query(s, ctx, segment)
        return int(await s.scalar(select(func.count()).select_from(query.subquery())) or 0)
