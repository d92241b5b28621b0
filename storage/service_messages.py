"""WeChat customer-service messages sent, for the quota of the window they were sent in.

WeChat takes a few customer-service messages per reply window (``core.pushes.routes``), and
counts every one: a push's, a conversation's (a reply's parts after the first, a reply after
the deadline), the operator's test message. So ``bot.handlers.wechat_api`` records each one
it sends, and the dispatcher counts them here before it sends another.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select

from storage.db import Database, run
from storage.models import IdentityRow, ServiceMessageRow
from storage.session import Session

log = logging.getLogger(__name__)

_RECORD = insert(ServiceMessageRow.__table__).from_select(
    ["identity_id", "sent_at"],
    select(IdentityRow.id, bindparam("p_at", type_=ServiceMessageRow.sent_at.type)).where(
        IdentityRow.channel == "wechat", IdentityRow.external_id == bindparam("p_openid")
    ),
)
_SENT_SINCE = (
    select(func.count())
    .select_from(ServiceMessageRow)
    .where(
        ServiceMessageRow.identity_id == bindparam("identity_id"),
        ServiceMessageRow.sent_at >= bindparam("since"),
    )
)


async def record(db: Database, openid: str, at: datetime) -> None:
    """One message just sent to this account. It is out whatever happens here: a failure
    to record it is logged, not raised, so that nothing sends it again."""
    try:
        async with db.transaction() as s:
            await run(s, _RECORD, {"p_openid": openid, "p_at": at})
    except Exception:
        log.exception("wechat: a customer-service message was sent but not counted")


async def sent_since(s: Session, identity_id: int, since: datetime | None) -> int:
    """How many went to this account since ``since`` (the window's start), in ``s``."""
    if since is None:
        return 0
    params = {"identity_id": identity_id, "since": since}
    return int((await run(s, _SENT_SINCE, params)).scalar() or 0)


async def prune(db: Database, before: datetime) -> int:
    """Forget those sent before ``before``, whose windows have closed (run daily)."""
    async with db.transaction() as s:
        result = await run(s, delete(ServiceMessageRow).where(ServiceMessageRow.sent_at < before))
        return result.rowcount or 0


async def forget(session: Session, identity_ids: list[int]) -> None:
    """Erasing chat accounts (``core.people.erasure``): what was sent to them no longer counts."""
    await session.execute(
        delete(ServiceMessageRow).where(ServiceMessageRow.identity_id.in_(identity_ids))
    )
