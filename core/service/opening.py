"""When a store is open: its weekly hours from the shop file, less its closed days and the
shop's (public holidays). Pure functions over the shop file and a moment in shop time."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta

from core.shop import Store

LOOK_AHEAD_DAYS = 31  # a store closed longer than this has no "next opening" worth naming


def hours_on(store: Store, day: date, closed: Collection[date] = ()) -> tuple[time, time] | None:
    """The store's (opens, closes) on ``day``; None when it is closed that day."""
    if day in store.closed_dates or day in closed:
        return None
    return store.hours.on(day.weekday())


def is_open(store: Store, at: datetime, closed: Collection[date] = ()) -> bool:
    """Whether the store is open at ``at`` (an aware moment in the shop's zone)."""
    hours = hours_on(store, at.date(), closed)
    return hours is not None and hours[0] <= at.timetz().replace(tzinfo=None) < hours[1]


def next_opening(store: Store, at: datetime, closed: Collection[date] = ()) -> datetime | None:
    """The next moment the store opens after ``at`` (shop time), or None within a month."""
    for offset in range(LOOK_AHEAD_DAYS + 1):
        day = at.date() + timedelta(days=offset)
        hours = hours_on(store, day, closed)
        if hours is None:
            continue
        opens = datetime.combine(day, hours[0], at.tzinfo)
        if opens > at:
            return opens
    return None


def first_opening(
    stores: Iterable[Store], at: datetime, closed: Collection[date] = ()
) -> tuple[Store, datetime] | None:
    """Of several stores, the one that opens first after ``at``, and when."""
    found = [(opens, n, s) for n, s in enumerate(stores) if (opens := next_opening(s, at, closed))]
    if not found:
        return None
    opens, _, store = min(found, key=lambda item: (item[0], item[1]))
    return store, opens
