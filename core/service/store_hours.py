"""When a store is open: a day's hours (its weekday's, or a holiday's or closed date's),
whether it is open at a moment, when it opens next, and the days ahead with other hours.

Pure rules over the shop file, in the shop's time zone: bookings cut their slots from
``hours_on``, members' store questions read ``open_now`` and ``week``, and whoever must tell
a member when the store is back (a person to talk to outside opening hours) asks
``next_opening``. A day's hours end by midnight ("24:00" at the latest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.shop import Shop, Store
from core.shop_stores import END_OF_DAY, Hours

LOOKAHEAD_DAYS = 31  # how far ahead the next opening is sought (a store closed longer: None)


@dataclass(frozen=True)
class DayHours:
    """A store's hours on one local date: ``hours`` None when closed; ``special`` when they
    are not the weekday's (a holiday or closed date), with the holiday's names if it has
    them."""

    day: date
    hours: Hours | None
    special: bool = False
    name: str = ""
    name_en: str = ""

    @property
    def closed(self) -> bool:
        return self.hours is None


@dataclass(frozen=True)
class OpenNow:
    """Whether a store is open at a moment: if open, when it closes; if closed, when it
    opens next (None when not within ``LOOKAHEAD_DAYS``). Instants are aware, in UTC."""

    open: bool
    closes_at: datetime | None = None
    opens_at: datetime | None = None


def hours_on(shop: Shop, store: Store, day: date) -> DayHours:
    """The store's hours on the local date ``day``: a holiday of the store, else one of
    every store, else a closed date (the store's or the shop's), else its weekday's."""
    for holidays in (store.holidays, shop.holidays):
        holiday = next((h for h in holidays if h.day == day), None)
        if holiday is not None:
            return DayHours(day, holiday.hours, True, holiday.name, holiday.name_en)
    if day in store.closed_dates or day in shop.bookings.closed_dates:
        return DayHours(day, None, special=True)
    return DayHours(day, store.hours.on(day.weekday()))


def span(day: date, hours: Hours, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Opening and closing of ``hours`` on the local date ``day`` as UTC instants (a close
    at "24:00" is the next midnight)."""
    opens, closes = hours
    start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
    if closes == END_OF_DAY:
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    else:
        end = datetime.combine(day, closes, tzinfo=zone)
    return start, end.astimezone(UTC)


def next_opening(shop: Shop, store: Store, at: datetime, zone: ZoneInfo) -> datetime | None:
    """The first opening at or after ``at`` (UTC), or None if the store stays closed for
    the next ``LOOKAHEAD_DAYS`` days."""
    today = at.astimezone(zone).date()
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        hours = hours_on(shop, store, day).hours
        if hours is not None:
            opens, _ = span(day, hours, zone)
            if opens >= at:
                return opens
    return None


def open_now(shop: Shop, store: Store, at: datetime, zone: ZoneInfo) -> OpenNow:
    """Whether ``store`` is open at the instant ``at``, and until or from when."""
    today = at.astimezone(zone).date()
    hours = hours_on(shop, store, today).hours
    if hours is not None:
        opens, closes = span(today, hours, zone)
        if opens <= at < closes:
            return OpenNow(True, closes_at=closes)
    return OpenNow(False, opens_at=next_opening(shop, store, at, zone))


def week(shop: Shop, store: Store, first: date, days: int = 7) -> list[DayHours]:
    """The store's hours on ``days`` dates from ``first``."""
    return [hours_on(shop, store, first + timedelta(days=n)) for n in range(days)]


def special_days(shop: Shop, store: Store, first: date, days: int) -> list[DayHours]:
    """The dates from ``first`` within ``days`` whose hours are not their weekday's."""
    return [d for d in week(shop, store, first, days) if d.special]
