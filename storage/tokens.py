"""Platform access tokens kept in the database, so every process shares the one it fetched.

WeChat hands out one valid access_token per account at a time (a new one retires the old
within minutes): processes that each fetched their own would keep invalidating each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.db import Database, dialect_of
from storage.models import ApiTokenRow


async def load_token(db: Database, name: str) -> tuple[str, datetime] | None:
    """The stored token and when it expires (aware UTC), or None if none was saved yet."""
    async with db.read() as s:
        row = (
            await s.execute(
                select(ApiTokenRow.token, ApiTokenRow.expires_at).where(ApiTokenRow.name == name)
            )
        ).first()
    return (row.token, row.expires_at) if row else None


async def save_token(db: Database, name: str, token: str, expires_at: datetime) -> None:
    """Store the token under ``name``, replacing whatever was there (one statement, so two
    processes saving at once cannot both insert)."""
    async with db.transaction() as s:
        stmt = (
            dialect_of(s).insert(ApiTokenRow).values(name=name, token=token, expires_at=expires_at)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[ApiTokenRow.name],
            set_={"token": stmt.excluded.token, "expires_at": stmt.excluded.expires_at},
        )
        await s.execute(stmt)
