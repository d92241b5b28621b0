"""Button payloads kept under a short key, for channels whose buttons carry little data."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select

from storage.db import Database, Session, insert_ignore
from storage.erasure import mentioning
from storage.models import ButtonRow


def key_for(payload: str) -> str:
    """The same payload always gets the same key, so keeping it twice stores one row."""
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


async def keep(db: Database, payload: str, now: datetime) -> str:
    key = key_for(payload)
    async with db.transaction() as s:
        values = {"key": key, "payload": payload, "created_at": now}
        await insert_ignore(s, ButtonRow.__table__, values, conflict=["key"])
    return key


async def find(db: Database, key: str) -> str | None:
    async with db.read() as s:
        return await s.scalar(select(ButtonRow.payload).where(ButtonRow.key == key))


async def forget(session: Session, needles: list[str]) -> None:
    """Erasing a person (``core.erasure``): payloads that mention them are dropped; their
    buttons then answer that they are no longer valid."""
    await session.execute(delete(ButtonRow).where(mentioning(ButtonRow.payload, needles)))
