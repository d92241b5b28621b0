"""Replies longer than a platform takes in one message, in parts it does take.

Telegram refuses a text over 4 096 characters ("message is too long"), WeChat one over
2 048 bytes; a day's bookings of two stores or a long feedback queue passes either. The
parts are cut between lines wherever a line fits, so a list is never cut mid-entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

Size = Callable[[str], int]


def utf16_units(text: str) -> int:
    """Telegram's measure: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    """WeChat's measure."""
    return len(text.encode())


def split(text: str, limit: int, size: Size) -> list[str]:
    """``text`` in parts of at most ``limit`` by ``size``, cut at line ends where it can."""
    if size(text) <= limit:
        return [text]
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for piece in _pieces(line, limit, size):
            joined = piece if current is None else f"{current}\n{piece}"
            if size(joined) <= limit:
                current = joined
            else:
                if current is not None and current.strip():
                    parts.append(current)
                current = piece
    if current is not None and current.strip():
        parts.append(current)
    return parts


def _pieces(line: str, limit: int, size: Size) -> Iterator[str]:
    """A line longer than a whole message, cut where it must be."""
    while size(line) > limit:
        low, high = 1, len(line)  # the longest prefix that fits
        while low < high:
            middle = (low + high + 1) // 2
            if size(line[:middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        yield line[:low]
        line = line[low:]
    yield line
