"""What a till asks about a member: who a phone number, a member number or a scanned card
is, and what the counter needs at once (tier, balance, coupons usable now)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from core import audit
from core.context import Context
from core.errors import InvalidInput, UnknownMember
from core.ledger.coupons import CouponView, member_coupons
from core.ledger.points import balance_in
from core.people.members import MemberView, member_by_id, normalize_phone, parse_member_no
from storage.db import run
from storage.models import MemberRow
from storage.session import Session


@dataclass(frozen=True)
class MemberRef:
    """One of: the phone number, the member number, or the member card's QR code, whose
    content is the member number (bot.dialogs.member.card), read the same way."""

    phone: str | None = None
    member_no: str | None = None
    card: str | None = None


_BY_PHONE = select(MemberRow.id).where(MemberRow.phone == bindparam("phone"))


def _number(ref: MemberRef) -> int:
    """The member number (or the card's, which is the same) the reference gives."""
    number = ref.member_no if ref.member_no is not None else ref.card
    member_id = parse_member_no(number or "")
    if member_id is None:
        field = "member_no" if ref.member_no is not None else "card"
        raise InvalidInput(field=field, value=number)
    return member_id


async def _id_in(s: Session, ref: MemberRef) -> int:
    if ref.phone is None:
        return _number(ref)
    found = (await run(s, _BY_PHONE, {"phone": normalize_phone(ref.phone)})).scalar()
    if found is None:
        raise UnknownMember()
    return found


async def find_member(ctx: Context, ref: MemberRef) -> MemberView:
    """The member the reference names exactly (never a guess, unlike a clerk's look-up)."""
    async with ctx.db.read() as s:
        return await member_by_id(s, await _id_in(s, ref))


async def member_id(ctx: Context, ref: MemberRef) -> int:
    """The id of the member the reference names, for a use case that loads (and locks) the
    member itself and answers UnknownMember for an id nobody has: a sale. Only a phone
    number is looked up here, by one indexed query; a member number is the id."""
    if ref.phone is None:
        return _number(ref)
    async with ctx.db.read() as s:
        return await _id_in(s, ref)


@dataclass(frozen=True)
class MemberSummary:
    member: MemberView
    balance: int
    coupons: list[CouponView]  # usable now, soonest to expire first


async def member_summary(ctx: Context, ref: MemberRef, *, actor: str) -> MemberSummary:
    """The member with their balance and usable coupons; the look-up is audited (who read
    a member's data)."""
    member = await find_member(ctx, ref)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        audit.record(s, now, actor, "member.looked_up", member.id)
    return await summary(ctx, member)


async def summary(ctx: Context, member: MemberView) -> MemberSummary:
    """The member's balance and coupons usable now, e.g. right after registering."""
    async with ctx.db.read() as s:
        balance = await balance_in(s, member.id, ctx.now())
    return MemberSummary(member, balance, await member_coupons(ctx, member.id))
