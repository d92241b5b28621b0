"""The stores of the shop file: where each is, how to reach it, when it opens (every
weekday's hours, closed dates, holidays with their own hours), and its booking slots.

Apart from ``core.shop`` because a store's details grow with what members ask about them.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from core.shop_model import STRICT, Code

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = time(23, 59, 59)  # how a closing time of "24:00" is kept
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")

Hours = tuple[time, time]


class _Model(BaseModel):
    model_config = STRICT


def parse_hours(value: Any) -> Any:
    """``"HH:MM-HH:MM"`` → (opens, closes), ``"closed"`` → None (a validator's reading)."""
    if value is None or value == "closed":
        return None
    if not isinstance(value, str) or not (m := _HOURS.match(value)):
        raise ValueError('expected "HH:MM-HH:MM" or "closed"')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if not (h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError("not a time of day")
    opens = time(h1, m1)
    closes = END_OF_DAY if (h2, m2) == (24, 0) else time(h2, m2)
    if closes <= opens:
        raise ValueError("closing time must be after opening time")
    return (opens, closes)


class OpeningHours(_Model):
    """Per weekday either ``None`` (closed) or (opens, closes)."""

    mon: Hours | None = None
    tue: Hours | None = None
    wed: Hours | None = None
    thu: Hours | None = None
    fri: Hours | None = None
    sat: Hours | None = None
    sun: Hours | None = None

    _parse = field_validator(*WEEKDAYS, mode="before")(parse_hours)

    def on(self, weekday: int) -> Hours | None:
        """Opening hours for ``date.weekday()`` (0 = Monday)."""
        result: Hours | None = getattr(self, WEEKDAYS[weekday])
        return result


class SpecialDay(_Model):
    """A date whose hours are not its weekday's: a holiday closed all day (``"closed"``,
    the default) or open other hours (``"12:00-18:00"``), named for members to read."""

    day: date
    hours: Hours | None = None
    name: str = ""
    name_en: str = ""

    _parse = field_validator("hours", mode="before")(parse_hours)


class Store(_Model):
    """A store: names, ``address``, ``phone``, where it is on a map (``latitude`` and
    ``longitude``, WGS-84 as phones' GPS reads them, for a location message; ``map_url``
    for a map link where a channel cannot send one), weekly ``hours``, ``closed_dates`` and
    ``holidays`` with their own hours, and its booking slots."""

    code: Code
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    address: str = ""
    address_en: str = ""
    phone: str = Field(default="", pattern=r"^(\+?[0-9][0-9 ()-]{2,30})?$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    map_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    slot_minutes: int = Field(gt=0, le=24 * 60)
    slot_capacity: int = Field(gt=0)
    hours: OpeningHours
    closed_dates: list[date] = []
    holidays: list[SpecialDay] = []

    @model_validator(mode="after")
    def _place(self) -> Store:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        days = [h.day for h in self.holidays]
        if len(set(days)) != len(days):
            raise ValueError("holidays: one entry per day")
        return self

    @property
    def location(self) -> tuple[float, float] | None:
        """(latitude, longitude) when the shop file places the store on a map."""
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)
