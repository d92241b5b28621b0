"""Opening hours from the shop file: a day's hours (weekday, closed date, holiday of the
store or of every store), open at a moment, the next opening, and the days ahead with
other hours — pure rules, with the moment given."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from core.service import bookings, store_hours
from core.shop import WEEKDAYS, Shop, ShopFileError, SpecialDay
from core.shop_file import load_shop
from tests.conftest import ZONE
from tests.factories import shop_time


def with_holidays(shop: Shop, *, store: list[SpecialDay], every: list[SpecialDay]) -> Shop:
    main = shop.stores[0].model_copy(update={"holidays": store})
    return shop.model_copy(update={"stores": [main, *shop.stores[1:]], "holidays": every})


@pytest.fixture
def shop() -> Shop:
    national = SpecialDay(day=date(2026, 1, 8), name="店庆", name_en="Anniversary")
    short = SpecialDay.model_validate(
        {"day": date(2026, 1, 9), "hours": "12:00-18:00", "name": "盘点", "name_en": "Stocktake"}
    )
    every = [SpecialDay(day=date(2026, 1, 9)), SpecialDay(day=date(2026, 1, 10))]
    return with_holidays(load_shop(), store=[national, short], every=every)


def test_a_days_hours_come_from_its_weekday_or_its_holiday(shop: Shop) -> None:
    main = shop.stores[0]
    monday = store_hours.hours_on(shop, main, date(2026, 1, 5))
    assert monday.hours == (time(10), time(21)) and not monday.special
    closed = store_hours.hours_on(shop, main, date(2026, 1, 8))
    assert closed.closed and closed.special and closed.name_en == "Anniversary"
    # The store's own entry wins over every store's for the same day.
    short = store_hours.hours_on(shop, main, date(2026, 1, 9))
    assert short.hours == (time(12), time(18)) and short.name == "盘点"
    assert store_hours.hours_on(shop, main, date(2026, 1, 10)).closed
    riverside = shop.stores[1]
    assert store_hours.hours_on(shop, riverside, date(2026, 1, 9)).closed  # every store's
    assert store_hours.hours_on(shop, riverside, date(2026, 1, 12)).closed  # Mondays


def test_open_now_until_closing_and_next_opening_when_closed(shop: Shop) -> None:
    main, riverside = shop.stores
    now = store_hours.open_now(shop, main, shop_time(5, 10), ZONE)
    assert now.open and now.closes_at == shop_time(5, 21)
    assert not store_hours.open_now(shop, main, shop_time(5, 9, 59), ZONE).open
    late = store_hours.open_now(shop, main, shop_time(5, 21), ZONE)
    assert not late.open and late.opens_at == shop_time(6, 10)
    # Wednesday evening: Thursday is a holiday, Friday opens at noon.
    assert store_hours.next_opening(shop, main, shop_time(7, 22), ZONE) == shop_time(9, 12)
    # Riverside is closed on Mondays: opens Tuesday 11:00.
    monday = store_hours.open_now(shop, riverside, shop_time(5, 12), ZONE)
    assert not monday.open and monday.opens_at == shop_time(6, 11)
    assert monday.opens_at is not None and monday.opens_at.tzinfo is UTC


def test_closed_for_weeks_has_no_next_opening(shop: Shop) -> None:
    main = shop.stores[0]
    never = main.hours.model_copy(update=dict.fromkeys(WEEKDAYS))
    closed = main.model_copy(update={"hours": never, "holidays": []})
    assert store_hours.next_opening(shop, closed, shop_time(5, 8), ZONE) is None
    assert store_hours.open_now(shop, closed, shop_time(5, 12), ZONE).opens_at is None


def test_midnight_closing_and_the_days_ahead(shop: Shop) -> None:
    main = shop.stores[0]
    late = main.model_copy(
        update={"hours": main.hours.model_validate({"mon": "18:00-24:00"}), "holidays": []}
    )
    at = shop_time(5, 23, 59)
    now = store_hours.open_now(shop, late, at, ZONE)
    assert now.open and now.closes_at == datetime(2026, 1, 6, 0, 0, tzinfo=ZONE)
    week = store_hours.week(shop, main, date(2026, 1, 5))
    assert [d.day.day for d in week] == [5, 6, 7, 8, 9, 10, 11]
    ahead = store_hours.special_days(shop, main, date(2026, 1, 5), 14)
    assert [d.day.day for d in ahead] == [8, 9, 10]


def test_bookings_take_a_holidays_hours(shop: Shop) -> None:
    main = shop.stores[0]
    slots = bookings.slots_for(shop, main, date(2026, 1, 9), ZONE)
    assert slots[0] == shop_time(9, 12) and slots[-1] == shop_time(9, 17, 30)
    assert bookings.slots_for(shop, main, date(2026, 1, 8), ZONE) == []


@pytest.mark.parametrize(
    ("details", "problem"),
    [
        ("latitude = 31.2", "stores[0]: give both latitude and longitude"),
        ("latitude = 91\nlongitude = 121", "stores[0].latitude"),
        ('phone = "call us"', "stores[0].phone"),
        ('map_url = "not a link"', "stores[0].map_url"),
        ('holidays = [{ day = 2026-10-01, hours = "18:00-09:00" }]', "closing time"),
        ("holidays = [{ day = 2026-10-01 }, { day = 2026-10-01 }]", "one entry per day"),
    ],
)
def test_wrong_store_details_name_their_key(tmp_path: Path, details: str, problem: str) -> None:
    path = tmp_path / "shop.toml"
    store = '[[stores]]\ncode = "x"\nname = "店"\nname_en = "Shop"\nslot_minutes = 30\n'
    hours = '[stores.hours]\nmon = "10:00-20:00"\n'
    path.write_text(f"{store}slot_capacity = 1\n{details}\n{hours}", encoding="utf-8")
    with pytest.raises(ShopFileError, match=re.escape(problem)):
        load_shop(path)
