"""The day and time a member names in a sentence ("明天下午两点", "Saturday afternoon", "3pm"),
so a booking request can fill those steps instead of asking for them again.

A small rule set, not a date library: ``dateparser`` misses the Chinese forms members type
(明天下午两点, 下午两点, 下周三) and costs over 100 ms on its first search. Pure and
framework-free: ``read`` sees only the text and the shop's local today, so every rule is
tested without a clock or a database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

Part = Literal["morning", "noon", "afternoon", "evening"]

# What each part of the day covers: the slot starts it offers, [from, until).
PART_HOURS: dict[Part, tuple[time, time]] = {
    "morning": (time(0), time(12)),
    "noon": (time(11), time(14)),
    "afternoon": (time(12), time(18)),
    "evening": (time(17), time(23, 59, 59)),
}


@dataclass(frozen=True)
class When:
    """What a sentence says about when: a local day, a time, or a part of the day (when
    no time is named). ``sure`` is False for an hour 1-11 named without am/pm or a part of
    the day ("3点", "at 3"), which may mean either half of the day."""

    day: date | None = None
    at: time | None = None
    part: Part | None = None
    sure: bool = True

    def __bool__(self) -> bool:
        return self.day is not None or self.at is not None or self.part is not None

    def times(self) -> list[time]:
        """The times the sentence may mean, likelier first."""
        if self.at is None:
            return []
        if self.sure or self.at.hour >= 12:
            return [self.at]
        later = self.at.replace(hour=self.at.hour + 12)
        return [self.at, later] if self.at.hour >= 8 else [later, self.at]


def in_part(part: Part, at: time) -> bool:
    """Whether a time of day lies in ``part``."""
    since, until = PART_HOURS[part]
    return since <= at < until


# --- numbers ------------------------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_DIGITS |= {"七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"


def _number(word: str) -> int | None:
    """An Arabic or Chinese number up to 99 (十五, 二十, 三十一, 两)."""
    if word.isdigit():
        return int(word)
    if "十" in word:
        tens, _, ones = word.partition("十")
        high = _DIGITS.get(tens, -99) if tens else 1
        low = _DIGITS.get(ones, -99) if ones else 0
        value = high * 10 + low
        return value if value >= 0 else None
    return _DIGITS.get(word) if len(word) == 1 else None


# --- parts of the day ---------------------------------------------------------------------

_PARTS: tuple[tuple[str, Part], ...] = (
    (r"上午|早上|早晨|早间|明早|morning", "morning"),
    (r"中午|午饭|午餐|\bnoon\b|\blunch", "noon"),
    (r"下午|午后|afternoon", "afternoon"),
    (r"晚上|傍晚|今晚|明晚|夜里|晚间|evening|tonight|\bnight\b", "evening"),
)


def _part(text: str) -> Part | None:
    for pattern, part in _PARTS:
        if re.search(pattern, text):
            return part
    return None


# --- times --------------------------------------------------------------------------------

_ZH_TIME = re.compile(  # not the 一点 of 快一点 / 一点点 (a little)
    rf"(?<![快慢好多少有差])(?P<h>{_NUM})\s*[点點时時](?![点儿兒])"
    rf"\s*(?:(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<m>{_NUM})\s*分?)?"
)
_COLON = re.compile(r"(?<!\d)(?P<h>\d{1,2}):(?P<m>\d{2})(?!\d)\s*(?P<ampm>[ap]\.?m\.?)?")
_AMPM = re.compile(r"(?<![\d:])(?P<h>\d{1,2})\s*(?P<ampm>[ap]\.?m\b\.?)")
_AT = re.compile(r"\b(?:at|around|about)\s+(?P<h>\d{1,2})\b(?!\s*(?:people|persons|of|/))")
_OCLOCK = re.compile(r"\b(?P<h>\d{1,2})\s*o'?clock\b")


def _time(text: str, part: Part | None) -> tuple[time | None, bool]:
    """The time named in ``text`` and whether its half of the day is certain."""
    hour = minute = None
    ampm = ""
    stated = False  # written the 24-hour way ("14:00", "09:30")
    found = _COLON.search(text)
    if found:
        hour, minute = int(found["h"]), int(found["m"])
        ampm = (found["ampm"] or "")[:1]
        stated = found["h"].startswith("0") or hour == 0
    elif found := _AMPM.search(text):
        hour, minute, ampm = int(found["h"]), 0, found["ampm"][:1]
    elif found := _ZH_TIME.search(text):
        hour = _number(found["h"])
        if found["half"]:
            minute = 30
        elif found["quarter"]:
            minute = 15 if found["quarter"] == "一刻" else 45
        else:
            minute = _number(found["m"]) if found["m"] else 0
    elif found := _OCLOCK.search(text) or _AT.search(text):
        hour, minute = int(found["h"]), 0
    elif part == "noon" and re.search(r"\bnoon\b|中午十二点", text):
        return time(12), True
    if hour is None or minute is None or not 0 <= minute < 60 or not 0 <= hour <= 24:
        return None, True
    if (ampm == "p" and hour < 12) or (part in ("afternoon", "evening") and 1 <= hour < 12):
        hour += 12
    elif (ampm == "a" and hour == 12) or hour == 24:
        hour = 0
    elif part == "noon" and 1 <= hour <= 3:
        hour += 12
    sure = bool(ampm) or part is not None or stated or not 1 <= hour <= 11
    return time(hour, minute), sure


# --- days ---------------------------------------------------------------------------------

_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_WEEKDAYS_ZH |= {str(n): n - 1 for n in range(1, 8)}
_ZH_WEEKDAY = re.compile(
    r"(?P<next>下下|下)?(?:个|這|这|本)?(?:周|星期|礼拜|禮拜)(?P<d>[一二三四五六日天七1-7])"
)
_EN_WEEKDAYS = (
    ("mon", "monday"),
    ("tue", "tues", "tuesday"),
    ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
)
_EN_WEEKDAY = re.compile(
    r"\b(?P<next>next\s+|this\s+|on\s+)?(?P<d>"
    + "|".join(sorted((w for names in _EN_WEEKDAYS for w in names), key=len, reverse=True))
    + r")\b"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = "|".join(rf"{m}[a-z]*" for m in _MONTHS)
_EN_DATE = re.compile(
    rf"\b(?P<mon>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon2>{_MONTH})\b"
)
_ZH_DATE = re.compile(rf"(?:(?P<m>{_NUM})\s*月\s*)?(?P<d>{_NUM})\s*[日号號](?![店])")
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_RELATIVE = (
    (r"大后天|大後天", 3),
    (r"后天|後天|day after tomorrow", 2),
    (r"明天|明日|明儿|明早|明晚|\btomorrow\b|\btmrw?\b", 1),
    (r"今天|今日|今儿|今晚|今早|\btoday\b|\btonight\b", 0),
)


def _weekday(today: date, weekday: int, weeks_on: int) -> date:
    """This coming ``weekday`` (today counts), or the one ``weeks_on`` weeks after this."""
    if weeks_on:
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * weeks_on + weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _dated(today: date, month: int | None, day: int) -> date | None:
    """A day of a month (this month when none is named), the next such day from today."""
    year, month_of = today.year, month or today.month
    for _ in range(13):
        try:
            found = date(year, month_of, day)
        except ValueError:
            found = None
        if found is not None and found >= today:
            return found
        if month is not None:  # a named month: the same date next year
            year += 1
            continue
        month_of, year = (1, year + 1) if month_of == 12 else (month_of + 1, year)
    return None


def _month(word: str) -> int:
    return _MONTHS.index(word[:3]) + 1


def _day(text: str, today: date) -> date | None:
    for pattern, days in _RELATIVE:
        if re.search(pattern, text):
            return today + timedelta(days=days)
    if found := _ZH_WEEKDAY.search(text):
        weeks_on = {"下": 1, "下下": 2}.get(found["next"] or "", 0)
        return _weekday(today, _WEEKDAYS_ZH[found["d"]], weeks_on)
    if found := _EN_WEEKDAY.search(text):
        weekday = next(n for n, names in enumerate(_EN_WEEKDAYS) if found["d"] in names)
        weeks_on = 1 if (found["next"] or "").startswith("next") else 0
        return _weekday(today, weekday, weeks_on)
    if found := _ISO.search(text):
        try:
            return date(int(found["y"]), int(found["m"]), int(found["d"]))
        except ValueError:
            return None
    if found := _EN_DATE.search(text):
        return _dated(today, _month(found["mon"] or found["mon2"]), int(found["d"] or found["d2"]))
    if found := _ZH_DATE.search(text):
        named = _number(found["m"]) if found["m"] else None
        number = _number(found["d"])
        if number is not None and 1 <= number <= 31 and (named is None or 1 <= named <= 12):
            return _dated(today, named, number)
    return None


def read(text: str, today: date) -> When:
    """The day (relative to the shop's local ``today``), time and part of the day that
    ``text`` names; an empty ``When`` when it names none."""
    text = unicodedata.normalize("NFKC", text).lower()
    part = _part(text)
    at, sure = _time(text, part)
    return When(day=_day(text, today), at=at, part=None if at else part, sure=sure)
