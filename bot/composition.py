"""The one place a memberbot process is put together from its settings — for ``serve``,
``scheduler``, ``chat``, the other commands and the tests alike: the core context over the
database and the shop file, the dialogs, and the chat channels the settings configure with
the push senders they offer.

Telegram's module is imported only for a shop that configures a bot token: aiogram alone
takes ~130 MB and ~4 s to import, which a shop without Telegram need not pay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.registry import create_dialogs
from bot.handlers import console, wechat
from bot.handlers.wechat_messages import CHANNEL as WECHAT
from bot.pushes.dispatcher import PushChannel
from bot.pushes.wechat import WeChatPushes
from bot.settings import Settings
from core.catalog import sync_shop
from core.clock import Clock, SystemClock
from core.context import Context
from core.shop import Shop
from core.shop_file import load_shop
from storage import migrate
from storage.db import Database

if TYPE_CHECKING:
    from bot.handlers.telegram import TelegramChannel


class SchemaOutdated(Exception):
    """The database needs ``memberbot db upgrade`` first."""


async def open_context(
    settings: Settings, *, clock: Clock | None = None, upgrade: bool | None = None
) -> Context:
    """The core context of the settings' database and shop file. The shop file is validated
    before anything touches the database. ``upgrade`` migrates the schema first; by default
    only the embedded SQLite database is migrated automatically — a shared PostgreSQL server
    is upgraded on purpose with ``memberbot db upgrade``."""
    shop = load_shop(settings.shop_file)
    database = Database(settings.database_url)
    try:
        if upgrade if upgrade is not None else database.is_sqlite:
            await migrate.upgrade(database)
        elif not await migrate.is_current(database):
            raise SchemaOutdated()
        return await shop_context(database, shop, clock or SystemClock(), settings.zone)
    except BaseException:
        await database.dispose()
        raise


async def shop_context(db: Database, shop: Shop, clock: Clock, zone: ZoneInfo) -> Context:
    """The core context over a migrated database, with the shop file's stores, rewards and
    products synced into it (which refuses a shop file the database cannot follow)."""
    ctx = Context(db=db, shop=shop, clock=clock, zone=zone)
    await sync_shop(ctx)
    return ctx


@dataclass
class Process:
    """What a process runs on. ``wechat`` and ``telegram`` are the channels the settings
    configure (the web app mounts their endpoints); ``pushes`` are the senders the push
    dispatcher sends through, by channel name."""

    ctx: Context
    dialogs: Dialogs
    settings: Settings | None = None
    wechat: wechat.WeChatEndpoint | None = None
    telegram: TelegramChannel | None = None
    pushes: dict[str, PushChannel] = field(default_factory=dict)

    async def close(self) -> None:
        """Let the channels' replies under way finish and close their HTTP sessions (the
        database is the context's, disposed by whoever opened it)."""
        if self.wechat is not None:
            await self.wechat.close()
            if self.wechat.api is not None:
                await self.wechat.api.close()
        if self.telegram is not None:
            await self.telegram.close()


def compose(
    ctx: Context, settings: Settings | None = None, *, console_pushes: bool = False
) -> Process:
    """The process over ``ctx``: with ``settings``, each chat channel whose token they
    give; with ``console_pushes``, pushes to console accounts printed on the terminal."""
    process = Process(ctx, create_dialogs(ctx), settings)
    if settings is not None and settings.wechat_token.get_secret_value():
        process.wechat = wechat.connect(ctx, process.dialogs, settings)
        if process.wechat.api is not None:  # customer-service messages need the app secret
            process.pushes[WECHAT] = WeChatPushes(ctx, process.wechat.api)
    if settings is not None and settings.telegram_token.get_secret_value():
        from bot.handlers import telegram  # aiogram: only for shops on Telegram

        process.telegram = telegram.connect(ctx, process.dialogs, settings)
        process.pushes[telegram.CHANNEL] = telegram.TelegramPushes(process.telegram)
    if console_pushes:
        process.pushes[console.CHANNEL] = console.ConsolePushes()
    return process
