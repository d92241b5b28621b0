"""Reading what staff type for a new event (``bot.dialogs.staff.events``): days, times,
whole numbers, a tier, stages. Each reader returns None for what it cannot read, and the
step asks again."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from bot.dialogs.engine.dialogs import Turn
from bot.error_texts import STAGE_NAMES
from core.insights.segments import Stage
from core.typed import read_date

ANY = "*"  # every store, every tier or every stage
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
SPAN = re.compile(r"^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$")


def read_time(text: str) -> time | None:
    match = TIME.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return time(hour, minute) if hour < 24 and minute < 60 else None


def read_day(text: str) -> date | None:
    """One word of a date as people write it: ``2026-01-20``, ``2026/1/20``, ``2026年1月20日``."""
    return read_date(text)


def read_moment(turn: Turn, text: str, day: date | None = None) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` in shop time; with ``day``, ``HH:MM`` alone is on that day."""
    parts = text.split()
    found_day: date | None
    if len(parts) == 1 and day is not None:
        found_day, at = day, read_time(parts[0])
    elif len(parts) == 2:
        found_day, at = read_day(parts[0]), read_time(parts[1])
    else:
        return None
    if found_day is None or at is None:
        return None
    return datetime.combine(found_day, at, tzinfo=turn.ctx.zone)


def minutes(at: datetime) -> int:
    return int(at.timestamp()) // 60


def read_whole(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not text.isdigit() or len(text) > 9:
        return None
    value = int(text)
    return value if low <= value <= high else None


def find_tier(turn: Turn, text: str) -> str | None:
    typed = text.strip().casefold()
    if typed in (ANY, "all", "全部", turn._("All members").casefold()):
        return ANY
    for tier in turn.ctx.shop.tiers.levels:
        if typed in (tier.code.casefold(), tier.name.casefold(), tier.name_en.casefold()):
            return tier.code
    return None


def find_stages(turn: Turn, text: str) -> list[str] | None:
    """Stages typed by code or name, separated by commas or spaces; ``[]`` for any."""
    typed = text.strip().casefold()
    if typed in (ANY, "all", "全部", turn._("Any stage").casefold()):
        return []
    found = []
    for word in re.split(r"[,，、\s]+", typed):
        if not word:
            continue
        word = word.replace("-", "_")
        match = next(
            (
                stage.value
                for stage in Stage
                if word
                in (
                    stage.value,
                    turn._(STAGE_NAMES[stage.value]).casefold(),
                    STAGE_NAMES[stage.value].casefold(),
                )
            ),
            None,
        )
        if match is None:
            return None
        found.append(match)
    return sorted(set(found), key=[s.value for s in Stage].index) or None
