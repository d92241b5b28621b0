"""Alembic environment: runs on the connection memberbot hands over (``storage.migrate``),
or, for ``alembic`` on the command line, on MEMBERBOT_DATABASE_URL."""

import asyncio
from typing import Literal

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base, UTCDateTime


def _render_item(type_: str, obj: object, _context: object) -> str | Literal[False]:
    # Migrations must not import model code that may change later: write the plain type.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from bot.settings import Settings
    from storage.db import Database

    database = Database(Settings().database_url)
    async with database.engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await database.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
