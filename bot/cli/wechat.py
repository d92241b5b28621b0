"""``memberbot wechat``: the official account's set-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.cli.running import NoWeChatAccount, read_settings, run, write_file
from bot.handlers.wechat_api import WeChatAPI
from bot.handlers.wechat_setup import create_menus, send_test, store_qrcode
from bot.i18n import gettext
from bot.settings import Settings
from core.context import Context

T = TypeVar("T")
wechat_app = typer.Typer(help="WeChat official account set-up.", no_args_is_help=True)


def _with_wechat(settings: Settings, work: Callable[[Context, WeChatAPI], Awaitable[T]]) -> T:
    """Run ``work`` with a client for the official account of the settings."""
    secret = settings.wechat_app_secret.get_secret_value()

    async def with_api(ctx: Context) -> T:
        if not (settings.wechat_app_id and secret):
            raise NoWeChatAccount()
        api = WeChatAPI(
            ctx.db,
            ctx.clock,
            app_id=settings.wechat_app_id,
            app_secret=secret,
            base_url=settings.wechat_api_base,
        )
        try:
            return await work(ctx, api)
        finally:
            await api.close()

    return run(settings, with_api)


@wechat_app.command("menu")
def wechat_menu() -> None:
    """Create the official account's custom menu from the shop file (zh, and en where
    WeChat allows a menu by language)."""
    settings = read_settings()
    refused = _with_wechat(settings, lambda ctx, api: create_menus(api, ctx.shop))
    typer.echo(gettext(settings.locale, "The WeChat menu is created."))
    for locale in refused:
        typer.echo(
            gettext(
                settings.locale,
                "WeChat did not take the {language} menu; everyone sees the first one.",
                language=locale,
            ),
            err=True,
        )


@wechat_app.command("qrcode")
def wechat_qrcode(
    store: Annotated[str, typer.Option(help="Store code from the shop file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG file (default: qr-STORE.png).")
    ] = None,
) -> None:
    """Save a store's permanent QR code: who follows through it becomes that store's member."""
    settings = read_settings()
    png = _with_wechat(settings, lambda ctx, api: store_qrcode(api, ctx.shop, store))
    path = output or Path(f"qr-{store}.png")
    write_file(path, png, settings.locale)
    typer.echo(gettext(settings.locale, "QR code written to {path}.", path=path))


@wechat_app.command("send-test")
def wechat_send_test(
    openid: Annotated[str, typer.Argument(help="The follower's openid.")],
) -> None:
    """Send a customer-service message to one follower (who wrote within 48 hours)."""
    settings = read_settings()
    _with_wechat(settings, lambda ctx, api: send_test(api, openid, settings.locale))
    typer.echo(gettext(settings.locale, "Test message sent to {openid}.", openid=openid))
