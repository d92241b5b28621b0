"""Formats people type, read in one place per kind: dates, birthdays, amounts, member
numbers, phones typed in several words, and names with a typo (candidates, never a guess)."""

from __future__ import annotations

import io
from datetime import date

import pytest

from core.context import Context
from core.errors import AmountGrouping, InvalidAmount, InvalidBirthday
from core.ledger.rules import parse_amount
from core.people import member_csv
from core.people.erasure import delete_member
from core.people.members import parse_birthday, parse_member_no, resolve_member
from core.people.registration import register_member
from core.typed import read_date

TODAY = date(2024, 6, 1)


@pytest.mark.parametrize(
    "typed",
    [
        "1990-05-12",
        "1990-5-12",
        "1990/5/12",
        "1990.5.12",
        "1990 5 12",
        "19900512",
        "1990年5月12日",  # the bot's own display format
        "1990年5月12号",
        "1990 年 5 月 12 日",
        "１９９０年５月１２日",  # full-width digits
        "１９９０－０５－１２",
        "May 12 1990",
        "may 12, 1990",
        "May 12th 1990",
        "12 May 1990",
        "12 May, 1990",
        "12 may. 1990",
        "  1990-05-12 ",
    ],
)
def test_dates_are_read_as_people_write_them(typed: str) -> None:
    assert read_date(typed) == date(1990, 5, 12)


def test_year_last_dates_are_read_only_when_unmistakable() -> None:
    assert read_date("25/12/1990") == date(1990, 12, 25)
    assert read_date("12/25/1990") == date(1990, 12, 25)
    assert read_date("5/5/1990") == date(1990, 5, 5)
    assert read_date("5/6/1990") is None  # 5 June or May 6: asked again, not guessed
    assert read_date("12/5/1990") is None


@pytest.mark.parametrize(
    "typed",
    ["1990-02-30", "1990年13月1日", "Mai 12 1990", "May 32 1990", "90-5-12", "12 May", "soon", ""],
)
def test_what_is_no_date_is_not_read(typed: str) -> None:
    assert read_date(typed) is None


@pytest.mark.parametrize("typed", ["1990/5/32", "1990.2.30", "2030年1月1日", "1890-01-01", "x"])
def test_a_refused_birthday_echoes_exactly_what_was_typed(typed: str) -> None:
    with pytest.raises(InvalidBirthday) as refused:
        parse_birthday(f" {typed} ", TODAY)
    assert refused.value.params["value"] == typed


def test_birthdays_take_every_spelling() -> None:
    assert parse_birthday("1990/5/1", TODAY) == date(1990, 5, 1)
    assert parse_birthday("May 12 1990", TODAY) == date(1990, 5, 12)
    assert parse_birthday(date(1990, 5, 12), TODAY) == date(1990, 5, 12)


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("238", 23_800),
        ("1200.5", 120_050),
        ("1,200.50", 120_050),
        ("12,345,678.90", 1_234_567_890),
        ("¥1,200", 120_000),
        ("￥1200.5", 120_050),
        ("1200元", 120_000),
        ("300 块", 30_000),
        ("RMB 300", 30_000),
        ("１２００", 120_000),  # full-width
        ("￥１，２００．５０", 120_050),
        (" 0.5 ", 50),
    ],
)
def test_amounts_are_read_as_people_type_them(typed: str, fen: int) -> None:
    assert parse_amount(typed, 10**12) == fen


@pytest.mark.parametrize("typed", ["1,20", "238,5", "1,2345", "12,34,567", ",200"])
def test_a_comma_only_groups_thousands(typed: str) -> None:
    with pytest.raises(InvalidAmount) as refused:  # ",200" is no amount at all
        parse_amount(typed, 10**12)
    assert refused.value.params["value"] == typed
    if typed != ",200":
        assert isinstance(refused.value, AmountGrouping)


@pytest.mark.parametrize(
    "typed", ["0", "-5", "100.123", "1e9", "abc", "$100", "1.200,50", "10000000000", "1 200"]
)
def test_what_is_no_amount_is_refused(typed: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(typed, 10**12)
    with pytest.raises(InvalidAmount):  # a slipped finger
        parse_amount("9999999", 100_000_00)


@pytest.mark.parametrize(
    ("typed", "number"),
    [("M000302", 302), ("000302", 302), ("302", 302), ("m302", 302), ("３０２", 302)],
)
def test_member_numbers_need_no_letter_or_zeros(typed: str, number: int) -> None:
    assert parse_member_no(typed) == number


@pytest.mark.parametrize("typed", ["13800138000", "M", "3O2", "Bob"])
def test_what_is_no_member_number(typed: str) -> None:
    assert parse_member_no(typed) is None


async def test_a_name_with_a_typo_lists_the_closest_members(ctx: Context) -> None:
    bob = await register_member(ctx, name="Bob Chen", phone="13800138001")
    rob = await register_member(ctx, name="Rob Chan", phone="13800138002")
    await register_member(ctx, name="Alice Wang", phone="13800138003")
    wang = await register_member(ctx, name="王小明", phone="13800138004")
    gone = await register_member(ctx, name="Bob Chenn", phone="13800138005")
    await delete_member(ctx, gone.id, actor="member")

    typo = await resolve_member(ctx, "Bob Chenn")
    assert typo.member is None  # a typo never picks someone by guess
    assert [m.id for m in typo.candidates] == [bob.id, rob.id]  # closest first
    swapped = await resolve_member(ctx, "chen bob")
    assert swapped.member is None and swapped.candidates[0].id == bob.id
    homophone = await resolve_member(ctx, "王晓明")
    assert [m.id for m in homophone.candidates] == [wang.id]
    assert (await resolve_member(ctx, "Zhang Wei")).candidates == []
    exact = await resolve_member(ctx, "bob chen")
    assert exact.member is not None and exact.member.id == bob.id


async def test_a_short_member_number_names_the_member(ctx: Context) -> None:
    for n in range(3):
        await register_member(ctx, name=f"M{n}", phone=f"1380013800{n}")
    found = await resolve_member(ctx, "2")
    assert found.member is not None and found.member.member_no == "M000002"


async def test_a_csv_import_reads_the_same_spellings(ctx: Context) -> None:
    text = (
        "phone,name,birthday\n138 0013 8000,李雷,1990年5月12日\n+86 139-0013-9000,Bob,May 12 1990\n"
    )
    report = await member_csv.import_members(ctx, io.StringIO(text))
    assert (report.created, report.errors) == (2, [])
    found = [await resolve_member(ctx, phone) for phone in ("13800138000", "13900139000")]
    assert [(f.member and f.member.birthday) for f in found] == [date(1990, 5, 12)] * 2
