"""Replies that could not go out with their answer go as pushes to the same chat account.

Telegram's flood control can ask for more waiting than a member should sit through, and
WeChat can refuse a customer-service follow-up for now (system busy, rate limited): the
rest of the answer is then queued in the outbox (kind ``reply``), addressed to the chat
account that wrote, as a service message. The dispatcher sends it when it may, retries it
like any push, and ``memberbot outbox`` shows it with the reason it waited.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.context import Context
from core.pushes.outbox import PENDING, REPLY
from storage.models import IdentityRow, OutboxRow


async def send_later(
    ctx: Context,
    channel: str,
    external_id: str,
    replies: list[dict[str, Any]],
    *,
    at: datetime,
    reason: str,
) -> bool:
    """Queue ``replies`` (as ``bot.pushes.texts.reply_params`` writes them) for this chat account
    from ``at``; False if the account is unknown (nothing to address them to)."""
    async with ctx.db.transaction() as s:
        found = (
            await s.execute(
                select(IdentityRow.id, IdentityRow.member_id).where(
                    IdentityRow.channel == channel, IdentityRow.external_id == external_id
                )
            )
        ).first()
        if found is None:
            return False
        s.add(
            OutboxRow(
                member_id=found.member_id,  # erased with the member, like their other pushes
                identity_id=found.id,
                kind=REPLY,
                params={"replies": replies},
                dedup_key=f"{REPLY}:{found.id}:{secrets.token_hex(8)}",
                status=PENDING,
                attempts=0,
                next_attempt_at=at,
                last_error=reason[:500],
                created_at=ctx.now(),
            )
        )
    return True
