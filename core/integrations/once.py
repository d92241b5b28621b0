"""Requests done once: a till retries a sale when an answer is lost (a timeout, a worker
restarted), maybe on another worker at the same moment. The first answer is kept in the
same transaction as the change it reports; a retry gets it again and changes nothing.

A scope names what must happen once (the caller's Idempotency-Key, a sale's store and
receipt); the fingerprint of the request tells a retry from another request that reuses the
scope, which is refused with the scope's own error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Insert, Select, bindparam, insert, select

from core.errors import DomainError
from storage.db import run
from storage.models import ApiAnswerRow
from storage.session import Session

KEY_MAX = 255  # characters of an Idempotency-Key (Stripe's limit)


def fingerprint(*parts: Any) -> str:
    """The SHA-256 of the request's parts as canonical JSON."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_scope(key_id: int, idempotency_key: str) -> str:
    """An Idempotency-Key belongs to the API key that sent it, as at Stripe."""
    return f"key:{key_id}:{idempotency_key}"


def receipt_scope(store: str, receipt_no: str) -> str:
    return f"receipt:{store}:{receipt_no}"


@dataclass(frozen=True)
class Scope:
    name: str
    conflict: DomainError  # raised when the scope is reused by another request


@cache
def _answers(scopes: int) -> Select[tuple[str, str, dict[str, Any]]]:
    """The answers kept under ``scopes`` scopes (one or two: a sale's receipt and its key),
    built once per count with a parameter each, so SQLite runs it prebuilt (storage.db.run)."""
    names: list[BindParameter[str]] = [bindparam(f"scope{n}") for n in range(scopes)]
    return select(ApiAnswerRow.scope, ApiAnswerRow.fingerprint, ApiAnswerRow.answer).where(
        ApiAnswerRow.scope.in_(names)
    )


# Kept with every till's sale: built once, run prebuilt (storage.db.run).
_KEEP: Insert = insert(ApiAnswerRow.__table__)


@dataclass(frozen=True)
class Once:
    """A request's scopes and fingerprint, given to a use case that keeps its answer."""

    fingerprint: str
    scopes: tuple[Scope, ...]

    async def replay(self, s: Session) -> dict[str, Any] | None:
        """The answer kept for the first scope that has one (None: never done); another
        request under the scope raises its conflict."""
        names = {f"scope{n}": scope.name for n, scope in enumerate(self.scopes)}
        kept = await run(s, _answers(len(names)), names)
        rows = {scope: (fingerprint, answer) for scope, fingerprint, answer in kept}
        for scope in self.scopes:
            if scope.name in rows:
                fingerprint, answer = rows[scope.name]
                if fingerprint != self.fingerprint:
                    raise scope.conflict
                return dict(answer)
        return None

    async def remember(self, s: Session, answer: dict[str, Any], now: datetime) -> None:
        """Keep ``answer`` under every scope; a concurrent first answer makes the insert fail
        (unique scope, IntegrityError), and the use case's retry then replays that one."""
        for scope in self.scopes:
            values = {"fingerprint": self.fingerprint, "answer": answer, "created_at": now}
            await run(s, _KEEP, values | {"scope": scope.name})
