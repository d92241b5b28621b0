"""Typed button values: what a button carries is packed and read back in one place, and
anything else (another kind's value, an old or forged one) reads as None, which the flows
answer as no longer valid."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs.engine.types import Payload
from bot.dialogs.staff.bookings import BookingMark
from bot.dialogs.staff.events import SignupMark
from bot.dialogs.staff.references import MemberPick


def test_a_value_comes_back_as_it_was_packed() -> None:
    mark = BookingMark(7, "attended", "main", date(2026, 1, 6))
    assert mark.pack() == "7 attended main 2026-01-06"  # the wire format of before
    assert Payload("desk_bookings", "mark", mark.pack()).read(BookingMark) == mark
    assert SignupMark.unpack(SignupMark(3, "no_show", 9).pack()) == SignupMark(3, "no_show", 9)
    assert MemberPick(42).pack() == "member:42"
    assert MemberPick.unpack("member:42") == MemberPick(42)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "7 attended main",  # a word short
        "7 attended main 2026-01-06 x",  # a word too many
        "x attended main 2026-01-06",
        "-7 attended main 2026-01-06",
        "7 cancelled main 2026-01-06",  # not a mark
        "7 attended main 2026-13-06",
        "1234567890123 attended main 2026-01-06",  # beyond any id of ours
        "7 attended  2026-01-06",
    ],
)
def test_anything_else_reads_as_none(value: str) -> None:
    assert BookingMark.unpack(value) is None


def test_other_kinds_do_not_read_as_each_other() -> None:
    assert MemberPick.unpack("42") is None
    assert MemberPick.unpack("member:4 2") is None
    assert SignupMark.unpack(BookingMark(7, "attended", "main", date(2026, 1, 6)).pack()) is None


def test_a_field_that_is_not_one_word_is_refused_when_packed() -> None:
    with pytest.raises(ValueError):
        BookingMark(7, "attended", "main store", date(2026, 1, 6)).pack()
