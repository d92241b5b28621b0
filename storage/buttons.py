"""Button payloads kept under a short key, for channels whose buttons carry little data:
Telegram's 64 bytes of callback data, and WeChat's links, which carry only a number."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select

from storage.db import Database, insert_ignore, insert_ignore_all
from storage.erasure import mentioning
from storage.models import ButtonRow
from storage.session import Session

LINK_BITS = 52  # a link key fits an int64 and a JavaScript number alike


def key_for(payload: str) -> str:
    """The same payload always gets the same key, so keeping it twice stores one row."""
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def link_key(scope: str, payload: str) -> str:
    """The number of a WeChat link: the same for the same payload shown to the same chat
    account (``scope``), so each link means its own choice whichever message shows it, and
    not one another account was shown. Digits only, never a ``key_for`` key (24 hex)."""
    digest = hashlib.sha256(f"{scope}\n{payload}".encode()).digest()
    return str(int.from_bytes(digest, "big") >> (256 - LINK_BITS))


async def keep(db: Database, payload: str, now: datetime) -> str:
    key = key_for(payload)
    async with db.transaction() as s:
        values = {"key": key, "payload": payload, "created_at": now}
        await insert_ignore(s, ButtonRow.__table__, values, conflict=["key"])
    return key


async def keep_links(s: Session, scope: str, payloads: list[str], now: datetime) -> None:
    """Keep the payloads of links shown to ``scope``, in the caller's transaction (the one
    that stores the reply showing them, so a link is found as soon as it can be tapped).
    In the order of their keys, so two transactions never wait on each other's rows."""
    keys = {link_key(scope, payload): payload for payload in payloads}
    rows = [{"key": key, "payload": keys[key], "created_at": now} for key in sorted(keys)]
    await insert_ignore_all(s, ButtonRow.__table__, rows, conflict=["key"])


async def find(db: Database, key: str) -> str | None:
    async with db.read() as s:
        return await s.scalar(select(ButtonRow.payload).where(ButtonRow.key == key))


async def find_link(db: Database, scope: str, key: str) -> str | None:
    """The payload of a link shown to ``scope``; None for a number never shown to it (a
    forged link, one from before links had keys, or another account's)."""
    payload = await find(db, key)
    return payload if payload is not None and link_key(scope, payload) == key else None


async def forget(session: Session, needles: list[str]) -> None:
    """Erasing a person (``core.people.erasure``): payloads that mention them are dropped; their
    buttons then answer that they are no longer valid."""
    await session.execute(delete(ButtonRow).where(mentioning(ButtonRow.payload, needles)))
