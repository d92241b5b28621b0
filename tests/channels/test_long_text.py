"""Long replies cut into parts a platform takes: between lines, each within the limit."""

from __future__ import annotations

from bot.handlers.long_text import split, utf8_bytes, utf16_units


def test_a_short_text_stays_whole() -> None:
    assert split("a\nb", 10, len) == ["a\nb"]


def test_parts_are_cut_between_lines_and_keep_every_line() -> None:
    lines = [f"{n:02d}. booking" for n in range(10)]  # 12 characters each
    parts = split("\n".join(lines), 40, len)
    assert all(len(part) <= 40 for part in parts)
    assert "\n".join(parts).split("\n") == lines
    assert len(parts) == 4  # three lines (38 characters) to a part


def test_a_line_longer_than_a_message_is_cut_inside() -> None:
    parts = split("x" * 25 + "\nend", 10, len)
    assert parts == ["x" * 10, "x" * 10, "x" * 5 + "\nend"]


def test_the_platforms_measures() -> None:
    assert utf16_units("😀a") == 3  # outside the BMP: two units
    assert utf8_bytes("积分") == 6
    parts = split("积分" * 10, 7, utf8_bytes)  # two characters (6 bytes) to a part
    assert parts == ["积分"] * 10
