"""Daily check-in (签到): a few points once per shop day, a bonus for a streak, a monthly cap.

The day is the shop's calendar day (``ctx.today()``, the shop's time zone), not UTC's: at
07:30 and 08:30 in Shanghai it is the same day although UTC's date changed at 08:00. One
row per (member, day) — the primary key — makes it once a day, also when two check-ins
arrive at the same moment; the member is locked first, so the second one finds the first.

The streak is the number of days in a row up to today: yesterday's streak plus one, or 1
after a missed day. Every ``streak_days``-th day of a streak (7, 14, …) adds
``streak_bonus``. What a check-in gives is cut to what is left of ``monthly_cap`` for the
calendar month; a check-in past the cap still counts for the streak.

The points are a lot of their own kind (``checkin``) that expires after the shop file's
lifetime like earned points (``core.ledger.points.grant_points``). They are not spending, so they
never count toward a tier: tiers come from sales alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from core import audit
from core.context import Context
from core.errors import InvalidInput
from core.ledger.points import balance_in, grant_points
from core.people.members import lock_member, store_id
from core.shop import CheckinRules
from storage.db import insert_ignore
from storage.models import CheckinRow, MemberRow
from storage.session import Session

KIND = "checkin"


# --- pure rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Award:
    points: int  # given, after the cap
    bonus: int  # the streak bonus inside ``points`` (0 when cut by the cap)
    capped: bool  # the cap took some or all of it


def award(rules: CheckinRules, streak: int, month_so_far: int) -> Award:
    """What the ``streak``-th day in a row gives, with ``month_so_far`` check-in points
    already given this month."""
    bonus = rules.streak_bonus if rules.streak_days and streak % rules.streak_days == 0 else 0
    wanted = rules.points + bonus
    if not rules.monthly_cap:
        return Award(wanted, bonus, capped=False)
    points = max(min(wanted, rules.monthly_cap - month_so_far), 0)
    return Award(points, bonus if points == wanted else 0, capped=points < wanted)


def days_to_bonus(rules: CheckinRules, streak: int) -> int | None:
    """Check-ins still needed, after today's, for the next streak bonus (None: no bonus)."""
    if not rules.streak_days or not rules.streak_bonus:
        return None
    return rules.streak_days - streak % rules.streak_days


# --- the check-in -------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    day: date
    streak: int
    points: int
    bonus: int
    capped: bool
    already: bool  # checked in earlier today: nothing given now
    balance: int
    next_bonus_in: int | None


async def _streak_before(s: Session, member_id: int, day: date) -> int:
    previous = await s.scalar(
        select(CheckinRow.streak).where(
            CheckinRow.member_id == member_id, CheckinRow.day == day - timedelta(days=1)
        )
    )
    return int(previous or 0)


async def _month_points(s: Session, member_id: int, day: date) -> int:
    total = await s.scalar(
        select(func.coalesce(func.sum(CheckinRow.points), 0)).where(
            CheckinRow.member_id == member_id,
            CheckinRow.day >= day.replace(day=1),
            CheckinRow.day < day,
        )
    )
    return int(total or 0)


async def check_in(ctx: Context, member_id: int) -> CheckIn:
    """Today's check-in: points and streak, or — a second time today — the same streak and
    nothing more (``already``). InvalidInput when the shop does not offer check-ins."""
    rules = ctx.shop.checkin
    if not rules.enabled:
        raise InvalidInput(field="checkin")
    now, day = ctx.now(), ctx.today()
    async with ctx.db.transaction() as s:
        await lock_member(s, member_id)
        done = await s.get(CheckinRow, (member_id, day))
        if done is None:
            streak = await _streak_before(s, member_id, day) + 1
            got = award(rules, streak, await _month_points(s, member_id, day))
            inserted = await insert_ignore(
                s,
                CheckinRow.__table__,
                {
                    "member_id": member_id,
                    "day": day,
                    "streak": streak,
                    "points": got.points,
                    "bonus": got.bonus,
                    "created_at": now,
                },
                conflict=["member_id", "day"],
            )
            if inserted:
                if got.points:
                    grant_points(
                        s,
                        ctx,
                        member_id,
                        KIND,
                        got.points,
                        detail={
                            "day": day.isoformat(),
                            "streak": streak,
                            "points": got.points - got.bonus,
                            "bonus": got.bonus,
                            "capped": got.capped,
                        },
                    )
                audit.record(
                    s,
                    now,
                    audit.member_actor(member_id),
                    "checkin",
                    member_id,
                    day=day.isoformat(),
                    streak=streak,
                    points=got.points,
                )
                await s.flush()
                return CheckIn(
                    day=day,
                    streak=streak,
                    points=got.points,
                    bonus=got.bonus,
                    capped=got.capped,
                    already=False,
                    balance=await balance_in(s, member_id, now),
                    next_bonus_in=days_to_bonus(rules, streak),
                )
            done = await s.get(CheckinRow, (member_id, day), populate_existing=True)
            assert done is not None
        return CheckIn(
            day=day,
            streak=done.streak,
            points=0,
            bonus=0,
            capped=False,
            already=True,
            balance=await balance_in(s, member_id, now),
            next_bonus_in=days_to_bonus(rules, done.streak),
        )


# --- figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinStats:
    checkins: int
    members: int  # who checked in at least once
    points: int  # given by check-ins


async def checkin_stats(ctx: Context, *, store: str | None, start: date, end: date) -> CheckinStats:
    """Check-ins on the shop days ``start``..``end`` (both included); with a store, of the
    members whose home store it is (points belong to a member's account)."""
    if end < start:
        raise InvalidInput(field="period", value=f"{start}..{end}")
    query = select(
        func.count(), func.count(func.distinct(CheckinRow.member_id)), func.sum(CheckinRow.points)
    ).where(CheckinRow.day >= start, CheckinRow.day <= end)
    async with ctx.db.read() as s:
        if store is not None:
            query = query.join(MemberRow, MemberRow.id == CheckinRow.member_id).where(
                MemberRow.home_store_id == await store_id(s, store)
            )
        count, members, points = (await s.execute(query)).one()
    return CheckinStats(int(count or 0), int(members or 0), int(points or 0))
