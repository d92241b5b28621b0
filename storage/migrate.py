"""Bring the schema to the newest migration, or tell whether it is there."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from storage.db import Database

_INI = Path(__file__).with_name("alembic.ini")


class UnknownSchema(Exception):
    """The database is at a migration this memberbot does not have: a newer one wrote it."""


def _config(connection: Connection | None = None) -> Config:
    config = Config(str(_INI))
    config.attributes["connection"] = connection
    return config


async def upgrade(database: Database) -> None:
    """Run every pending migration (idempotent)."""

    def _upgrade(connection: Connection) -> None:
        try:
            command.upgrade(_config(connection), "head")
        except CommandError as exc:  # "Can't locate revision identified by …"
            raise UnknownSchema(str(exc)) from None

    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def is_current(database: Database) -> bool:
    """True when the database schema is at the newest migration."""

    def _check(connection: Connection) -> bool:
        head = ScriptDirectory.from_config(_config()).get_current_head()
        return MigrationContext.configure(connection).get_current_revision() == head

    async with database.engine.connect() as connection:
        return await connection.run_sync(_check)
