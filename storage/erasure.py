"""The two tools of erasing a person (``core.people.erasure``): finding the rows that mention them,
and keeping of a row's details the figures only.

Each module that owns a table erases its own rows with these; what counts as personal is
decided once, here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, false, or_

NEEDLE_MIN = 2  # a one-letter name would match half of every text
# What a detail that is no one's words looks like: a kind, a code, an actor ("staff:3").
_MACHINE_WORD = re.compile(r"[a-z][a-z0-9_]*(:[0-9]+)?")


def mentioning(column: Any, needles: Iterable[str]) -> ColumnElement[bool]:
    """Whether a text or JSON column holds one of ``needles`` (a phone, a name, a chat
    id, words typed). JSON is stored with non-ASCII escaped (``\\u97e9``), so each needle
    is looked for as written and as JSON writes it."""
    forms = {
        form
        for needle in needles
        if len(needle) >= NEEDLE_MIN
        for form in (needle, json.dumps(needle)[1:-1])
    }
    if not forms:
        return false()
    text = cast(column, Text)
    return or_(*(text.contains(form, autoescape=True) for form in sorted(forms)))


def figures(value: Any) -> Any:
    """``value`` (a row's details or parameters) without anything a person wrote: numbers,
    yes/no and machine words (kinds, codes, actors) stay, for the statistics and the
    records; other text goes."""
    if isinstance(value, dict):
        return {k: figures(v) for k, v in value.items() if _kept(v)}
    if isinstance(value, list):
        return [figures(v) for v in value if _kept(v)]
    return value


def _kept(value: Any) -> bool:
    if isinstance(value, str):
        return _MACHINE_WORD.fullmatch(value) is not None
    return True
