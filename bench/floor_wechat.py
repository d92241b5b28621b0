"""The WeChat floor: the baseline echo plus the statements memberbot runs for "积分", and
nothing else — no dialog, no translations, no SQLAlchemy at run time.

The statements are memberbot's own (claim, sender, points summary, expiring lots, ledger,
arrival, choices, outcome), run as memberbot runs them on SQLite (``storage.prepared``:
compiled once by SQLAlchemy, executed straight on ``sqlite3``) in its three transactions.
memberbot can come near this server but not pass it: the floor's throughput as a share of
the echo's bounds the ratio the benchmark's target asks for.

    python -m bench.floor_wechat PORT DATABASE_FILE
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.dialects import sqlite
from wechatpy.messages import BaseMessage

from bench.baseline_wechat import app
from core.ledger.statement import _EXPIRING, _LEDGER, _SUMMARY
from core.people import conversations
from storage import inbound_deliveries
from storage.db import _insert_ignore, _upsert
from storage.models import ChoicesRow, DeliveryRow
from storage.prepared import prepared

DIALECT = sqlite.dialect()
CLAIM = _insert_ignore("sqlite", DeliveryRow.__table__, ("channel", "key"))
CHOICES = _upsert(
    "sqlite", ChoicesRow.__table__, ("identity_id",), ("choices", "identity_id", "updated_at")
)


def _run(db: sqlite3.Connection, statement: Any, params: dict[str, Any]) -> list[Any]:
    """The statement as memberbot runs it on SQLite (``storage.prepared``), with none of
    the sessions and transactions around it."""
    fast = prepared(statement, DIALECT, params)
    assert fast is not None, "the floor's statements all run straight on sqlite3"
    return fast.run(db, params).all()


def answer(db: sqlite3.Connection, source: str, key: str) -> str:
    now = datetime.now(UTC)
    db.execute("BEGIN IMMEDIATE")
    _run(db, CLAIM, {"channel": "wechat", "key": key, "status": "processing", "created_at": now})
    db.execute("COMMIT")
    db.execute("BEGIN")
    sender = _run(db, conversations._SENDER, {"channel": "wechat", "external_id": source})[0]
    params = {
        "member_id": sender.account_member_id,
        "now": now,
        "since": now - timedelta(days=365),
        "until": now + timedelta(days=30),
        "limit": 10,
    }
    tier, balance, _spend = _run(db, _SUMMARY, params)[0]
    _run(db, _EXPIRING, params)
    latest = _run(db, _LEDGER, params)
    db.execute("COMMIT")
    text = f"{tier} {balance}\n" + "\n".join(f"{e.points:+d} {e.created_at}" for e in latest)
    db.execute("BEGIN IMMEDIATE")
    _run(db, conversations._RECORD[False], {"p_identity": sender.account_id, "p_now": now})
    choices = {"identity_id": sender.account_id, "choices": [["1", "why"]], "updated_at": now}
    _run(db, CHOICES, choices)
    outcome = {"p_channel": "wechat", "p_key": key, "p_status": "answered", "p_reply": text}
    _run(db, inbound_deliveries._SETTLE, outcome)
    db.execute("COMMIT")
    return text


def content(database: str) -> Callable[[BaseMessage], str]:
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return lambda message: answer(db, message.source, str(message.id))


if __name__ == "__main__":
    web.run_app(
        app(content(sys.argv[2])),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
    )
