"""Members in and out as CSV: a shop brings its existing member list once (and again after
corrections), and takes it out to its spreadsheet.

The phone number is the natural key, so importing the same file twice updates and never
duplicates. A bad row never stops the good ones; each is reported with its line number
and a domain error that every channel knows how to say. An export re-imports cleanly.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TextIO

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core import audit, csv_import
from core.context import Context
from core.csv_import import ImportReport, RowError
from core.errors import (
    DomainError,
    DuplicateRow,
    InvalidInput,
    MissingValue,
    UnknownStore,
)
from core.people.members import (
    GENDERS,
    LOCALES,
    clean_name,
    clean_tags,
    format_member_no,
    normalize_phone,
    parse_birthday,
)
from storage.models import MemberRow, MemberTagRow, StoreRow
from storage.session import Session

IMPORT_COLUMNS = (
    "phone",
    "name",
    "birthday",
    "gender",
    "locale",
    "home_store",
    "marketing_consent",
    "tags",
)
REQUIRED_COLUMNS = ("phone", "name")
EXPORT_ONLY_COLUMNS = ("member_no", "tier", "registered_at")
EXPORT_COLUMNS = ("member_no", *IMPORT_COLUMNS, "tier", "registered_at")
DEFAULT_LOCALE = "zh_CN"
CHUNK = 500  # rows per query: well below SQLite's and asyncpg's bound-parameter limits
WRITE_ATTEMPTS = 3

_GENDERS = {**{g: g for g in GENDERS}, "女": "f", "男": "m"}
_LOCALES = {code.lower().replace("_", "-"): code for code in LOCALES}  # see _locale_key
_CONSENT = {
    "yes": True,
    "true": True,
    "1": True,
    "是": True,
    "no": False,
    "false": False,
    "0": False,
    "否": False,
}
_TAG_SEPARATOR = re.compile(r"[;|]")
# A cell starting with one of these is run as a formula by spreadsheet programs; names come
# from members, so the export neutralises them with a leading quote (and "'" itself, so
# that the import can undo exactly what the export did).
_FORMULA_START = ("=", "+", "-", "@", "'")
# File column → MemberRow attribute, for the columns an update may overwrite.
_FIELDS = {
    "name": "name",
    "birthday": "birthday",
    "gender": "gender",
    "locale": "locale",
    "home_store": "home_store_id",
    "marketing_consent": "marketing_consent",
}


@dataclass(frozen=True, slots=True)
class MemberFields:
    """One valid row, in the form stored (phone normalised, store as id)."""

    phone: str
    name: str
    birthday: date | None
    gender: str | None
    locale: str
    home_store_id: int | None
    marketing_consent: bool
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A row whose member columns are valid, with its cells by column name (a file that
    brings more than members, such as balances, reads its own columns from them)."""

    line: int
    member: MemberFields
    values: dict[str, str]


async def import_members(
    ctx: Context,
    source: Iterable[str] | TextIO,
    *,
    actor: str = audit.SYSTEM,
    progress: csv_import.Progress | None = None,
) -> ImportReport:
    """Create or update members from CSV text (UTF-8, header row first, BOM allowed).

    Only the columns the file has are overwritten on members already on file, so a file
    with just ``phone,name`` cannot wipe birthdays or tags. A birthday corrected here does
    not use up the member's own one change. All rows are checked before anything is
    written; the good ones are then written in one transaction with bulk statements.
    """
    records = csv_import.records(source, progress)
    try:
        width, columns = csv_import.read_header(
            records,
            imported=IMPORT_COLUMNS,
            required=REQUIRED_COLUMNS,
            ignored=EXPORT_ONLY_COLUMNS,
        )
        stores = await store_ids(ctx) if "home_store" in columns else {}
        rows, errors = parse_rows(records, width, columns, stores, ctx.today())
    except csv_import.FileRefused as whole_file:  # a bad header, or not CSV text
        return whole_file.report()
    members = [row.member for row in rows]
    created, updated, unchanged = await write_members(
        ctx, members, frozenset(columns), actor, len(errors)
    )
    return ImportReport(created, updated, errors, unchanged)


async def write_members(
    ctx: Context,
    members: Sequence[MemberFields],
    present: frozenset[str],
    actor: str,
    refused: int,
) -> tuple[int, int, int]:
    """Insert the new, update the changed (only the ``present`` columns), leave the rest;
    returns (created, updated, unchanged)."""
    attempt = 1
    while True:
        try:
            return await _write(ctx, members, present, actor, refused)
        except IntegrityError:
            # A member registered by chat (or given a new phone) between our read and our
            # write, on PostgreSQL: a new attempt sees that member and updates it instead.
            if attempt == WRITE_ATTEMPTS:
                raise
            attempt += 1


@dataclass(frozen=True)
class ExportReport:
    written: int
    without_phone: int  # left out: the phone is the import's key (and deleted data has none)


async def export_members(ctx: Context, out: TextIO) -> ExportReport:
    """Write every member with a phone number as CSV in the import's format (plus member
    number, tier and registration time, which the import ignores), so the file imports
    again without a refused line.

    Members are read in id order, a chunk at a time, so memory stays flat for any count.
    """
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    last_id = 0
    async with ctx.db.read() as s:
        stores = dict((await s.execute(select(StoreRow.id, StoreRow.code))).all())
        while True:
            chunk = list(
                await s.scalars(
                    select(MemberRow)
                    .where(MemberRow.id > last_id, MemberRow.phone.is_not(None))
                    .order_by(MemberRow.id)
                    .limit(CHUNK)
                )
            )
            if not chunk:
                break
            tags = await _tags_of(s, [m.id for m in chunk])
            writer.writerows(
                (
                    format_member_no(m.id),
                    m.phone,
                    _spreadsheet_safe(m.name),
                    m.birthday.isoformat() if m.birthday else "",
                    m.gender or "",
                    m.locale,
                    stores.get(m.home_store_id, "") if m.home_store_id else "",
                    "yes" if m.marketing_consent else "no",
                    _spreadsheet_safe(";".join(tags.get(m.id, ()))),
                    m.tier,
                    m.registered_at.astimezone(ctx.zone).isoformat(timespec="seconds"),
                )
                for m in chunk
            )
            s.expunge_all()  # keep the identity map from growing with the export
            count += len(chunk)
            last_id = chunk[-1].id
        without_phone = await s.scalar(
            select(func.count()).select_from(MemberRow).where(MemberRow.phone.is_(None))
        )
    return ExportReport(count, int(without_phone or 0))


# -- reading ------------------------------------------------------------------------------


async def store_ids(ctx: Context) -> dict[str, int]:
    """All stores by code, inactive ones too: an export names them and must re-import."""
    async with ctx.db.read() as s:
        return dict((await s.execute(select(StoreRow.code, StoreRow.id))).all())


def parse_rows(
    records: Iterable[tuple[int, list[str]]],
    width: int,
    columns: dict[str, int],
    stores: dict[str, int],
    today: date,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> tuple[list[ParsedRow], list[RowError]]:
    """Check every row; a phone belongs to its first row, whatever else that row holds."""
    members: list[ParsedRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines and the empty rows spreadsheets leave at the end
        values = {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
        try:
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                raise InvalidInput(field="columns", value=len(cells))
            for column in required:
                if not values[column]:
                    raise MissingValue(field=column)
            phone = normalize_phone(values["phone"])
            if phone in first_line:
                raise DuplicateRow(
                    field="phone", phone=values["phone"], first_line=first_line[phone]
                )
            first_line[phone] = line
            members.append(ParsedRow(line, _member(phone, values, stores, today), values))
        except DomainError as exc:
            errors.append(RowError(line, exc))
    return members, errors


def _member(
    phone: str, values: dict[str, str], stores: dict[str, int], today: date
) -> MemberFields:
    """One row's values through the same rules as registration, checked in column order;
    absent or empty cells take the registration defaults."""
    name = clean_name(_from_spreadsheet(values["name"]))
    birthday = values.get("birthday", "")
    born = parse_birthday(birthday, today) if birthday else None
    gender = values.get("gender", "")
    if gender and gender.lower() not in _GENDERS:
        raise InvalidInput(field="gender", value=gender)
    locale = values.get("locale", "")
    if locale and _locale_key(locale) not in _LOCALES:
        raise InvalidInput(field="locale", value=locale)
    store = values.get("home_store", "")
    if store and store.lower() not in stores:
        raise UnknownStore(store=store)
    consent = values.get("marketing_consent", "")
    if consent and consent.lower() not in _CONSENT:
        raise InvalidInput(field="marketing_consent", value=consent)
    tags = clean_tags(_TAG_SEPARATOR.split(_from_spreadsheet(values.get("tags", ""))))
    return MemberFields(
        phone=phone,
        name=name,
        birthday=born,
        gender=_GENDERS[gender.lower()] if gender else None,
        locale=_LOCALES[_locale_key(locale)] if locale else DEFAULT_LOCALE,
        home_store_id=stores[store.lower()] if store else None,
        marketing_consent=_CONSENT[consent.lower()] if consent else False,
        tags=tuple(tags),
    )


def _locale_key(text: str) -> str:
    """zh_CN, zh-CN and zh_cn all mean the same locale."""
    return text.lower().replace("_", "-")


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _from_spreadsheet(text: str) -> str:
    """Undo ``_spreadsheet_safe``: drop the quote the export put before a formula start."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


# -- writing ------------------------------------------------------------------------------


async def _write(
    ctx: Context,
    members: Sequence[MemberFields],
    present: frozenset[str],
    actor: str,
    refused: int,
) -> tuple[int, int, int]:
    """Insert the new, update the changed, leave the rest; returns (created, updated,
    unchanged). One transaction, a handful of statements per few hundred rows."""
    now = ctx.now()
    fields = [
        _FIELDS[column] for column in IMPORT_COLUMNS if column in _FIELDS and column in present
    ]
    async with ctx.db.transaction() as s:
        existing = await _existing(s, sorted(m.phone for m in members))
        old_tags = (
            await _tags_of(s, [row.id for row in existing.values()]) if "tags" in present else {}
        )
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        retag: dict[int, tuple[str, ...]] = {}
        new_tags: dict[str, tuple[str, ...]] = {}
        updated = 0
        for member in members:
            row = existing.get(member.phone)
            if row is None:
                inserts.append(
                    {
                        "phone": member.phone,
                        **{field: getattr(member, field) for field in _FIELDS.values()},
                        "tier": ctx.shop.tiers.levels[0].code,
                        "registered_at": now,
                    }
                )
                if member.tags:
                    new_tags[member.phone] = member.tags
                continue
            changed = False
            if any(getattr(row, field) != getattr(member, field) for field in fields):
                updates.append({"id": row.id, **{f: getattr(member, f) for f in fields}})
                changed = True
            if "tags" in present and old_tags.get(row.id, ()) != member.tags:
                retag[row.id] = member.tags
                changed = True
            updated += changed
        if updates:
            await s.execute(update(MemberRow), updates)
        await _delete_tags(s, sorted(retag))
        if inserts:
            # render_nulls: the same columns in every row, else one INSERT per row.
            created = await s.execute(
                insert(MemberRow).returning(MemberRow.id, MemberRow.phone),
                inserts,
                execution_options={"render_nulls": True},
            )
            for member_id, phone in created:
                if phone in new_tags:
                    retag[member_id] = new_tags[phone]
        tag_rows = [{"member_id": i, "tag": tag} for i, tags in retag.items() for tag in tags]
        if tag_rows:
            await s.execute(insert(MemberTagRow), tag_rows)
        unchanged = len(existing) - updated
        audit.record(
            s,
            now,
            actor,
            "member.imported",
            created=len(inserts),
            updated=updated,
            unchanged=unchanged,
            refused=refused,
        )
    return len(inserts), updated, unchanged


async def _existing(session: Session, phones: Sequence[str]) -> dict[str, Any]:
    """Members already on file, by phone, locked against concurrent changes (PostgreSQL;
    SQLite's write transaction already excludes other writers). Sorted phones keep the
    lock order the same for two imports running at once."""
    found: dict[str, Any] = {}
    columns = [getattr(MemberRow, field) for field in _FIELDS.values()]
    for start in range(0, len(phones), CHUNK):
        rows = await session.execute(
            select(MemberRow.id, MemberRow.phone, *columns)
            .where(MemberRow.phone.in_(phones[start : start + CHUNK]))
            .order_by(MemberRow.phone)
            .with_for_update()
        )
        found.update((row.phone, row) for row in rows)
    return found


async def _tags_of(session: Session, member_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    tags: defaultdict[int, list[str]] = defaultdict(list)
    for start in range(0, len(member_ids), CHUNK):
        rows = await session.execute(
            select(MemberTagRow.member_id, MemberTagRow.tag)
            .where(MemberTagRow.member_id.in_(member_ids[start : start + CHUNK]))
            .order_by(MemberTagRow.member_id, MemberTagRow.tag)
        )
        for member_id, tag in rows:
            tags[member_id].append(tag)
    return {member_id: tuple(found) for member_id, found in tags.items()}


async def _delete_tags(session: Session, member_ids: Sequence[int]) -> None:
    for start in range(0, len(member_ids), CHUNK):
        chunk = member_ids[start : start + CHUNK]
        await session.execute(delete(MemberTagRow).where(MemberTagRow.member_id.in_(chunk)))
