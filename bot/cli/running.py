"""How every ``memberbot`` command runs: settings read from the environment, the process
composed from them, the work done, the database disposed; known failures become one clear
line and a non-zero exit status, never a traceback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from aiohttp import ClientError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot import event_loop
from bot.composition import SchemaOutdated, open_context
from bot.demo.loader import ShopInUse
from bot.error_texts import describe
from bot.handlers.wechat_api import WeChatAPIError
from bot.i18n import gettext
from bot.settings import Settings
from core.context import Context
from core.errors import DomainError
from core.shop import Shop, ShopFileError
from storage.migrate import UnknownSchema

T = TypeVar("T")


class CannotListen(Exception):
    """The web server's address is taken or not allowed."""


class NoConsoleStaff(Exception):
    """``chat --staff`` without a console staff account."""


class NoTelegramBot(Exception):
    """Telegram asked for without a bot token."""


class TelegramRefused(Exception):
    """The Bot API refused a set-up call (aiogram's error, in a class of our own: aiogram
    is imported only where Telegram is used)."""


class CannotWrite(Exception):
    """A file named on the command line cannot be written."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"cannot write {path}")
        self.path, self.error = path, error


class NoWeChatAccount(Exception):
    """A ``wechat`` command without the official account's app id and secret."""


def read_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"MEMBERBOT_{'_'.join(str(p) for p in e['loc']).upper()}: "
            + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        typer.echo(f"memberbot: {problems}", err=True)
        raise typer.Exit(2) from None
    except UnicodeDecodeError:  # the only file read here: Notepad saved it in GBK
        typer.echo("memberbot: .env: not UTF-8 text (save it as UTF-8)", err=True)
        raise typer.Exit(2) from None


def run(
    settings: Settings, work: Callable[[Context], Awaitable[T]], *, upgrade: bool | None = None
) -> T:
    """Open the context, run ``work``, dispose the database; known failures become one
    line."""

    shop: Shop | None = None  # once read: errors name its stores by name

    async def main() -> T:
        nonlocal shop
        ctx = await open_context(settings, upgrade=upgrade)
        shop = ctx.shop
        try:
            return await work(ctx)
        finally:
            await ctx.db.dispose()

    locale = settings.locale
    try:
        return event_loop.run(main())
    except ShopFileError as exc:
        message = str(exc)
    except SchemaOutdated:
        message = gettext(locale, "The database schema is out of date: run `memberbot db upgrade`.")
    except UnknownSchema as exc:
        message = gettext(
            locale,
            "This database was written by a newer memberbot ({error}): run that version, "
            "or a backup of the database.",
            error=exc,
        )
    except SQLAlchemyError as exc:  # no such folder, not a database, damaged, refused
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        message = gettext(
            locale, "Cannot use the database: {error}", error=str(cause).split("\n")[0]
        )
    except DomainError as exc:
        message = describe(exc, locale, shop)
    except CannotListen as exc:
        message = gettext(locale, "Cannot listen on that address: {error}", error=exc)
    except NoConsoleStaff:
        message = gettext(
            locale,
            "No console staff account yet: add one with "
            "`memberbot staff add --channel console --user-id NAME`.",
        )
    except ShopInUse:
        message = gettext(
            locale,
            "This database already has members or staff: the demo shop is loaded only into an "
            "empty one (point MEMBERBOT_DATABASE_URL at another file).",
        )
    except NoTelegramBot:
        message = gettext(locale, "Set MEMBERBOT_TELEGRAM_TOKEN first.")
    except TelegramRefused as exc:
        message = gettext(locale, "Telegram refused: {error}", error=exc)
    except NoWeChatAccount:
        message = gettext(
            locale, "Set MEMBERBOT_WECHAT_APP_ID and MEMBERBOT_WECHAT_APP_SECRET first."
        )
    except WeChatAPIError as exc:
        message = gettext(
            locale, "WeChat refused: {errcode} {errmsg}", errcode=exc.errcode, errmsg=exc.errmsg
        )
    except (ClientError, TimeoutError) as exc:
        message = gettext(locale, "Cannot reach WeChat: {error}", error=exc or type(exc).__name__)
    except CannotWrite as exc:
        message = cannot_write(exc.path, exc.error, locale)
    except BrokenPipeError:  # the output was piped into e.g. `head`, which has had enough
        raise typer.Exit(0) from None
    except OSError as exc:
        message = gettext(locale, "Cannot reach the database: {error}", error=exc.strerror or exc)
    typer.echo(f"memberbot: {message}", err=True)
    raise typer.Exit(2)


def write_file(path: Path, data: bytes, locale: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        typer.echo(f"memberbot: {cannot_write(path, exc, locale)}", err=True)
        raise typer.Exit(2) from None


def cannot_write(path: Path, error: OSError, locale: str) -> str:
    reason = error.strerror or error
    return gettext(locale, "Cannot write {path}: {error}", path=path, error=reason)
