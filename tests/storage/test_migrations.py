"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from storage import migrate
from storage.db import Database
from storage.models import Base, IdentityRow, OutboxRow, ServiceMessageRow


async def test_models_and_migrations_agree(db: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    assert await migrate.is_current(db)
    await migrate.upgrade(db)  # running it again is harmless
    assert await migrate.is_current(db)


async def test_pushes_sent_as_service_messages_still_count_after_the_upgrade(
    db: Database,
) -> None:
    """0010 moved the count of WeChat's customer-service messages into its own table; the
    pushes already sent that way are copied there, or a window would count them no more."""
    sent = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def to(revision: str) -> Callable[[Connection], None]:
        def step(connection: Connection) -> None:
            config = migrate._config(connection)
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)

        return step

    async with db.engine.begin() as connection:
        await connection.run_sync(to("0009"))
        await connection.execute(
            insert(IdentityRow.__table__),
            {"id": 1, "channel": "wechat", "external_id": "o-1", "created_at": sent},
        )
        common = {"kind": "receipt", "params": {}, "next_attempt_at": sent, "created_at": sent}
        await connection.execute(
            insert(OutboxRow.__table__),
            [
                {
                    **common,
                    "dedup_key": "a",
                    "status": "sent",
                    "via": "wechat_cs",
                    "identity_id": 1,
                    "sent_at": sent,
                },
                {
                    **common,
                    "dedup_key": "b",
                    "status": "sent",
                    "via": "wechat_template",
                    "identity_id": 1,
                    "sent_at": sent,
                },
                {
                    **common,
                    "dedup_key": "c",
                    "status": "pending",
                    "via": None,
                    "identity_id": None,
                    "sent_at": None,
                },
            ],
        )
        await connection.run_sync(to("head"))
    async with db.read() as s:
        rows = (
            await s.execute(select(ServiceMessageRow.identity_id, ServiceMessageRow.sent_at))
        ).all()
    assert rows == [(1, sent)]
