"""Registering a member: the one use case that sets off other concerns.

A new member may come with an invite (``core.engagement.referrals``), and a phone refused
because it belongs to another store's member raises an alert (``core.oversight.alerts``).
Both build on ``core.people.members``, so registering sits above all three instead of
inside members.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.engagement import referrals
from core.errors import IdentityTaken, InvalidInput, PhoneTaken
from core.integrations import webhooks
from core.oversight import alerts
from core.people.members import (
    GENDERS,
    LOCALES,
    MemberView,
    clean_name,
    clean_tags,
    identity_row,
    mask_phone,
    member_view,
    normalize_phone,
    parse_birthday,
    set_tags,
    store_id,
)
from storage.models import IdentityRow, MemberRow


async def register_member(
    ctx: Context,
    *,
    name: str,
    phone: str | None,
    birthday: str | date | None = None,
    gender: str | None = None,
    locale: str = "zh_CN",
    home_store: str | None = None,
    marketing_consent: bool = False,
    tags: list[str] | None = None,
    channel: str | None = None,
    external_id: str | None = None,
    phone_verified: bool = False,
    actor: str = audit.SYSTEM,
    invite_code: str | None = None,
    invited_via: str = "code",
) -> MemberView:
    """Create a member, optionally tied to the chat account that registered.

    A phone already on file is refused, except when the channel verified it (a shared
    Telegram contact) and that member has no account on this channel yet: then the chat
    account is attached to the existing member (e.g. one imported by the shop).
    A new member with an ``invite_code`` is recorded as invited by its owner when the
    invite may count (core.engagement.referrals.attach); a refused invite never stops registering.
    """
    now = ctx.now()
    name = clean_name(name)
    phone = normalize_phone(phone) if phone else None
    born = parse_birthday(birthday, ctx.today()) if birthday else None
    if gender is not None and gender not in GENDERS:
        raise InvalidInput(field="gender", value=gender)
    if locale not in LOCALES:
        raise InvalidInput(field="locale", value=locale)
    tag_list = clean_tags(tags or [])
    try:
        async with ctx.db.transaction() as s:
            identity = (
                await identity_row(s, channel, external_id, now)
                if channel and external_id is not None
                else None
            )
            if identity and identity.member_id is not None:
                raise IdentityTaken(channel=channel)
            existing = (
                await s.scalar(select(MemberRow).where(MemberRow.phone == phone)) if phone else None
            )
            if existing is not None:
                if not (identity and phone_verified):
                    raise PhoneTaken(phone=mask_phone(phone))
                if await s.scalar(
                    select(IdentityRow.id).where(
                        IdentityRow.member_id == existing.id, IdentityRow.channel == channel
                    )
                ):
                    raise PhoneTaken(phone=mask_phone(phone))
                identity.member_id = existing.id
                audit.record(s, now, actor, "member.claimed", existing.id, channel=channel)
                return await member_view(s, existing)
            row = MemberRow(
                name=name,
                phone=phone,
                birthday=born,
                gender=gender,
                locale=locale,
                home_store_id=await store_id(s, home_store) if home_store else None,
                marketing_consent=marketing_consent,
                tier=ctx.shop.tiers.levels[0].code,
                registered_at=now,
            )
            s.add(row)
            await s.flush()
            await set_tags(s, row.id, tag_list)
            if identity:
                identity.member_id = row.id
            audit.record(s, now, actor, "member.registered", row.id, channel=channel)
            await webhooks.emit(
                s,
                now,
                "member.registered",
                member_id=row.id,
                store=home_store,
                data={"tier": row.tier, "channel": channel, "marketing_consent": marketing_consent},
            )
            if invite_code:
                await referrals.attach(s, ctx, row, invite_code, invited_via)
            return await member_view(s, row)
    except PhoneTaken:
        await alerts.check_phone_elsewhere(ctx, phone=phone, store=home_store, actor=actor)
        raise
    except IntegrityError:
        # Two registrations of the same phone (or chat account) at the same moment.
        raise PhoneTaken(phone=mask_phone(phone)) from None
