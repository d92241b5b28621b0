"""Member CSV import and export: bad rows reported by line, re-import updates, round trip."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from core import csv_import
from core.clock import FixedClock
from core.context import Context
from core.errors import (
    DuplicateRow,
    InvalidBirthday,
    InvalidInput,
    InvalidPhone,
    MissingColumn,
    MissingValue,
    UnknownColumn,
    UnknownStore,
)
from core.people import member_csv
from core.people.erasure import delete_member
from core.people.members import MemberView, member_view, update_member
from core.people.registration import register_member
from storage.models import AuditRow, MemberRow, MemberTagRow

# Column order differs from the documented one on purpose: the header decides.
HEADER = ["name", "phone", "tags", "birthday", "gender", "locale", "home_store",
          "marketing_consent"]  # fmt: skip
ROWS = 1000
# Data row index → (column, bad value); the file line is index + 2 (the header is line 1).
BAD_CELLS = {
    10: ("phone", "12345"),
    150: ("birthday", "2027-03-01"),  # the test clock's today is 2026-01-05
    300: ("home_store", "nowhere"),
    450: ("name", ""),
    600: ("gender", "q"),
    750: ("phone", "+86 138-0000-0020"),  # row 20's phone, written another way
    900: ("marketing_consent", "maybe"),
}
EXPECTED_ERRORS = [
    (12, InvalidPhone, None),
    (152, InvalidBirthday, None),
    (302, UnknownStore, None),
    (452, MissingValue, "name"),
    (602, InvalidInput, "gender"),
    (752, DuplicateRow, "phone"),
    (902, InvalidInput, "marketing_consent"),
]


def phone(i: int) -> str:
    return f"138{i:08d}"


def generated_rows() -> list[dict[str, str]]:
    rows = []
    for i in range(ROWS):
        row = {
            "name": f"会员{i}",
            "phone": phone(i),
            "tags": ["vip;老客", "new|vip", ""][i % 3],
            "birthday": f"{1960 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 3 else "",
            "gender": ["女", "m", "x", "F", "男", ""][i % 6],
            "locale": ["zh_CN", "en", ""][i % 3],
            "home_store": ["main", "riverside", ""][i % 3],
            "marketing_consent": ["yes", "no", "是", "否", "1", "0", "true", "false", ""][i % 9],
        }
        if i in BAD_CELLS:
            column, value = BAD_CELLS[i]
            row[column] = value
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, str]], header: list[str] = HEADER, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


async def member_count(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(MemberRow)) or 0)


async def audit_rows(ctx: Context) -> list[AuditRow]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(AuditRow).where(AuditRow.action == "member.imported")))


async def by_phone(ctx: Context, number: str) -> MemberRow:
    async with ctx.db.read() as s:
        row = await s.scalar(select(MemberRow).where(MemberRow.phone == "+86" + number))
        assert row is not None, number
        return row


async def view(ctx: Context, number: str) -> MemberView:
    async with ctx.db.read() as s:
        return await member_view(s, await by_phone(ctx, number))


async def snapshot(ctx: Context) -> list[tuple[Any, ...]]:
    """Every member with every stored field and tags (in bulk: member_view is per row)."""
    async with ctx.db.read() as s:
        tags: defaultdict[int, list[str]] = defaultdict(list)
        for member_id, tag in await s.execute(
            select(MemberTagRow.member_id, MemberTagRow.tag).order_by(MemberTagRow.tag)
        ):
            tags[member_id].append(tag)
        rows = await s.scalars(select(MemberRow).order_by(MemberRow.id))
        return [
            (
                *(r.id, r.phone, r.name, r.birthday, r.gender, r.locale, r.home_store_id),
                *(r.marketing_consent, r.tier, r.registered_at, tuple(tags[r.id])),
            )
            for r in rows
        ]


def error_summary(report: csv_import.ImportReport) -> list[tuple[int, type, Any]]:
    return [(e.line, type(e.error), e.error.params.get("field")) for e in report.errors]


@contextmanager
def counted_statements(ctx: Context) -> Iterator[list[str]]:
    """The SQL statements sent to the database (an executemany counts once)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = ctx.db.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_import_keeps_good_rows_and_reports_bad_ones_by_line(
    ctx: Context, clock: FixedClock
) -> None:
    with counted_statements(ctx) as statements:
        report = await member_csv.import_members(
            ctx, io.StringIO(to_csv(generated_rows())), actor="staff:1"
        )

    assert error_summary(report) == EXPECTED_ERRORS
    assert report.errors[5].error.params["first_line"] == 22
    assert (report.created, report.updated, report.unchanged) == (993, 0, 0)
    assert await member_count(ctx) == 993
    # Bulk statements, not one per member (a per-row import would need thousands).
    assert len(statements) < 30, len(statements)

    first = await view(ctx, phone(0))
    assert (first.name, first.birthday, first.gender, first.locale) == ("会员0", None, "f", "zh_CN")
    assert (first.home_store, first.marketing_consent, first.tags) == (
        "main",
        True,
        ("vip", "老客"),
    )
    assert (first.tier, first.registered_at) == ("member", clock.now())
    seventh = await view(ctx, phone(7))
    assert (seventh.birthday, seventh.gender, seventh.locale) == (date(1967, 8, 8), "m", "en")
    assert (seventh.home_store, seventh.marketing_consent, seventh.tags) == (
        "riverside",
        False,
        ("new", "vip"),
    )
    assert (await view(ctx, phone(3))).gender == "f"  # "F"
    assert (await view(ctx, phone(20))).name == "会员20"  # the first of the two rows won

    [entry] = await audit_rows(ctx)
    assert entry.actor == "staff:1"
    assert entry.details == {"created": 993, "updated": 0, "unchanged": 0, "refused": 7}


async def test_reimport_updates_members_instead_of_duplicating(
    ctx: Context, clock: FixedClock
) -> None:
    rows = generated_rows()
    await member_csv.import_members(ctx, io.StringIO(to_csv(rows)))
    registered_at = clock.now()
    # The member changes her own birthday once: that change stays on record.
    member_4 = await by_phone(ctx, phone(4))
    await update_member(ctx, member_4.id, actor="member", birthday="1970-01-01")
    changed_at = clock.now()
    clock.advance(timedelta(days=1))

    for i in (1, 2, 3):
        rows[i]["name"] = f"改名{i}"
    rows[4]["birthday"] = "1990-02-03"  # the staff's correction
    rows[5]["tags"] = "gold"
    with counted_statements(ctx) as statements:
        report = await member_csv.import_members(ctx, to_csv(rows).splitlines(True))

    assert error_summary(report) == EXPECTED_ERRORS
    assert (report.created, report.updated, report.unchanged) == (0, 5, 988)
    assert len(statements) < 30, len(statements)
    assert await member_count(ctx) == 993
    assert [(await view(ctx, phone(i))).name for i in (1, 2, 3, 6)] == [
        "改名1",
        "改名2",
        "改名3",
        "会员6",
    ]
    member_4 = await by_phone(ctx, phone(4))
    assert (member_4.birthday, member_4.birthday_changed_at) == (date(1990, 2, 3), changed_at)
    assert member_4.registered_at == registered_at
    assert (await view(ctx, phone(5))).tags == ("gold",)
    assert [a.details["updated"] for a in await audit_rows(ctx)] == [0, 5]


async def test_reimport_leaves_columns_the_file_does_not_have(ctx: Context) -> None:
    await member_csv.import_members(ctx, io.StringIO(to_csv(generated_rows())))

    report = await member_csv.import_members(
        ctx, f"phone,name\n{phone(1)},新名字\n{phone(2)},会员2\n".splitlines(True)
    )

    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 1, 1, [])
    member = await view(ctx, phone(1))
    assert (member.name, member.birthday, member.locale, member.tags) == (
        "新名字",
        date(1961, 2, 2),
        "en",
        ("new", "vip"),
    )
    assert (member.gender, member.home_store, member.marketing_consent) == ("m", "riverside", False)


async def test_export_then_import_restores_the_data(ctx: Context, clock: FixedClock) -> None:
    await member_csv.import_members(ctx, io.StringIO(to_csv(generated_rows())))
    await register_member(ctx, name='=HYPERLINK("http://x")', phone="13900000001", tags=["a-b"])
    await register_member(ctx, name='Li, "Lucky" 李', phone="+1 415 555 0100", locale="en")
    member_ids = [member[0] for member in await snapshot(ctx)]
    # Neither one without a phone nor one who deleted their data can come back by phone.
    await register_member(ctx, name="No Phone", phone=None)
    gone = await register_member(ctx, name="Gone", phone="13900000002")
    await delete_member(ctx, gone.id, actor="member")
    before = await snapshot(ctx)

    out = io.StringIO()
    report = await member_csv.export_members(ctx, out)
    assert (report.written, report.without_phone) == (995, 2)
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(exported[0]) == list(member_csv.EXPORT_COLUMNS)
    assert exported[0]["member_no"] == "M000001"
    assert exported[0]["registered_at"] == "2026-01-05T10:00:00+08:00"
    assert exported[-2]["name"] == '\'=HYPERLINK("http://x")'  # not run by a spreadsheet

    clock.advance(timedelta(days=3))
    await update_member(ctx, member_ids[0], actor="staff:1", name="别人", tags=[], gender=None)
    await update_member(
        ctx,
        member_ids[7],
        actor="staff:1",
        birthday="2000-01-01",
        home_store=None,
        marketing_consent=True,
        locale="zh_CN",
    )
    await update_member(ctx, member_ids[-2], actor="staff:1", name="plain")

    report = await member_csv.import_members(ctx, io.StringIO(out.getvalue()))

    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 3, 992, [])
    assert await snapshot(ctx) == before


@pytest.mark.parametrize(
    ("text", "error", "column"),
    [
        (f"phone,name,nickname\n{phone(1)},A,Al\n", UnknownColumn, "nickname"),
        (f"phone,tags\n{phone(1)},vip\n", MissingColumn, "name"),
        ("", MissingColumn, "phone, name"),
    ],
)
async def test_a_bad_header_refuses_the_whole_file(
    ctx: Context, text: str, error: type, column: str
) -> None:
    report = await member_csv.import_members(ctx, io.StringIO(text))

    assert [(e.line, type(e.error), e.error.params) for e in report.errors] == [
        (1, error, {"column": column})
    ]
    assert (report.created, report.updated) == (0, 0)
    assert await member_count(ctx) == 0
    assert await audit_rows(ctx) == []


async def test_line_numbers_count_physical_lines(ctx: Context) -> None:
    text = (
        "phone,name,tags\r\n"
        f'{phone(1)},"Anna\r\nLee",vip\r\n'  # one record over lines 2 and 3
        "\r\n"  # a blank line 4
        ",,\r\n"  # an empty spreadsheet row on line 5
        "12345,Bob,\r\n"
        f"{phone(2)},Carl,bad tag\r\n"
    )

    report = await member_csv.import_members(ctx, io.StringIO(text))

    assert error_summary(report) == [(6, InvalidPhone, None), (7, InvalidInput, "tags")]
    assert report.created == 1
    assert (await view(ctx, phone(1))).name == "Anna Lee"


async def test_a_file_that_is_not_utf8_is_refused_whole(ctx: Context) -> None:
    data = f"phone,name\n{phone(1)},Anna\n{phone(2)},\xe5\xbc\xa0".encode() + b"\xff\n"
    source = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")

    report = await member_csv.import_members(ctx, source)

    assert [(type(e.error), e.error.params) for e in report.errors] == [
        (InvalidInput, {"field": "file"})
    ]
    assert await member_count(ctx) == 0
