"""``storage.prepared``: the statements every message runs, straight on sqlite3, give the
rows SQLAlchemy gives, count the rows they write, fail with SQLAlchemy's errors, and leave
to SQLAlchemy what they cannot run as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from core import loyalty
from core.context import Context
from core.ledger.statement import _EXPIRING, _LEDGER, _LEDGER_ENTRY, _SUMMARY
from core.people import conversations
from core.people.registration import register_member
from core.pushes import work_queue
from storage import inbound_deliveries, service_messages
from storage.db import insert_ignore, run, upsert
from storage.models import AuditRow, ChoicesRow, DeliveryRow, IdentityRow, MemberRow
from storage.prepared import prepared
from tests.storage.test_db import sqlite_only


async def member_who_bought(ctx: Context) -> tuple[int, int]:
    """A member on WeChat with a sale (a ledger lot with its detail and expiry), choices
    shown and a conversation open: every kind of column the senders' statements read."""
    member = await register_member(
        ctx,
        name="李雷",
        phone="13900139000",
        tags=["vip"],
        channel="wechat",
        external_id="o-1",
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R1", member_id=member.id, amount_fen=23_800
    )
    first = await conversations.arrival(ctx, "wechat", "o-1")
    await conversations.save_conversation(ctx, first.identity.id, "points", "why", {"n": 1})
    await conversations.answered(
        ctx,
        "wechat",
        "o-1",
        delivery="m-1",
        status=inbound_deliveries.ANSWERED,
        reply="<xml/>",
        choices=[("1", "points:why:1")],
        identity_id=first.identity.id,
    )
    return member.id, first.identity.id


async def test_the_statements_of_a_message_give_the_rows_sqlalchemy_gives(ctx: Context) -> None:
    sqlite_only(ctx.db)
    member_id, identity_id = await member_who_bought(ctx)
    now = ctx.now()
    params: dict[str, Any] = {
        "channel": "wechat",
        "external_id": "o-1",
        "member_id": member_id,
        "now": now,
        "since": now - timedelta(days=365),
        "until": now + timedelta(days=400),
        "limit": 10,
        "entry_id": 1,
        "p_openid": "o-1",
        "p_identity": identity_id,
        "identity_id": identity_id,
    }
    statements = [
        conversations._SENDER,
        _SUMMARY,
        _EXPIRING,
        _LEDGER,
        _LEDGER_ENTRY,
        service_messages._SENT_SINCE,
    ]
    rows: dict[Any, list[Any]] = {}
    async with ctx.db.read() as s:
        connection = s.get_bind()
        for statement in statements:
            fast = prepared(statement, connection.dialect, params)
            assert fast is not None, statement
            ours = fast.run(connection.connection.driver_connection, params).all()
            theirs = connection.execute(statement, params).all()
            assert [tuple(r) for r in ours] == [tuple(r) for r in theirs], statement
            assert [r._fields for r in ours] == [r._fields for r in theirs], statement
            rows[statement] = ours
    (row,) = rows[conversations._SENDER]
    (lot,) = rows[_LEDGER]
    # What SQLite stores as text came back converted, as SQLAlchemy's types convert it.
    assert row.registered_at.tzinfo is not None and row.choices == [["1", "points:why:1"]]
    assert row.data == {"n": 1} and row.reachable is True and row.tag == "vip"
    assert lot.expires_at > datetime.now(UTC) - timedelta(days=1) and isinstance(lot.detail, dict)


async def test_writes_count_their_rows_and_are_kept(ctx: Context) -> None:
    sqlite_only(ctx.db)
    values = {"channel": "wechat", "key": "m-9", "status": "processing", "created_at": ctx.now()}
    async with ctx.db.transaction() as s:
        assert await insert_ignore(s, DeliveryRow.__table__, values, ["channel", "key"])
        assert not await insert_ignore(s, DeliveryRow.__table__, values, ["channel", "key"])
        settled = await run(
            s,
            inbound_deliveries._SETTLE,
            {"p_channel": "wechat", "p_key": "m-9", "p_status": "answered", "p_reply": "hi"},
        )
        assert settled.rowcount == 1
    found = await inbound_deliveries.claim(ctx.db, "wechat", "m-9", ctx.now())
    assert found == inbound_deliveries.Delivery(inbound_deliveries.ANSWERED, "hi")


async def test_errors_are_sqlalchemys_and_the_transaction_is_undone(ctx: Context) -> None:
    sqlite_only(ctx.db)
    values = {"channel": "wechat", "key": "m-7", "status": "processing", "created_at": ctx.now()}
    with pytest.raises(IntegrityError):
        async with ctx.db.transaction() as s:
            await insert_ignore(s, DeliveryRow.__table__, values, ["channel", "key"])
            choices = {"identity_id": 999, "choices": [], "updated_at": ctx.now()}
            await upsert(s, ChoicesRow.__table__, choices, ["identity_id"])  # no such account
    assert await inbound_deliveries.claim(ctx.db, "wechat", "m-7", ctx.now()) is None  # undone


async def test_what_sqlite3_cannot_run_as_it_is_goes_through_sqlalchemy(ctx: Context) -> None:
    sqlite_only(ctx.db)
    await register_member(ctx, name="韩梅梅", phone="13900139001")
    listed = select(MemberRow.name).where(MemberRow.id.in_(bindparam("ids", expanding=True)))
    async with ctx.db.read() as s:
        assert prepared(listed, s.get_bind().dialect, {"ids": [1]}) is None
        assert prepared(work_queue._TAKEN, s.get_bind().dialect, {"ids": [1]}) is None
        assert list((await run(s, listed, {"ids": [1, 2]})).scalars()) == ["韩梅梅"]


async def test_a_column_left_to_its_default_in_python_gets_it(ctx: Context) -> None:
    sqlite_only(ctx.db)
    values = {"at": ctx.now(), "actor": "system", "action": "test"}
    statement = insert(AuditRow.__table__)  # ``details`` defaults to dict(), made in Python
    async with ctx.db.transaction() as s:
        assert prepared(statement, s.get_bind().dialect, values) is None
        await run(s, statement, values)
        details = await s.scalar(select(AuditRow.details).where(AuditRow.action == "test"))
    assert details == {}


async def test_a_column_left_to_a_constant_default_gets_it_prepared(ctx: Context) -> None:
    sqlite_only(ctx.db)
    values = {"channel": "wechat", "external_id": "o-5", "created_at": ctx.now()}
    statement = insert(IdentityRow.__table__)  # ``reachable`` defaults to True
    async with ctx.db.transaction() as s:
        assert prepared(statement, s.get_bind().dialect, values) is not None
        await run(s, statement, values)
        reachable = await s.scalar(
            select(IdentityRow.reachable).where(IdentityRow.external_id == "o-5")
        )
    assert reachable is True


async def test_a_missing_value_is_refused_as_sqlalchemy_refuses_it(ctx: Context) -> None:
    sqlite_only(ctx.db)
    async with ctx.db.read() as s:
        with pytest.raises(InvalidRequestError, match="member_id"):
            await run(s, _LEDGER, {"limit": 10})
