"""API keys: a till's credential for the HTTP API. The key is shown once when created and
kept only as its SHA-256 (it is 256 random bits, so a plain hash is enough: nothing to
guess from it); its prefix names it in lists. A key acts for one store, or for every store
when created without one, and only within its scopes."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.errors import (
    ApiKeyInvalid,
    ApiKeyNameTaken,
    InvalidInput,
    OtherStore,
    ScopeMissing,
    UnknownApiKey,
)
from core.people.members import store_id
from storage.db import run
from storage.models import ApiKeyRow, StoreRow

SCOPES = ("members:read", "members:write", "sales:write", "coupons:read", "coupons:write")
KEY_START = "mbk_"  # tells a memberbot key apart in a till's settings or a leaked log
PREFIX_LENGTH = len(KEY_START) + 8
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class ApiKeyView:
    id: int
    name: str
    prefix: str
    store: str | None  # None: every store
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ScopeMissing(scope=scope)

    def act_for(self, store: str) -> None:
        """Refuse another store's data to a store's key."""
        if self.store is not None and store != self.store:
            raise OtherStore(store=store)

    @property
    def actor(self) -> str:
        return audit.api_actor(self.name)


def _view(row: ApiKeyRow, store: str | None) -> ApiKeyView:
    return ApiKeyView(
        row.id,
        row.name,
        row.prefix,
        store,
        tuple(row.scopes),
        row.created_at,
        row.revoked_at,
    )


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    ctx: Context, *, name: str, store: str | None, scopes: Sequence[str] = SCOPES
) -> tuple[ApiKeyView, str]:
    """A new key and its secret, which is shown this once and never stored."""
    if not NAME.match(name):
        raise InvalidInput(field="name", value=name)
    for scope in scopes:
        if scope not in SCOPES:
            raise InvalidInput(field="scope", value=scope)
    prefix = KEY_START + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    now = ctx.now()
    try:
        async with ctx.db.transaction() as s:
            if await s.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)):
                raise ApiKeyNameTaken(name=name)
            row = ApiKeyRow(
                name=name,
                prefix=prefix,
                secret_hash=_hash(key),
                store_id=await store_id(s, store) if store else None,
                scopes=sorted(set(scopes), key=SCOPES.index),
                created_at=now,
            )
            s.add(row)
            await s.flush()
            audit.record(s, now, audit.SYSTEM, "api_key.created", name=name, prefix=prefix)
            return _view(row, store), key
    except IntegrityError:  # the same name at the same moment
        raise ApiKeyNameTaken(name=name) from None


_WITH_STORE = select(ApiKeyRow, StoreRow.code).outerjoin(
    StoreRow, StoreRow.id == ApiKeyRow.store_id
)


async def list_keys(ctx: Context) -> list[ApiKeyView]:
    """Every key, revoked ones too, oldest first."""
    async with ctx.db.read() as s:
        rows = await s.execute(_WITH_STORE.order_by(ApiKeyRow.id))
        return [_view(row, code) for row, code in rows]


async def revoke_key(ctx: Context, name_or_prefix: str) -> ApiKeyView:
    """Revoke a key by its name or prefix; its next call is refused (401)."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        found = (
            await s.execute(
                _WITH_STORE.where(
                    or_(ApiKeyRow.name == name_or_prefix, ApiKeyRow.prefix == name_or_prefix)
                )
            )
        ).first()
        if found is None:
            raise UnknownApiKey(key=name_or_prefix)
        row, code = found
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(s, now, audit.SYSTEM, "api_key.revoked", name=row.name)
        return _view(row, code)


# Every API call looks its key up: built once, run as prebuilt on SQLite (storage.db.run),
# the columns of the view rather than an ORM object. Never cached: a revoked key is refused
# by its very next call, in every worker.
_BY_HASH = (
    select(
        ApiKeyRow.id,
        ApiKeyRow.name,
        ApiKeyRow.prefix,
        StoreRow.code,
        ApiKeyRow.scopes,
        ApiKeyRow.created_at,
        ApiKeyRow.revoked_at,
    )
    .outerjoin(StoreRow, StoreRow.id == ApiKeyRow.store_id)
    .where(ApiKeyRow.secret_hash == bindparam("secret_hash"))
)


async def authenticate(ctx: Context, key: str) -> ApiKeyView:
    """The live key whose secret this is; ApiKeyInvalid otherwise."""
    async with ctx.db.read() as s:
        found = (await run(s, _BY_HASH, {"secret_hash": _hash(key)})).first()
    if found is None or found.revoked_at is not None:
        raise ApiKeyInvalid()
    key_id, name, prefix, code, scopes, created_at, revoked_at = found
    return ApiKeyView(key_id, name, prefix, code, tuple(scopes), created_at, revoked_at)
