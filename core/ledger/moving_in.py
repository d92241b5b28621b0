"""Moving in from an old system: members with their points balance, tier and lifetime spend,
from one CSV file a shop exports from its previous loyalty system or spreadsheet.

A row is a member (found by phone, created or updated by the rules of ``members import``)
with their points as one or more lots, each with the expiry it had. The points arrive as
``migrated`` lots through :func:`core.ledger.points.grant_points`, like every other lot, so
spending, expiry and the statement treat them as any points. A member moves in once: the
figures are kept with a digest, so the same file again changes nothing, and other figures
for a member already moved in are refused (after moving in the member may have spent or
earned points here; staff correct a balance with an adjustment, which is audited). The
tier given is set when it is above the member's (never lowered on import) and held by the
review for one window (``core.ledger.tiers``). The lifetime spend is kept as an opening
figure: not a sale, so it earns no points, sends no receipt and changes no statistics.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TextIO

from sqlalchemy import select

from core import audit, csv_import
from core.context import Context
from core.csv_import import ImportReport, RowError
from core.errors import AlreadyMovedIn, DomainError, InvalidInput, LotExpired, UnknownMember
from core.ledger import tiers
from core.ledger.points import grant_points
from core.ledger.rules import parse_amount
from core.people import member_csv
from core.typed import fold, read_date
from storage.models import MemberRow, MigratedBalanceRow
from storage.session import Session

KIND = "migrated"  # the ledger kind of points brought from an old system
BALANCE_COLUMNS = ("points", "expires", "tier", "lifetime_spend_yuan")
COLUMNS = (*member_csv.IMPORT_COLUMNS, *BALANCE_COLUMNS)
REQUIRED_COLUMNS = (*member_csv.REQUIRED_COLUMNS, "points")
IGNORED_COLUMNS = tuple(c for c in member_csv.EXPORT_ONLY_COLUMNS if c not in COLUMNS)
CHUNK = 200  # members per transaction: a long file never holds one lock for long
MAX_SPEND_FEN = 10**11  # a billion yuan: a guard against a shifted column
_LOT_SEPARATOR = re.compile(r"[;|]")
_POINTS = re.compile(r"^\d{1,9}$")
_ZERO = re.compile(r"^[¥]?\s*0+(?:\.0{1,2})?\s*(?:元)?$")


@dataclass(frozen=True, slots=True)
class _Lot:
    points: int
    expires_on: date | None  # the last day the points count; none: the shop's lifetime


@dataclass(frozen=True, slots=True)
class _Balance:
    line: int
    member: member_csv.MemberFields
    lots: tuple[_Lot, ...]
    tier: str | None
    lifetime_spend_fen: int | None

    @property
    def points(self) -> int:
        return sum(lot.points for lot in self.lots)

    @property
    def digest(self) -> str:
        """The figures the file gives for this member: the same row gives the same digest
        on any day (an empty expiry stays empty, not the date it was given)."""
        figures = {
            "lots": [
                [lot.points, lot.expires_on and lot.expires_on.isoformat()] for lot in self.lots
            ],
            "tier": self.tier,
            "spend": self.lifetime_spend_fen,
        }
        return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()


async def import_balances(
    ctx: Context,
    source: Iterable[str] | TextIO,
    *,
    actor: str = audit.SYSTEM,
    progress: csv_import.Progress | None = None,
) -> ImportReport:
    """Bring members' balances, tiers and lifetime spend from CSV text (UTF-8, header row
    first). Every row is checked first; members already moved in with the same figures are
    left alone, with other figures refused; then the members are written as ``members
    import`` writes them, and their balances a few hundred members per transaction.
    ``created`` counts the members moved in, ``unchanged`` those moved in before."""
    tick = progress or _no_progress
    records = csv_import.records(source)
    try:
        width, columns = csv_import.read_header(
            records, imported=COLUMNS, required=REQUIRED_COLUMNS, ignored=IGNORED_COLUMNS
        )
        stores = await member_csv.store_ids(ctx) if "home_store" in columns else {}
        rows, errors = member_csv.parse_rows(
            records, width, columns, stores, ctx.today(), REQUIRED_COLUMNS
        )
    except csv_import.FileRefused as whole_file:  # a bad header, or not CSV text
        return whole_file.report()
    balances: list[_Balance] = []
    for row in rows:
        try:
            balances.append(_balance(ctx, row))
        except DomainError as exc:
            errors.append(RowError(row.line, exc))
    fresh, unchanged, refused = await _sort_out(ctx, balances)
    errors.extend(refused)
    tick(1 + len(errors) + unchanged)  # the header, and the rows that write nothing
    if fresh:
        present = frozenset(c for c in columns if c in member_csv.IMPORT_COLUMNS)
        await member_csv.write_members(ctx, [b.member for b in fresh], present, actor, len(errors))
    created = 0
    for start in range(0, len(fresh), CHUNK):
        chunk = fresh[start : start + CHUNK]
        async with ctx.db.transaction() as s:
            moved, late, raced = await _move_in(s, ctx, chunk, actor)
        created += moved
        unchanged += late
        errors.extend(raced)
        tick(len(chunk))
    return ImportReport(created, 0, sorted(errors, key=lambda e: e.line), unchanged)


def _no_progress(_done: int) -> None:
    """No one is watching (tests, a pipe)."""


# -- reading ------------------------------------------------------------------------------


def _balance(ctx: Context, row: member_csv.ParsedRow) -> _Balance:
    values = row.values
    amounts = _cells(values["points"])
    days = _cells(values.get("expires", ""))
    if not all(_POINTS.match(fold(text)) for text in amounts):
        raise InvalidInput(field="points", value=values["points"][:40])
    if days and len(days) != len(amounts):
        raise InvalidInput(field="expires", value=values["expires"][:40])
    lots = tuple(
        _Lot(int(fold(text)), _expiry(ctx, day) if day else None)
        for text, day in zip(amounts, days or [""] * len(amounts), strict=True)
    )
    spend = values.get("lifetime_spend_yuan", "")
    return _Balance(
        line=row.line,
        member=row.member,
        lots=lots,
        tier=_tier(ctx, values.get("tier", "")),
        lifetime_spend_fen=_spend(spend) if spend else None,
    )


def _cells(text: str) -> list[str]:
    """``300;150`` (or ``300|150``): several lots in one cell; empty: none."""
    return [part.strip() for part in _LOT_SEPARATOR.split(text)] if text.strip() else []


def _expiry(ctx: Context, text: str) -> date:
    """The last day the points count (``2026-12-31``, ``2026/12/31``, ``2026年12月31日``):
    a day already past is refused, not moved in to expire that night."""
    day = read_date(text)
    if day is None:
        raise InvalidInput(field="expires", value=text[:40])
    if day < ctx.today():
        raise LotExpired(day=day.isoformat())
    return day


def _expires_at(ctx: Context, day: date) -> datetime:
    """Points good through ``day`` expire as it ends in the shop's zone (its last second, so
    the member reads that day as the one their points expire on)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=ctx.zone)


def _tier(ctx: Context, text: str) -> str | None:
    """A tier by its code or its name in either language (``gold``, ``金卡``, ``Gold``)."""
    if not text:
        return None
    wanted = text.strip().lower()
    for tier in ctx.shop.tiers.levels:
        if wanted in (tier.code.lower(), tier.name.lower(), tier.name_en.lower()):
            return tier.code
    raise InvalidInput(field="tier", value=text[:40])


def _spend(text: str) -> int:
    if _ZERO.match(fold(text)):
        return 0
    try:
        return parse_amount(text, MAX_SPEND_FEN)
    except DomainError:
        raise InvalidInput(field="lifetime_spend_yuan", value=text[:40]) from None


# -- writing ------------------------------------------------------------------------------


async def _sort_out(
    ctx: Context, balances: Sequence[_Balance]
) -> tuple[list[_Balance], int, list[RowError]]:
    """(to move in, how many moved in before with the same figures, refused as moved in
    before with other figures)."""
    moved: dict[str, MigratedBalanceRow] = {}
    phones = sorted(b.member.phone for b in balances)
    async with ctx.db.read() as s:
        for start in range(0, len(phones), member_csv.CHUNK):
            found = await s.execute(
                select(MemberRow.phone, MigratedBalanceRow)
                .join(MigratedBalanceRow, MigratedBalanceRow.member_id == MemberRow.id)
                .where(MemberRow.phone.in_(phones[start : start + member_csv.CHUNK]))
            )
            moved.update((str(phone), row) for phone, row in found)
    fresh: list[_Balance] = []
    unchanged = 0
    refused: list[RowError] = []
    for balance in balances:
        before = moved.get(balance.member.phone)
        if before is None:
            fresh.append(balance)
        elif before.digest == balance.digest:
            unchanged += 1
        else:
            refused.append(RowError(balance.line, _moved_before(ctx, before)))
    return fresh, unchanged, refused


def _moved_before(ctx: Context, before: MigratedBalanceRow) -> AlreadyMovedIn:
    day = before.moved_at.astimezone(ctx.zone).date().isoformat()
    return AlreadyMovedIn(points=before.points, day=day)


async def _move_in(
    s: Session, ctx: Context, chunk: Sequence[_Balance], actor: str
) -> tuple[int, int, list[RowError]]:
    """Each member's lots, tier and figures, under the member's lock; returns (moved in,
    moved in meanwhile by another import with the same figures, with other figures)."""
    now = ctx.now()
    # Locked in id order (``lock_member`` for a chunk at once), so two imports never wait
    # on each other in a circle.
    locked = await s.scalars(
        select(MemberRow)
        .where(MemberRow.phone.in_([b.member.phone for b in chunk]))
        .order_by(MemberRow.id)
        .with_for_update()
    )
    members = {str(row.phone): row for row in locked}
    before = {
        row.member_id: row
        for row in await s.scalars(
            select(MigratedBalanceRow).where(
                MigratedBalanceRow.member_id.in_([m.id for m in members.values()])
            )
        )
    }
    moved = late = 0
    raced: list[RowError] = []
    for balance in chunk:
        member = members.get(balance.member.phone)
        if member is None:  # deleted since it was written a moment ago
            raced.append(RowError(balance.line, UnknownMember(member=balance.member.phone)))
            continue
        earlier = before.get(member.id)
        if earlier is not None:  # another import got there first
            if earlier.digest == balance.digest:
                late += 1
            else:
                raced.append(RowError(balance.line, _moved_before(ctx, earlier)))
            continue
        s.add(
            MigratedBalanceRow(
                member_id=member.id,
                points=balance.points,
                tier=balance.tier,
                lifetime_spend_fen=balance.lifetime_spend_fen,
                digest=balance.digest,
                moved_at=now,
            )
        )
        for lot in balance.lots:
            if lot.points:
                expires_at = _expires_at(ctx, lot.expires_on) if lot.expires_on else None
                grant_points(s, ctx, member.id, KIND, lot.points, expires_at=expires_at)
        if balance.tier and ctx.shop.tier_rank(balance.tier) > ctx.shop.tier_rank(member.tier):
            spend = await tiers.window_spend(s, ctx, member.id)
            await tiers.change_tier(
                s, ctx, member, balance.tier, tiers.MIGRATED, spend, notify=False
            )
        audit.record(
            s,
            now,
            actor,
            "points.migrated",
            member.id,
            points=balance.points,
            lots=len(balance.lots),
            tier=balance.tier,
            lifetime_spend_fen=balance.lifetime_spend_fen,
        )
        moved += 1
    return moved, late, raced
