"""``memberbot telegram``: the bot's set-up (aiogram is imported only when it runs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli.running import TelegramRefused, read_settings, run
from bot.i18n import gettext
from bot.redaction import redact
from bot.settings import Settings
from core.context import Context

if TYPE_CHECKING:
    from aiogram import Bot

T = TypeVar("T")
telegram_app = typer.Typer(help="Telegram bot set-up.", no_args_is_help=True)


def _with_bot(settings: Settings, work: Callable[[Bot], Awaitable[T]]) -> T:
    """Run ``work`` with the bot of the settings (no database needed)."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        message = gettext(settings.locale, "Set MEMBERBOT_TELEGRAM_TOKEN first.")
        typer.echo(f"memberbot: {message}", err=True)
        raise typer.Exit(2)

    async def with_bot(_ctx: Context) -> T:
        # aiogram loads only when a Telegram command runs, not for every ``memberbot`` call.
        from aiogram.exceptions import TelegramAPIError

        from bot.handlers import telegram

        bot = telegram.create_bot(token, settings.telegram_api_base)
        try:
            return await work(bot)
        except TelegramAPIError as exc:
            raise TelegramRefused(redact(exc.message, [token])) from None
        finally:
            await bot.session.close()

    return run(settings, with_bot)


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Argument(help="Public HTTPS URL of the webhook path.")],
) -> None:
    """Tell Telegram to deliver updates to URL, signed with MEMBERBOT_TELEGRAM_WEBHOOK_SECRET."""
    settings = read_settings()
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not secret:
        message = gettext(settings.locale, "Set MEMBERBOT_TELEGRAM_WEBHOOK_SECRET first.")
        typer.echo(f"memberbot: {message}", err=True)
        raise typer.Exit(2)
    from bot.handlers.telegram import ALLOWED_UPDATES  # aiogram: only for this command

    _with_bot(
        settings,
        lambda bot: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES),
    )
    typer.echo(gettext(settings.locale, "Telegram now delivers updates to {url}.", url=url))


@telegram_app.command("delete-webhook")
def telegram_delete_webhook() -> None:
    """Stop webhook delivery (for long polling with `serve --telegram-polling`)."""
    settings = read_settings()
    _with_bot(settings, lambda bot: bot.delete_webhook())
    typer.echo(gettext(settings.locale, "The Telegram webhook is removed."))
