"""Erasing a person at their request (members own their data): every table keeps figures
about them — amounts, points, counts, dates, for the statistics — and nothing that says who
they were: no name, phone, birthday, chat id, nor words they or staff typed about them.
One-way digests may stay (a referral's phone digest).

Each module erases the rows of the tables it owns; this one decides the order and, with
what those rows named, finds the person in what other people were shown or were doing
(stored replies, conversations, choices, button payloads)."""

from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.context import Context
from core.engagement import referrals, shop_events
from core.integrations import webhooks
from core.ledger import adjustments
from core.oversight import alerts
from core.people import conversations, staff
from core.people.members import DELETED_NAME, erase_member, lock_member
from core.people.staff import StaffView
from core.pushes import outbox
from core.service import bookings, feedback, handoff
from storage import buttons, inbound_deliveries
from storage.models import IdentityRow
from storage.session import Session


async def delete_member(ctx: Context, member_id: int, *, actor: str) -> None:
    """Erase a member's personal data, keeping the anonymous figures: their sales, points,
    coupons and visits stay (the statistics stay right), their chat accounts go (the next
    message starts a new registration), pending pushes are dropped, and upcoming bookings
    and places at events are cancelled so the places go to others."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        row = await lock_member(s, member_id)
        if row.name == DELETED_NAME and row.phone is None:
            return  # erased already: "deleted" is no one's name to look for
        accounts = list(
            await s.execute(
                select(IdentityRow.id, IdentityRow.external_id).where(
                    IdentityRow.member_id == member_id
                )
            )
        )
        named = await erase_member(s, row)
        words = [
            *await feedback.erase_member(s, member_id),
            *await handoff.erase_member(s, member_id),
            *await bookings.erase_member(s, member_id, now),
            *await adjustments.erase_member(s, member_id),
        ]
        await shop_events.erase_member(s, member_id, now)
        await referrals.erase_member(s, member_id)
        await outbox.erase_member(s, member_id)
        await webhooks.erase_member(s, member_id)
        await alerts.erase_member(s, member_id)
        await audit.erase_member(s, member_id)
        await _forget(
            s, [a.id for a in accounts], [*named, *(a.external_id for a in accounts), *words]
        )
        audit.record(s, now, actor, "member.deleted", member_id)
        await webhooks.emit(s, now, webhooks.MEMBER_DELETED, member_id=member_id)


async def forget_account(ctx: Context, channel: str, external_id: str) -> None:
    """Forget a chat account that is no member's (someone who declined to register):
    nothing about them is kept, as the reply promises them (a current staff member's
    account stays, ``conversations.forget_accounts``)."""
    async with ctx.db.transaction() as s:
        account = await s.scalar(
            select(IdentityRow.id).where(
                IdentityRow.channel == channel,
                IdentityRow.external_id == external_id,
                IdentityRow.member_id.is_(None),
            )
        )
        if account is not None:
            await _forget(s, [account], [external_id])


async def remove_staff(ctx: Context, by: StaffView, staff_id: int) -> None:
    """Owners remove staff (``staff.check_removal``): the staff row stays, with the name
    that sales and the audit log show, and their chat account is forgotten like a member's
    who deletes their data, unless it is also a member's."""
    await staff.check_removal(ctx, by, staff_id)
    async with ctx.db.transaction() as s:
        account = await staff.mark_removed(s, by, staff_id, ctx.now())
        found = (
            await s.execute(
                select(IdentityRow.id, IdentityRow.external_id).where(
                    IdentityRow.id == account, IdentityRow.member_id.is_(None)
                )
            )
        ).first()
        if found is not None:
            await _forget(s, [found.id], [found.external_id])


async def _forget(s: Session, accounts: list[int], needles: list[str]) -> None:
    """The person's chat accounts, and what other people's rows say of them."""
    await conversations.forget_accounts(s, accounts)
    await conversations.forget_mentioning(s, needles)
    await inbound_deliveries.forget_replies(s, needles)
    await buttons.forget(s, needles)
    await outbox.forget_mentioning(s, needles)
