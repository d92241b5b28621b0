"""The WeChat floor: the baseline echo plus the statements memberbot runs for "积分", and
nothing else — no dialog, no translations, no SQLAlchemy at run time.

The statements are memberbot's own (claim, sender, points summary, expiring lots, ledger,
arrival, choices, outcome), compiled once by SQLAlchemy for SQLite and run straight on
``sqlite3`` in memberbot's three transactions. A full stack can come near this server but not
pass it: its throughput as a share of the echo's is the most any implementation doing this
work on aiohttp and SQLite can reach.

    python -m bench.floor_wechat PORT DATABASE_FILE
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.dialects import sqlite
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bench.wechat_load import AES_KEY, APP_ID, TOKEN
from core import conversations, loyalty
from storage import deliveries
from storage.db import _insert_ignore, _upsert
from storage.models import ChoicesRow, DeliveryRow

crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)


class Compiled:
    """A statement's SQL and its parameters' order, for sqlite3."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=sqlite.dialect())
        self.sql, self.names, self.defaults = str(compiled), compiled.positiontup, compiled.params

    def run(self, db: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        values = {**self.defaults, **params}
        return db.execute(self.sql, [values[name] for name in self.names]).fetchall()


CLAIM = Compiled(_insert_ignore("sqlite", DeliveryRow.__table__, ("channel", "key")))
SENDER = Compiled(conversations._SENDER)
SUMMARY, EXPIRING, LEDGER = (
    Compiled(s) for s in (loyalty._SUMMARY, loyalty._EXPIRING, loyalty._LEDGER)
)
RECORD = Compiled(conversations._RECORD[False])
CHOICES = Compiled(
    _upsert(
        "sqlite", ChoicesRow.__table__, ("identity_id",), ("choices", "identity_id", "updated_at")
    )
)
SETTLE = Compiled(deliveries._SETTLE)


def _text(at: datetime) -> str:
    return at.replace(tzinfo=None).isoformat(" ")


def answer(db: sqlite3.Connection, source: str, key: str) -> str:
    now = datetime.now(UTC)
    db.execute("BEGIN IMMEDIATE")
    CLAIM.run(
        db, {"channel": "wechat", "key": key, "status": "processing", "created_at": _text(now)}
    )
    db.execute("COMMIT")
    db.execute("BEGIN")
    account, member = SENDER.run(db, {"channel": "wechat", "external_id": source})[0][:2]
    params = {
        "member_id": member,
        "now": _text(now),
        "since": _text(now - timedelta(days=365)),
        "until": _text(now + timedelta(days=30)),
        "limit": 10,
    }
    tier, balance, _spend = SUMMARY.run(db, params)[0]
    EXPIRING.run(db, params)
    latest = LEDGER.run(db, params)
    db.execute("COMMIT")
    text = f"{tier} {balance}\n" + "\n".join(f"{row[2]:+d} {row[3]}" for row in latest)
    db.execute("BEGIN IMMEDIATE")
    RECORD.run(db, {"p_identity": account, "p_now": _text(now)})
    choices = json.dumps([["1", "points"], ["2", "coupons"]])
    CHOICES.run(db, {"identity_id": account, "choices": choices, "updated_at": _text(now)})
    SETTLE.run(db, {"p_channel": "wechat", "p_key": key, "p_status": "answered", "p_reply": text})
    db.execute("COMMIT")
    return text


def app(database: str) -> web.Application:
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")

    async def receive(request: web.Request) -> web.Response:
        q = request.query
        check_signature(TOKEN, q["signature"], q["timestamp"], q["nonce"])
        body = await request.read()
        safe = q.get("encrypt_type") == "aes"
        if safe:
            body = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        message = parse_message(body)
        text = answer(db, message.source, str(message.id))
        xml = TextReply(message=message, content=text).render()
        if safe:
            xml = crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
        return web.Response(text=xml, content_type="text/xml")

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    served = web.Application()
    served.router.add_post("/wechat", receive)
    served.router.add_get("/health", health)
    return served


if __name__ == "__main__":
    web.run_app(
        app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None
    )
