"""Birthday wishes: a marketing push on the member's birthday, shop time, with the shop
file's ``[birthday] reward`` as a gift coupon.

A member born on 29 February is wished on 28 February in years without a 29th (and not
again on 1 March). One wish per member and year (dedup key ``birthday:{year}:{member}``),
so running the job twice, late on the day or after a restart changes nothing — and a
birthday changed to today after this year's wish does not bring a second coupon.
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import and_, extract, or_, select

from core.context import Context
from core.pushes.audience import reachable
from core.pushes.scheduled import NO_GIFT, Planned, queue
from storage.models import MemberRow

KIND = "birthday"


def birthdays_on(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on ``day``: its own, and on 28 February of a
    year without a 29th also the 29th."""
    celebrated = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        celebrated.append((2, 29))
    return celebrated


async def wish_birthdays(ctx: Context) -> int:
    """Queue today's birthday wishes (each with its gift coupon); returns how many."""
    today = ctx.today()
    month, day = extract("month", MemberRow.birthday), extract("day", MemberRow.birthday)
    celebrated = or_(*(and_(month == m, day == d) for m, d in birthdays_on(today)))
    async with ctx.db.read() as s:
        members = list(
            await s.scalars(
                select(MemberRow.id)
                .where(MemberRow.birthday.is_not(None), celebrated, reachable(marketing=True))
                .order_by(MemberRow.id)
            )
        )
    planned = [
        Planned(member_id, KIND, f"{KIND}:{today.year}:{member_id}", dict(NO_GIFT))
        for member_id in members
    ]
    return await queue(ctx, planned, gift=ctx.shop.birthday.reward)
