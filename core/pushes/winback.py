"""Win-back: a weekly marketing push to members who went silent, with the shop file's
``[winback] reward`` as a gift coupon, and what came of it.

Who gets one, by the lifecycle stage of ``core.insights.segments`` (the same rule as the stats and
the campaigns' segments):

- **dormant** members (temporarily silent): one message per silent spell — dedup key
  ``winback:dormant:{member}:{last purchase day}`` — so a member who comes back and goes
  quiet again can be won back again;
- **lost** members (permanently silent): one last try, ever (``winback:lost:{member}``);
- nobody more than one win-back message in ``min_days_between`` days, whatever the stage,
  e.g. a member who just got the dormant message and turns lost a week later.

Results: the messages made on a range of days, how many of them went out, and how many
members *came back* — bought (a purchase: a sale not refunded in full, in any store) within
``came_back_days`` after their message — with what they spent then, net of refunds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select, true

from core.context import Context
from core.errors import InvalidInput
from core.insights.segments import Stage, is_purchase, lifecycle_stage, net_amount
from core.insights.stats import local_midnight
from core.people.members import store_id
from core.pushes.audience import reachable
from core.pushes.scheduled import NO_GIFT, Planned, queue
from storage.models import MemberRow, OutboxRow, SaleRow

KIND = "winback"


def dormant_key(member_id: int, last_purchase: date) -> str:
    """One dormant message per silent spell: the spell begins with the last purchase."""
    return f"{KIND}:dormant:{member_id}:{last_purchase.isoformat()}"


def lost_key(member_id: int) -> str:
    """The one last try a lost member ever gets."""
    return f"{KIND}:lost:{member_id}"


async def win_back(ctx: Context) -> int:
    """Queue this week's win-back messages (each with its gift coupon); returns how many.

    One query selects the silent members who accepted marketing and had no win-back
    message in ``min_days_between`` days, with their first and last purchase and whether
    they already had this spell's message or their last try; the stage is then worked out
    by ``lifecycle_stage`` for each of them.
    """
    now, today = ctx.now(), ctx.today()
    rules = ctx.shop.winback
    silent_from = local_midnight(ctx, today - timedelta(days=ctx.shop.segments.dormant_days - 1))
    spans = (
        select(
            SaleRow.member_id.label("member_id"),
            func.min(SaleRow.sold_at).label("first"),
            func.max(SaleRow.sold_at).label("last"),
        )
        .where(is_purchase())
        .group_by(SaleRow.member_id)
        .having(func.max(SaleRow.sold_at) < silent_from)  # silent at least dormant_days
        .subquery()
    )
    mine = (OutboxRow.member_id == MemberRow.id) & (OutboxRow.kind == KIND)
    recent = exists().where(
        mine, OutboxRow.created_at > now - timedelta(days=rules.min_days_between)
    )
    this_spell = exists().where(mine, OutboxRow.created_at > spans.c.last)
    last_try = exists().where(mine, OutboxRow.dedup_key.like(f"{KIND}:lost:%"))
    async with ctx.db.read() as s:
        rows = (
            await s.execute(
                select(
                    MemberRow.id,
                    spans.c.first,
                    spans.c.last,
                    this_spell.label("this_spell"),
                    last_try.label("last_try"),
                )
                .join(spans, spans.c.member_id == MemberRow.id)
                .where(reachable(marketing=True), ~recent)
                .order_by(MemberRow.id)
            )
        ).all()
    planned = []
    for member_id, first, last, had_this_spell, had_last_try in rows:
        first_day, last_day = _day(ctx, first), _day(ctx, last)
        stage = lifecycle_stage(
            ctx.shop.segments, today=today, first_purchase=first_day, last_purchase=last_day
        )
        if stage is Stage.DORMANT and not had_this_spell:
            key = dormant_key(member_id, last_day)
        elif stage is Stage.LOST and not had_last_try:
            key = lost_key(member_id)
        else:
            continue
        params = {"stage": stage.value, "days_silent": (today - last_day).days} | NO_GIFT
        planned.append(Planned(member_id, KIND, key, params))
    return await queue(ctx, planned, gift=rules.reward)


def _day(ctx: Context, at: datetime) -> date:
    return at.astimezone(ctx.zone).date()


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WinbackResults:
    start: date
    end: date
    store: str | None  # members of this home store; None: all members
    within_days: int
    sent: int  # win-back messages made on start..end
    delivered: int  # … of which went out (the dispatcher recorded when)
    came_back: int  # members who bought within ``within_days`` after their message
    sales_fen: int  # what they spent in those purchases, net of refunds


async def winback_results(
    ctx: Context, since: date, until: date, *, store: str | None = None
) -> WinbackResults:
    """Win-back messages made on ``since``..``until`` (shop-local days, both included) and
    what came of them; with ``store``, those to members whose home store it is.

    A purchase counts once even when it follows two messages (a long period). The
    matching of purchases to messages is done here rather than in SQL, because adding a
    number of days to a column is spelt differently on every database; the rows are the
    period's messages and their members' purchases only.
    """
    if until < since:
        raise InvalidInput(field="period", value=f"{since}..{until}")
    start, end = local_midnight(ctx, since), local_midnight(ctx, until + timedelta(days=1))
    days = ctx.shop.winback.came_back_days
    window = timedelta(days=days)
    async with ctx.db.read() as s:
        home = true() if store is None else MemberRow.home_store_id == await store_id(s, store)
        messages = (
            select(OutboxRow.member_id, OutboxRow.created_at, OutboxRow.sent_at)
            .join(MemberRow, MemberRow.id == OutboxRow.member_id)
            .where(
                OutboxRow.kind == KIND,
                OutboxRow.created_at >= start,
                OutboxRow.created_at < end,
                home,
            )
        )
        made = (await s.execute(messages)).all()
        purchases = (
            await s.execute(
                select(SaleRow.member_id, SaleRow.sold_at, net_amount()).where(
                    SaleRow.member_id.in_(messages.with_only_columns(OutboxRow.member_id)),
                    SaleRow.sold_at > start,
                    SaleRow.sold_at <= end + window,
                    is_purchase(),
                )
            )
        ).all()
    sent_at: dict[int | None, list[datetime]] = defaultdict(list)  # by member (never None)
    for member_id, created_at, _ in made:
        sent_at[member_id].append(created_at)
    came_back: set[int] = set()
    spent = 0
    for member_id, sold_at, net in purchases:
        if any(at < sold_at <= at + window for at in sent_at[member_id]):
            came_back.add(member_id)
            spent += int(net)
    return WinbackResults(
        start=since,
        end=until,
        store=store,
        within_days=days,
        sent=len(made),
        delivered=sum(1 for *_, delivered_at in made if delivered_at is not None),
        came_back=len(came_back),
        sales_fen=spent,
    )
