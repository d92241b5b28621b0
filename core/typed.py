"""Values as people type them: full-width digits from a Chinese input method, dates written
the ways a person writes them (``1990年5月12日``, ``1990.5.12``, ``May 12 1990``). Read here
once, so a birthday, a phone or an amount reads the same in a chat, at the counter and in a
CSV file."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(?P<month_name>[a-z]{3,9})\\.?"
# Year first: 1990-05-12, 1990/5/1, 1990.5.12, 1990 5 12, 1990年5月12日 (or 号), 19900512.
_YEAR_FIRST = re.compile(
    r"(?P<year>\d{4})\s*(?:[-/.\s]|年)\s*(?P<month>\d{1,2})\s*(?:[-/.\s]|月)\s*"
    r"(?P<day>\d{1,2})\s*[日号]?"
)
_COMPACT = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})")
# Year last: 12/5/1990 or 5/12/1990, read only where day and month cannot be mistaken.
_YEAR_LAST = re.compile(
    r"(?P<first>\d{1,2})\s*[-/.]\s*(?P<second>\d{1,2})\s*[-/.]\s*(?P<year>\d{4})"
)
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"\s*,?\s*(?P<year>\d{4})"
_NAME_FIRST = re.compile(_MONTH + r"\s*" + _DAY + _YEAR)
_DAY_FIRST = re.compile(_DAY + r"\s*" + _MONTH + _YEAR)


def fold(text: str) -> str:
    """``text`` with full-width forms as ASCII (１２３ → 123, ，→ ,) and every script's
    decimal digits as 0-9, trimmed: what an input method typed, as the rules read it."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(c)) if c.isdecimal() else c for c in folded).strip()


def read_date(text: str) -> date | None:
    """A calendar date written any way a person writes one, or None: unreadable, not a real
    day (1990-02-30), or year last with day and month mistakable (5/6/1990)."""
    typed = fold(text).casefold()
    try:
        if found := _YEAR_FIRST.fullmatch(typed) or _COMPACT.fullmatch(typed):
            return date(int(found["year"]), int(found["month"]), int(found["day"]))
        if found := _NAME_FIRST.fullmatch(typed) or _DAY_FIRST.fullmatch(typed):
            month = _MONTHS.get(found["month_name"])
            return date(int(found["year"]), month, int(found["day"])) if month else None
        if found := _YEAR_LAST.fullmatch(typed):
            first, second = int(found["first"]), int(found["second"])
            if first != second and first <= 12 and second <= 12:
                return None
            day, month = (first, second) if first > 12 else (second, first)
            return date(int(found["year"]), month, day)
    except ValueError:
        return None
    return None
