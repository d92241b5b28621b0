"""``memberbot staff``: staff accounts."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from bot.cli.running import read_settings, run
from bot.i18n import gettext
from bot.names import ROLE_NAMES, channel_name
from core.context import Context
from core.people.staff import add_staff

staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@staff_app.command("add")
def staff_add(
    user_id: Annotated[str, typer.Option("--user-id", help="Telegram user id or WeChat openid.")],
    channel: Annotated[str, typer.Option(help="telegram, wechat or console.")] = "telegram",
    role: Annotated[str, typer.Option(help="clerk, manager or owner.")] = "owner",
    store: Annotated[str | None, typer.Option(help="Store code (required below owner).")] = None,
    name: Annotated[str, typer.Option(help="How colleagues call this person.")] = "",
    lang: Annotated[
        str | None,
        typer.Option(help="zh_CN or en: their alerts and digests until they write to the bot."),
    ] = None,
) -> None:
    """Give a chat account a staff role (the first owner is added this way)."""
    settings = read_settings()

    async def work(ctx: Context) -> None:
        staff = await add_staff(
            ctx,
            channel=channel,
            external_id=user_id,
            role=role,
            store=store,
            name=name,
            locale=lang,
        )
        typer.echo(
            gettext(
                settings.locale,
                "Staff #{id}: {channel} {user} is now {role}.",
                id=staff.id,
                channel=channel_name(partial(gettext, settings.locale), channel),
                user=user_id,
                role=gettext(settings.locale, ROLE_NAMES[staff.role]),
            )
        )

    run(settings, work)
