"""``memberbot api-key``: keys of the till API (bot.api), shown once when created."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.running import read_settings, run
from bot.i18n import format_moment, gettext
from core.context import Context
from core.integrations.api_keys import SCOPES, ApiKeyView, create_key, list_keys, revoke_key

api_key_app = typer.Typer(help="Keys of the till API (/api/v1).", no_args_is_help=True)


@api_key_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option(help="What the key is for, e.g. till-1 (unique).")],
    store: Annotated[
        str | None,
        typer.Option(help="The store it acts for; omitted: every store (a head office)."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(help=f"What it may do, repeatable: {', '.join(SCOPES)}; default all."),
    ] = None,
) -> None:
    """Create a key and print it once: only its hash is kept."""
    settings = read_settings()

    async def work(ctx: Context) -> tuple[ApiKeyView, str]:
        return await create_key(ctx, name=name, store=store, scopes=scope or SCOPES)

    key, secret = run(settings, work)
    locale = settings.locale
    typer.echo(secret)
    typer.echo(
        gettext(
            locale,
            "Key {name} ({prefix}) for {store}: {scopes}. It is shown only this once; "
            "keep it in the till's settings.",
            name=key.name,
            prefix=key.prefix,
            store=key.store or gettext(locale, "every store"),
            scopes=", ".join(key.scopes),
        ),
        err=True,
    )


@api_key_app.command("list")
def api_key_list() -> None:
    """Every key: name, prefix, store, scopes, and when it was revoked."""
    settings = read_settings()

    keys = run(settings, list_keys)
    locale = settings.locale
    if not keys:
        typer.echo(gettext(locale, "No API keys yet: create one with `memberbot api-key create`."))
    for key in keys:
        state = (
            gettext(locale, "revoked {at}", at=format_moment(key.revoked_at, locale, settings.zone))
            if key.revoked_at
            else gettext(locale, "active")
        )
        store = key.store or gettext(locale, "every store")
        typer.echo(f"{key.name}  {key.prefix}  {store}  {','.join(key.scopes)}  {state}")


@api_key_app.command("revoke")
def api_key_revoke(
    key: Annotated[str, typer.Argument(help="The key's name or prefix.")],
) -> None:
    """Revoke a key: its next call is refused."""
    settings = read_settings()

    async def work(ctx: Context) -> ApiKeyView:
        return await revoke_key(ctx, key)

    revoked = run(settings, work)
    typer.echo(gettext(settings.locale, "Key {name} is revoked.", name=revoked.name))
