"""The day and time read from a sentence, in Chinese and English. Today is Monday 2026-01-05
in the shop's zone."""

from __future__ import annotations

from datetime import date, time

import pytest

from core.service.when import When, in_part, read

TODAY = date(2026, 1, 5)  # a Monday


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("今天", date(2026, 1, 5)),
        ("明天", date(2026, 1, 6)),
        ("后天", date(2026, 1, 7)),
        ("大后天", date(2026, 1, 8)),
        ("周六", date(2026, 1, 10)),
        ("星期天", date(2026, 1, 11)),
        ("周一", date(2026, 1, 5)),  # today is a Monday: this one
        ("下周三", date(2026, 1, 14)),
        ("下星期一", date(2026, 1, 12)),
        ("这周五", date(2026, 1, 9)),
        ("10号", date(2026, 1, 10)),
        ("1月20日", date(2026, 1, 20)),
        ("3号", date(2026, 2, 3)),  # passed this month: next month's
        ("today", date(2026, 1, 5)),
        ("tomorrow", date(2026, 1, 6)),
        ("the day after tomorrow", date(2026, 1, 7)),
        ("Saturday", date(2026, 1, 10)),
        ("on sat", date(2026, 1, 10)),
        ("next Wednesday", date(2026, 1, 14)),
        ("Jan 10", date(2026, 1, 10)),
        ("10th of January", date(2026, 1, 10)),
        ("2026-01-09", date(2026, 1, 9)),
    ],
)
def test_days(text: str, day: date) -> None:
    assert read(text, TODAY).day == day


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("下午两点", time(14)),
        ("下午2点", time(14)),
        ("晚上7点", time(19)),
        ("晚上七点半", time(19, 30)),
        ("中午12点", time(12)),
        ("中午1点", time(13)),
        ("上午10点", time(10)),
        ("14点", time(14)),
        ("十四点三十分", time(14, 30)),
        ("下午3点一刻", time(15, 15)),
        ("14:00", time(14)),
        ("１４：００", time(14)),  # full-width, as Chinese keyboards type it
        ("14:00 (4 free)", time(14)),
        ("14:00（剩 4 位）", time(14)),
        ("3pm", time(15)),
        ("3 PM", time(15)),
        ("3:30pm", time(15, 30)),
        ("11am", time(11)),
        ("12pm", time(12)),
        ("noon", time(12)),
        ("at 3 in the afternoon", time(15)),
    ],
)
def test_times(text: str, at: time) -> None:
    found = read(text, TODAY)
    assert (found.at, found.sure, found.part) == (at, True, None)


def test_a_whole_request() -> None:
    assert read("明天下午两点预约", TODAY) == When(day=date(2026, 1, 6), at=time(14))
    assert read("tomorrow at 3pm", TODAY) == When(day=date(2026, 1, 6), at=time(15))
    assert read("星期天晚上八点有位吗", TODAY) == When(day=date(2026, 1, 11), at=time(20))


def test_a_part_of_the_day_without_a_time() -> None:
    assert read("Saturday afternoon", TODAY) == When(day=date(2026, 1, 10), part="afternoon")
    assert read("周六下午", TODAY) == When(day=date(2026, 1, 10), part="afternoon")
    assert read("tonight", TODAY) == When(day=TODAY, part="evening")
    assert read("明早", TODAY) == When(day=date(2026, 1, 6), part="morning")
    assert in_part("afternoon", time(14)) and not in_part("afternoon", time(11, 30))


def test_an_hour_without_its_half_of_the_day_tries_both() -> None:
    assert read("3点", TODAY).times() == [time(15), time(3)]
    assert read("at 7", TODAY).times() == [time(19), time(7)]
    assert read("9点半", TODAY).times() == [time(9, 30), time(21, 30)]
    assert read("14:00", TODAY).times() == [time(14)]


@pytest.mark.parametrize(
    "text",
    ["预约", "我想预约", "I'd like to book a visit", "book for 2 people", "快一点", "一点点", ""],
)
def test_nothing_named(text: str) -> None:
    assert not read(text, TODAY)


def test_impossible_dates_are_none() -> None:
    assert read("2月30日", TODAY).day is None
    assert read("2026-02-30", TODAY).day is None
    assert read("25:00", TODAY).at is None
