"""Members: who they are (phone, name, tags), profile changes, look-up, and linking a second
chat account. Registering one sets off referrals and alerts, so it is a module above this one
(``core.people.registration``)."""

from __future__ import annotations

import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.errors import (
    BirthdayLocked,
    IdentityTaken,
    InvalidBirthday,
    InvalidInput,
    InvalidPhone,
    LinkCodeInvalid,
    PhoneTaken,
    UnknownMember,
    UnknownStore,
)
from core.pushes import outbox
from core.text import blank, has_controls
from core.typed import fold, read_date
from storage.db import run
from storage.models import (
    IdentityRow,
    LinkCodeRow,
    MemberRow,
    MemberTagRow,
    StoreRow,
)
from storage.session import Session

CHANNELS = ("telegram", "wechat", "console")
GENDERS = ("f", "m", "x")
LOCALES = ("zh_CN", "en")
NAME_MAX = 50
TAG_PATTERN = re.compile(r"^[\w\u4e00-\u9fff-]{1,40}$")
LINK_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud safely
LINK_CODE_LIFETIME = timedelta(minutes=15)
DELETED_NAME = "deleted"  # what is left of a member who deleted their data
_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_MEMBER_NO = re.compile(r"^M?(\d{1,9})$", re.IGNORECASE)  # ids fit a 32-bit integer


def normalize_phone(text: str) -> str:
    """Mainland mobiles as +86…, others in E.164; anything else is refused. Full-width
    digits (an input method in full-width mode types １３９…) and other scripts' digits are
    read as 0-9 first: one phone has one spelling, or the same phone would be two members."""
    digits = re.sub(r"[\s\-‐‑–—().]", "", fold(text))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if _CN_MOBILE.match(digits):
        return "+86" + digits
    if digits.startswith("86") and _CN_MOBILE.match(digits[2:]):
        return "+" + digits
    if digits.startswith("+86") and not _CN_MOBILE.match(digits[3:]):
        raise InvalidPhone(value=text)
    if _E164.match(digits):
        return digits
    raise InvalidPhone(value=text)


def mask_phone(phone: str | None) -> str:
    """For logs and clerks: keep the country code, first three and last four digits."""
    if not phone:
        return ""
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


def parse_birthday(value: str | date, today: date) -> date:
    """A birthday typed any way ``core.typed.read_date`` reads (``1990年5月12日``, ``May 12
    1990``…), in the last 120 years; the error echoes the text exactly as it was typed."""
    if isinstance(value, str):
        typed = value.strip()
        read = read_date(typed)
        if read is None or read > today or read.year < today.year - 120:
            raise InvalidBirthday(value=typed)
        return read
    if value > today or value.year < today.year - 120:
        raise InvalidBirthday(value=value.isoformat())
    return value


def format_member_no(member_id: int) -> str:
    """The number printed on the member card and typed at the counter."""
    return f"M{member_id:06d}"


def parse_member_no(text: str) -> int | None:
    """``M000302``, ``000302`` or just ``302``: the card's number, its letter and leading
    zeros optional (a clerk reads out the digits that matter)."""
    match = _MEMBER_NO.match(fold(text))
    return int(match.group(1)) if match else None


def clean_name(name: str) -> str:
    """One rule for names wherever they come from (chat, staff, CSV import)."""
    name = " ".join(name.split())
    if blank(name) or len(name) > NAME_MAX or has_controls(name):
        raise InvalidInput(field="name", max=NAME_MAX)
    return name


def clean_tags(tags: list[str]) -> list[str]:
    """Trimmed, de-duplicated and sorted, so equal tag sets compare equal."""
    cleaned = sorted({t.strip() for t in tags if t.strip()})
    for tag in cleaned:
        if not TAG_PATTERN.match(tag):
            raise InvalidInput(field="tags", value=tag)
    return cleaned


@dataclass(frozen=True)
class MemberView:
    id: int
    member_no: str
    name: str
    phone: str | None
    birthday: date | None
    gender: str | None
    locale: str
    home_store: str | None
    marketing_consent: bool
    tier: str
    registered_at: datetime
    tags: tuple[str, ...]
    birthday_locked: bool = False  # changed once already; only staff may change it again


async def member_view(session: Session, row: MemberRow) -> MemberView:
    store = await session.get(StoreRow, row.home_store_id) if row.home_store_id else None
    return view_of(row, store.code if store else None, await member_tags(session, row.id))


_TAGS = (
    select(MemberTagRow.tag)
    .where(MemberTagRow.member_id == bindparam("member_id"))
    .order_by(MemberTagRow.tag)
)


async def member_tags(session: Session, member_id: int) -> list[str]:
    return list(await session.scalars(_TAGS, {"member_id": member_id}))


def view_of(row: MemberRow | Row[Any], home_store: str | None, tags: list[str]) -> MemberView:
    """The member as callers see it: its row (or a Core row with its columns, by name), its
    home store's code and its tags."""
    return MemberView(
        id=row.id,
        member_no=format_member_no(row.id),
        name=row.name,
        phone=row.phone,
        birthday=row.birthday,
        gender=row.gender,
        locale=row.locale,
        home_store=home_store,
        marketing_consent=row.marketing_consent,
        tier=row.tier,
        registered_at=row.registered_at,
        tags=tuple(tags),
        birthday_locked=row.birthday_changed_at is not None,
    )


# Built once: every sale runs them (building a statement costs SQLAlchemy more than SQLite
# takes to run it).
_STORE_ID = select(StoreRow.id).where(StoreRow.code == bindparam("code"))
_LOCK_MEMBER = select(MemberRow).where(MemberRow.id == bindparam("member_id")).with_for_update()
_LOCK_STANDING = (
    select(MemberRow.id, MemberRow.tier, MemberRow.marketing_consent)
    .where(MemberRow.id == bindparam("member_id"))
    .with_for_update()
)


@dataclass(frozen=True)
class Standing:
    """What a sale reads of the member it locks (``lock_standing``)."""

    id: int
    tier: str
    marketing_consent: bool


async def store_id(session: Session, code: str) -> int:
    found = (await run(session, _STORE_ID, {"code": code})).scalar()
    if found is None:
        raise UnknownStore(store=code)
    return found


async def lock_member(session: Session, member_id: int) -> MemberRow:
    """Load a member for change, serialising concurrent changes to the same member."""
    row = await session.scalar(_LOCK_MEMBER, {"member_id": member_id})
    if row is None:
        raise UnknownMember(member=member_id)
    return row


async def lock_standing(session: Session, member_id: int) -> Standing:
    """``lock_member`` for a use case that only reads the member: no ORM object, so the
    unit of work of a till's sale makes no ORM session (``storage.inline``)."""
    row = (await run(session, _LOCK_STANDING, {"member_id": member_id})).first()
    if row is None:
        raise UnknownMember(member=member_id)
    return Standing(*row)


async def identity_row(
    session: Session, channel: str, external_id: str, now: datetime
) -> IdentityRow:
    """The chat account (channel + id on it), created on first sight."""
    if channel not in CHANNELS:
        raise InvalidInput(field="channel", value=channel)
    row = await session.scalar(
        select(IdentityRow).where(
            IdentityRow.channel == channel, IdentityRow.external_id == external_id
        )
    )
    if row is None:
        row = IdentityRow(channel=channel, external_id=external_id, created_at=now, reachable=True)
        session.add(row)
        await session.flush()
    return row


async def set_tags(session: Session, member_id: int, tags: list[str]) -> None:
    """Replace a member's tags with ``tags`` (already cleaned: ``clean_tags``)."""
    await session.execute(delete(MemberTagRow).where(MemberTagRow.member_id == member_id))
    session.add_all(MemberTagRow(member_id=member_id, tag=t) for t in tags)


_UNSET = object()


async def update_member(
    ctx: Context,
    member_id: int,
    *,
    actor: str,
    name: str | None = None,
    phone: str | None = None,
    birthday: str | date | None = None,
    gender: str | object | None = _UNSET,
    locale: str | None = None,
    home_store: str | object | None = _UNSET,
    marketing_consent: bool | None = None,
    tags: list[str] | None = None,
    staff_override: bool = False,
) -> MemberView:
    """Change a member's profile. A birthday, once set, can be changed once by the member
    (staff may correct it again with ``staff_override``)."""
    now = ctx.now()
    try:
        async with ctx.db.transaction() as s:
            row = await lock_member(s, member_id)
            changed: list[str] = []
            if name is not None:
                row.name = clean_name(name)
                changed.append("name")
            if phone is not None:
                row.phone = normalize_phone(phone)
                changed.append("phone")
            if birthday is not None:
                born = parse_birthday(birthday, ctx.today())
                if row.birthday is not None and born != row.birthday:
                    if row.birthday_changed_at is not None and not staff_override:
                        raise BirthdayLocked(changed_at=row.birthday_changed_at)
                    row.birthday_changed_at = now
                row.birthday = born
                changed.append("birthday")
            if gender is not _UNSET:
                if gender is not None and gender not in GENDERS:
                    raise InvalidInput(field="gender", value=gender)
                row.gender = gender
                changed.append("gender")
            if locale is not None:
                if locale not in LOCALES:
                    raise InvalidInput(field="locale", value=locale)
                row.locale = locale
                changed.append("locale")
            if home_store is not _UNSET:
                row.home_store_id = (
                    await store_id(s, home_store) if isinstance(home_store, str) else None
                )
                changed.append("home_store")
            if marketing_consent is not None:
                if row.marketing_consent and not marketing_consent:  # queued with consent
                    await outbox.skip_unsent_marketing(
                        s, row.id, "marketing consent withdrawn", now=now
                    )
                row.marketing_consent = marketing_consent
                changed.append("marketing_consent")
            if tags is not None:
                await set_tags(s, row.id, clean_tags(tags))
                changed.append("tags")
            await s.flush()
            audit.record(s, now, actor, "member.updated", row.id, fields=changed)
            return await member_view(s, row)
    except IntegrityError:
        raise PhoneTaken(phone=mask_phone(phone)) from None


async def member_by_id(session: Session, member_id: int) -> MemberView:
    """The member, read in the caller's transaction."""
    row = await session.get(MemberRow, member_id)
    if row is None:
        raise UnknownMember(member=member_id)
    return await member_view(session, row)


async def get_member(ctx: Context, member_id: int) -> MemberView:
    async with ctx.db.read() as s:
        return await member_by_id(s, member_id)


async def member_for_identity(ctx: Context, channel: str, external_id: str) -> MemberView | None:
    """The member behind a chat account, or None for someone not yet registered."""
    async with ctx.db.read() as s:
        row = await s.scalar(
            select(MemberRow)
            .join(IdentityRow, IdentityRow.member_id == MemberRow.id)
            .where(IdentityRow.channel == channel, IdentityRow.external_id == external_id)
        )
        return await member_view(s, row) if row else None


async def find_members(ctx: Context, query: str, limit: int = 10) -> list[MemberView]:
    """Staff look-up by phone, member number or part of the name."""
    query = query.strip()
    conditions = []
    with suppress(InvalidPhone):
        conditions.append(MemberRow.phone == normalize_phone(query))
    if (number := parse_member_no(query)) is not None:
        conditions.append(MemberRow.id == number)
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(MemberRow.name).like(f"%{escaped.lower()}%", escape="\\"))
    if not conditions:
        return []
    async with ctx.db.read() as s:
        rows = await s.scalars(
            select(MemberRow).where(or_(*conditions)).order_by(MemberRow.id).limit(limit)
        )
        return [await member_view(s, r) for r in rows]


@dataclass(frozen=True)
class Lookup:
    """A member reference typed by staff: the member it names, or else who it may mean."""

    member: MemberView | None
    candidates: list[MemberView]


CANDIDATES_MAX = 5
_NOT_ERASED = or_(MemberRow.name != DELETED_NAME, MemberRow.phone.is_not(None))


async def resolve_member(ctx: Context, reference: str) -> Lookup:
    """Phone, member number (also as scanned from the card) or a name naming exactly one
    member; otherwise the members it may mean — a typo never picks someone by guess."""
    reference = reference.strip()
    found = await find_members(ctx, reference, limit=CANDIDATES_MAX + 1)
    exact = [
        m
        for m in found
        if m.id == parse_member_no(reference)
        or (m.phone and _same_phone(m.phone, reference))
        or m.name.casefold() == reference.casefold()
    ]
    if len(exact) == 1:
        return Lookup(exact[0], [])
    if exact:
        return Lookup(None, exact[:CANDIDATES_MAX])
    digits = re.sub(r"\D", "", fold(reference))
    if not found and len(digits) >= 4:
        # A mistyped phone: members whose phone starts or ends the same way.
        async with ctx.db.read() as s:
            rows = await s.scalars(
                select(MemberRow)
                .where(
                    or_(
                        MemberRow.phone.like(f"%{digits[-4:]}"),
                        MemberRow.phone.like(f"%{digits[:7]}%"),
                    )
                )
                .order_by(MemberRow.id)
                .limit(CANDIDATES_MAX)
            )
            found = [await member_view(s, r) for r in rows]
    elif not found and not digits:
        found = await _names_like(ctx, reference)
    return Lookup(None, found[:CANDIDATES_MAX])


NAME_SCORE_MIN = 66  # of 100: "Bob Chenn" → "Bob Chen" (94), 王晓明 → 王小明 (67), not 王明 → 王亮


async def _names_like(ctx: Context, typed: str) -> list[MemberView]:
    """Members whose name is close to a mistyped one ("Bob Chenn", a nickname one character
    off), best first. rapidfuzz's weighted ratio scores a typo, a missing word or swapped
    words alike; only names are read, in one query, and erased members are left out."""
    async with ctx.db.read() as s:
        rows = await s.execute(select(MemberRow.id, MemberRow.name).where(_NOT_ERASED))
        names = {member_id: name for member_id, name in rows}
        best = process.extract(
            typed,
            names,
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            score_cutoff=NAME_SCORE_MIN,
            limit=CANDIDATES_MAX,
        )
        return [await member_by_id(s, member_id) for _, _, member_id in best]


def _same_phone(phone: str, typed: str) -> bool:
    try:
        return normalize_phone(typed) == phone
    except InvalidPhone:
        return False


@dataclass(frozen=True)
class LinkCode:
    code: str
    expires_at: datetime


async def create_link_code(ctx: Context, member_id: int) -> LinkCode:
    """A short one-time code the member types (or opens as a deep link) in a second chat
    app to reach the same membership there."""
    now = ctx.now()
    code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(8))
    async with ctx.db.transaction() as s:
        await lock_member(s, member_id)
        s.add(
            LinkCodeRow(
                code=code, member_id=member_id, created_at=now, expires_at=now + LINK_CODE_LIFETIME
            )
        )
        audit.record(s, now, audit.member_actor(member_id), "member.link_code", member_id)
    return LinkCode(code=code, expires_at=now + LINK_CODE_LIFETIME)


async def link_identity(ctx: Context, code: str, channel: str, external_id: str) -> MemberView:
    """Attach this chat account to the member who created ``code``; the code works once."""
    now = ctx.now()
    code = code.strip().upper()
    async with ctx.db.transaction() as s:
        identity = await identity_row(s, channel, external_id, now)
        claimed = await s.execute(
            update(LinkCodeRow)
            .where(
                LinkCodeRow.code == code,
                LinkCodeRow.used_at.is_(None),
                LinkCodeRow.expires_at > now,
            )
            .values(used_at=now, used_by_identity_id=identity.id)
            .returning(LinkCodeRow.member_id)
        )
        member_id = claimed.scalar()
        if member_id is None:
            raise LinkCodeInvalid()
        if identity.member_id not in (None, member_id):
            raise IdentityTaken(channel=channel)
        identity.member_id = member_id
        audit.record(
            s, now, audit.member_actor(member_id), "member.linked", member_id, channel=channel
        )
        return await member_view(s, await lock_member(s, member_id))


async def erase_member(session: Session, row: MemberRow) -> list[str]:
    """Erasing a member (``core.people.erasure``): the row stays (sales, points and coupons point
    to it, so the shop's statistics stay right) but holds nothing personal any more: the
    name becomes ``DELETED_NAME``, phone, birthday and gender are cleared, tags, marketing
    consent and link codes removed. A deleted member is told apart by this name and an
    empty phone; no column marks it. Returns what named them (name, phone as stored and
    as typed, birthday), to find it elsewhere."""
    named = [row.name, *_phone_forms(row.phone)]
    if row.birthday is not None:
        named.append(row.birthday.isoformat())
    row.name = DELETED_NAME
    row.phone = None
    row.birthday = None
    row.birthday_changed_at = None
    row.gender = None
    row.marketing_consent = False
    row.home_store_id = None
    await session.execute(delete(MemberTagRow).where(MemberTagRow.member_id == row.id))
    await session.execute(delete(LinkCodeRow).where(LinkCodeRow.member_id == row.id))
    return named


def _phone_forms(phone: str | None) -> list[str]:
    """A phone as stored (+8613912345678) and as a mainland member types it."""
    if phone is None:
        return []
    return [phone, phone.removeprefix("+86")]
