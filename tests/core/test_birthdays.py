"""Birthday wishes: once a year per member with one gift coupon, whatever the number of
runs; 29 February on the 28th in other years; never to who declined, left or blocked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from bot.composition import shop_context
from core import audit
from core.clock import FixedClock
from core.context import Context
from core.people.erasure import delete_member
from core.people.members import update_member
from core.pushes.birthdays import KIND, birthdays_on, wish_birthdays
from core.shop_file import load_shop
from storage.models import AuditRow, CouponRow
from tests.conftest import ZONE
from tests.core.pushes import block, coupons_of, queued
from tests.factories import count, reachable


def test_29_february_is_celebrated_on_the_28th_in_other_years() -> None:
    assert birthdays_on(date(2027, 2, 28)) == [(2, 28), (2, 29)]
    assert birthdays_on(date(2028, 2, 28)) == [(2, 28)]
    assert birthdays_on(date(2028, 2, 29)) == [(2, 29)]
    assert birthdays_on(date(2027, 3, 1)) == [(3, 1)]


async def test_one_wish_and_one_coupon_however_often_the_job_runs(
    ctx: Context, clock: FixedClock
) -> None:
    # The clock stands on Monday 5 January 2026, 10:00 in Shanghai.
    a = await reachable(ctx, birthday="1990-01-05")
    b = await reachable(ctx, birthday="2001-01-05")
    await reachable(ctx, birthday="1990-01-06")  # tomorrow
    await reachable(ctx)  # no birthday given

    assert await wish_birthdays(ctx) == 2
    assert await wish_birthdays(ctx) == 0
    # A restart late the same day: a new context, a new clock, the same database.
    clock_later = FixedClock(datetime(2026, 1, 5, 23, 50, tzinfo=ZONE))
    restarted = await shop_context(ctx.db, load_shop(), clock_later, ZONE)
    assert await wish_birthdays(restarted) == 0

    rows = await queued(ctx, KIND)
    assert [(m, key) for m, key, _ in rows] == [
        (a, f"birthday:2026:{a}"),
        (b, f"birthday:2026:{b}"),
    ]
    for member_id, _, params in rows:
        (coupon,) = await coupons_of(ctx, member_id)
        assert (coupon.points, coupon.value_fen) == (0, 1_000)
        assert params == {
            "coupon_code": coupon.code,
            "reward": "coupon10",
            "value_fen": 1_000,
            "valid_until": "2026-02-04",  # 30 days, the day the member's coupon list shows
        }
    issued = await count(ctx, AuditRow, AuditRow.action == "coupon.issued")
    assert issued == 2

    # Next year is another wish.
    clock.set(datetime(2027, 1, 5, 9, 30, tzinfo=ZONE))
    assert await wish_birthdays(ctx) == 2
    assert await count(ctx, CouponRow) == 4


async def test_born_on_29_february_wished_on_28_february_2027_not_on_1_march(
    ctx: Context, clock: FixedClock
) -> None:
    leapling = await reachable(ctx, birthday="2000-02-29")
    on_28th = await reachable(ctx, birthday="1999-02-28")
    on_1st = await reachable(ctx, birthday="1999-03-01")

    clock.set(datetime(2027, 2, 27, 9, 30, tzinfo=ZONE))
    assert await wish_birthdays(ctx) == 0
    clock.set(datetime(2027, 3, 1, 9, 30, tzinfo=ZONE))  # 1 March first: not the leapling
    assert await wish_birthdays(ctx) == 1
    assert [m for m, _, _ in await queued(ctx, KIND)] == [on_1st]

    clock.set(datetime(2027, 2, 28, 9, 30, tzinfo=ZONE))
    assert await wish_birthdays(ctx) == 2
    assert {m for m, _, _ in await queued(ctx, KIND)} == {on_1st, leapling, on_28th}
    clock.set(datetime(2027, 3, 1, 18, 0, tzinfo=ZONE))
    assert await wish_birthdays(ctx) == 0

    # In a leap year, on the day itself and not the day before.
    clock.set(datetime(2028, 2, 28, 9, 30, tzinfo=ZONE))
    await wish_birthdays(ctx)
    clock.set(datetime(2028, 2, 29, 9, 30, tzinfo=ZONE))
    await wish_birthdays(ctx)
    keys = [key for m, key, _ in await queued(ctx, KIND) if m == leapling]
    assert keys == [f"birthday:2027:{leapling}", f"birthday:2028:{leapling}"]
    assert len(await coupons_of(ctx, leapling)) == 2


async def test_no_wish_and_no_coupon_for_who_declined_left_or_cannot_be_reached(
    ctx: Context, clock: FixedClock
) -> None:
    declined = await reachable(ctx, birthday="1990-01-05", consent=False)
    gone = await reachable(ctx, birthday="1990-01-05")
    await delete_member(ctx, gone, actor=audit.member_actor(gone))
    blocked = await reachable(ctx, birthday="1990-01-05")
    await block(ctx, blocked)
    never_wrote = await reachable(ctx, birthday="1990-01-05", chat=False)
    wished = await reachable(ctx, birthday="1990-01-05")

    assert await wish_birthdays(ctx) == 1
    assert [m for m, _, _ in await queued(ctx, KIND)] == [wished]
    for member_id in (declined, gone, blocked, never_wrote):
        assert await coupons_of(ctx, member_id) == []

    # Consent given later the same day: the wish (and its coupon) still comes, once.
    await update_member(ctx, declined, actor=audit.member_actor(declined), marketing_consent=True)
    assert await wish_birthdays(ctx) == 1
    assert len(await coupons_of(ctx, declined)) == 1


async def test_a_wish_without_coupon_when_the_shop_gives_none(
    ctx: Context, clock: FixedClock
) -> None:
    shop = ctx.shop.model_copy(
        update={"birthday": ctx.shop.birthday.model_copy(update={"reward": ""})}
    )
    plain = replace(ctx, shop=shop)
    a = await reachable(ctx, birthday="1990-01-05")
    assert await wish_birthdays(plain) == 1
    ((_, _, params),) = await queued(ctx, KIND)
    assert params == {"coupon_code": None, "reward": None, "value_fen": None, "valid_until": None}
    assert await coupons_of(ctx, a) == []
