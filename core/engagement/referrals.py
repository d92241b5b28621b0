"""Referrals (老带新): members bring new members with their invite code.

Every member has one invite code — random, from the coupon alphabet (no look-alikes), made
the first time it is asked for and never changed. A person who registers through it (a
Telegram deep link or a WeChat QR code whose parameter is ``ref-CODE``, or the code typed
at registration) is recorded as invited by its owner, in the registration's transaction.

The inviter earns the shop file's ``[referrals] referrer_points`` (and the new member
``welcome_points``) only when the new member's first purchase (of at least
``min_purchase_yuan``) is recorded, inside that sale's transaction: a conditional UPDATE
sets ``rewarded_at`` once, so a member earns their inviter one reward, however many
purchases follow. The points are ledger lots of their own kind (``referral``) that expire
like all points and do not count toward a tier. Both are told by a ``referral_reward``
push — a service message, since it is about points credited to the reader's own account.

Nothing is earned for one's own phone number, and a phone number is invited once: the
referral keeps a digest of the new member's phone under a unique constraint, so a member
who deletes their data and registers again (with the same phone, through the same or
another invite) earns nobody a second reward. The digest is kept after deletion for that
purpose only; it is a one-way hash, not the number.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update

from core import audit
from core.context import Context
from core.errors import AlreadyReferred, InviteCodeInvalid, SelfReferral
from core.ledger.points import grant_points
from core.people.members import Standing, format_member_no, lock_member, normalize_phone
from core.pushes import outbox
from storage.db import dialect_of, run
from storage.models import InviteCodeRow, MemberRow, ReferralRow
from storage.session import Session, rowcount

INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud safely
INVITE_CODE_LENGTH = 8  # 31**8 ≈ 8.5·10**11 codes: not guessable by trying
REF_PREFIX = "ref-"  # the start parameter of a link or QR code: ref-CODE
VIA = ("link", "qr", "code")  # Telegram deep link, WeChat QR scene, typed at registration
LEDGER_KIND = "referral"
PUSH_KIND = "referral_reward"
_DIGEST_SALT = b"memberbot-referral:"


def normalize_invite_code(text: str) -> str | None:
    """A typed or linked invite code (any case, spaces or dashes, with or without the
    ``ref-`` prefix) in its stored form, or None when it cannot be one."""
    text = text.strip()
    if text.lower().startswith(REF_PREFIX):
        text = text[len(REF_PREFIX) :]
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != INVITE_CODE_LENGTH or any(ch not in INVITE_ALPHABET for ch in code):
        return None
    return code


def phone_digest(phone: str) -> str:
    """What a referral keeps of the new member's (normalised) phone."""
    return hashlib.sha256(_DIGEST_SALT + phone.encode()).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


@dataclass(frozen=True)
class Invite:
    """A member's invite: the code to type, and the Telegram link when the bot is known."""

    code: str
    link: str | None


def invite_link(ctx: Context, code: str) -> str | None:
    bot = ctx.shop.referrals.telegram_bot
    return f"https://t.me/{bot}?start={REF_PREFIX}{code}" if bot else None


async def invite_code(ctx: Context, member_id: int) -> Invite:
    """The member's invite code, made the first time it is asked for."""
    async with ctx.db.read() as s:
        code = await s.scalar(
            select(InviteCodeRow.code).where(InviteCodeRow.member_id == member_id)
        )
    if code is None:
        now = ctx.now()
        async with ctx.db.transaction() as s:
            await lock_member(s, member_id)  # two first asks at once make one code
            code = await s.scalar(
                select(InviteCodeRow.code).where(InviteCodeRow.member_id == member_id)
            )
            if code is None:
                code = _new_code()
                while await s.scalar(select(InviteCodeRow.code).where(InviteCodeRow.code == code)):
                    code = _new_code()
                s.add(InviteCodeRow(member_id=member_id, code=code, created_at=now))
    return Invite(code=code, link=invite_link(ctx, code))


async def _referrer(s: Session, text: str) -> MemberRow:
    """The member whose invite code ``text`` is; a deleted member's code is void."""
    code = normalize_invite_code(text)
    row = (
        await s.scalar(
            select(MemberRow)
            .join(InviteCodeRow, InviteCodeRow.member_id == MemberRow.id)
            .where(InviteCodeRow.code == code)
        )
        if code
        else None
    )
    if row is None or row.phone is None:
        raise InviteCodeInvalid(code=text.strip()[:20])
    return row


async def _check(s: Session, referrer: MemberRow, phone: str) -> None:
    if phone == referrer.phone:
        raise SelfReferral()
    taken = await s.scalar(
        select(ReferralRow.id).where(ReferralRow.phone_digest == phone_digest(phone))
    )
    if taken is not None:
        raise AlreadyReferred()


@dataclass(frozen=True)
class Referrer:
    member_id: int
    name: str
    code: str


async def check_invite(ctx: Context, code: str, phone: str | None = None) -> Referrer:
    """What registration asks before anything is stored: whose code this is, and — once
    the phone is known — whether it may count (InviteCodeInvalid, SelfReferral for the
    inviter's own phone, AlreadyReferred for a phone invited before)."""
    async with ctx.db.read() as s:
        referrer = await _referrer(s, code)
        if phone:
            await _check(s, referrer, normalize_phone(phone))
        return Referrer(referrer.id, referrer.name, normalize_invite_code(code) or "")


async def attach(s: Session, ctx: Context, member: MemberRow, code: str, via: str) -> bool:
    """Record ``member`` (being registered, in the caller's transaction) as invited by the
    owner of ``code``; True if recorded. A refused invite (see :func:`check_invite`; also a
    member without a phone, whose invite could not be counted once) records nothing and
    never stops the registration."""
    if member.phone is None:
        return False
    try:
        referrer = await _referrer(s, code)
        await _check(s, referrer, member.phone)
    except (InviteCodeInvalid, SelfReferral, AlreadyReferred):
        return False
    if referrer.id == member.id:
        return False
    now = ctx.now()
    # Two registrations of the same phone at once: the unique digest lets one through.
    inserted = await s.execute(
        dialect_of(s)
        .insert(ReferralRow.__table__)
        .values(
            referrer_id=referrer.id,
            member_id=member.id,
            phone_digest=phone_digest(member.phone),
            via=via if via in VIA else "code",
            created_at=now,
            referrer_points=0,
            welcome_points=0,
        )
        .on_conflict_do_nothing()
    )
    if not rowcount(inserted):
        return False
    audit.record(
        s, now, audit.member_actor(member.id), "referral.recorded", member.id, referrer=referrer.id
    )
    return True


# Every sale asks it (members.member_id is unique): built once, run prebuilt.
_PENDING = select(ReferralRow.id, ReferralRow.referrer_id).where(
    ReferralRow.member_id == bindparam("member_id"), ReferralRow.rewarded_at.is_(None)
)


async def reward_first_purchase(
    s: Session,
    ctx: Context,
    member: Standing,
    sale_id: int,
    amount_fen: int,
    *,
    notify: bool = True,
) -> bool:
    """Inside the transaction of a sale (``member`` locked): if this is the invited
    member's first purchase that counts, give the inviter's reward and the welcome bonus,
    once. True if rewarded now."""
    rules = ctx.shop.referrals
    if amount_fen < rules.min_purchase_fen:
        return False
    referral = (await run(s, _PENDING, {"member_id": member.id})).first()
    if referral is None:
        return False
    now = ctx.now()
    referrer = await lock_member(s, referral.referrer_id)
    # A deleted inviter has no use for points; the new member's welcome still counts.
    referrer_points = rules.referrer_points if referrer.phone is not None else 0
    claimed = await s.execute(
        update(ReferralRow)
        .where(ReferralRow.id == referral.id, ReferralRow.rewarded_at.is_(None))
        .values(
            rewarded_at=now,
            sale_id=sale_id,
            referrer_points=referrer_points,
            welcome_points=rules.welcome_points,
        )
    )
    if not rowcount(claimed):
        return False
    given: tuple[tuple[MemberRow | Standing, int, str], ...] = (
        (referrer, referrer_points, "referrer"),
        (member, rules.welcome_points, "welcome"),
    )
    for who, points, role in given:
        if not points:
            continue
        grant_points(
            s,
            ctx,
            who.id,
            LEDGER_KIND,
            points,
            detail={"role": role, "referral": referral.id},
        )
        if notify:
            await outbox.enqueue(
                s,
                now=now,
                member_id=who.id,
                marketing_consent=who.marketing_consent,
                kind=PUSH_KIND,
                dedup_key=f"referral:{referral.id}:{role}",
                params={"role": role, "points": points},
            )
    audit.record(
        s,
        now,
        audit.SYSTEM,
        "referral.rewarded",
        referrer.id,
        referral=referral.id,
        member=format_member_no(member.id),
        referrer_points=referrer_points,
        welcome_points=rules.welcome_points,
    )
    return True


@dataclass(frozen=True)
class Referred:
    """A member someone invited, as staff see it."""

    member_id: int
    member_no: str
    name: str
    via: str
    registered_at: datetime
    rewarded_at: datetime | None


@dataclass(frozen=True)
class Referrals:
    """Whom a member invited (oldest first), and who invited them."""

    invited: list[Referred]
    invited_by: Referred | None

    @property
    def rewarded(self) -> int:
        return sum(1 for r in self.invited if r.rewarded_at is not None)


async def member_referrals(ctx: Context, member_id: int) -> Referrals:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(ReferralRow, MemberRow)
            .join(MemberRow, MemberRow.id == ReferralRow.member_id)
            .where(ReferralRow.referrer_id == member_id)
            .order_by(ReferralRow.created_at, ReferralRow.id)
        )
        invited = [_referred(r, m) for r, m in rows]
        found = (
            await s.execute(
                select(ReferralRow, MemberRow)
                .join(MemberRow, MemberRow.id == ReferralRow.referrer_id)
                .where(ReferralRow.member_id == member_id)
            )
        ).first()
        invited_by = None
        if found is not None:
            referral, referrer = found
            invited_by = _referred(referral, referrer)
        return Referrals(invited=invited, invited_by=invited_by)


def _referred(referral: ReferralRow, who: MemberRow) -> Referred:
    return Referred(
        member_id=who.id,
        member_no=format_member_no(who.id),
        name=who.name,
        via=referral.via,
        registered_at=referral.created_at,
        rewarded_at=referral.rewarded_at,
    )


async def erase_member(session: Session, member_id: int) -> None:
    """Erasing a member (``core.people.erasure``): their invite code stops working (nobody is
    brought to a member who is gone); who brought whom stays, for the figures."""
    await session.execute(delete(InviteCodeRow).where(InviteCodeRow.member_id == member_id))
