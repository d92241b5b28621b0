"""``memberbot webhook``: other systems' endpoints told of events (core.integrations)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from bot.cli.running import read_settings, run
from bot.i18n import N_, gettext
from bot.names import push_reason
from bot.pushes.webhooks import WebhookFailed, WebhookSender
from bot.reports import columns
from core.context import Context
from core.integrations import deliveries, webhooks

webhook_app = typer.Typer(help="Webhooks: events told to other systems.", no_args_is_help=True)
ACTOR = "cli"
LIST_COLUMNS = (N_("number"), N_("address"), N_("store"), N_("secret"), N_("events"))


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="Where to post the events (http or https).")],
    events: Annotated[
        str, typer.Option(help="Event types, comma-separated: " + ", ".join(webhooks.EVENTS))
    ],
    store: Annotated[
        str | None, typer.Option(help="Only this store's events (and members' own).")
    ] = None,
) -> None:
    """Subscribe an endpoint; prints its signing secret, once."""
    settings = read_settings()
    locale = settings.locale

    async def work(ctx: Context) -> webhooks.NewEndpoint:
        return await webhooks.add_endpoint(ctx, url, [events], store=store, actor=ACTOR)

    added = run(settings, work)
    typer.echo(
        gettext(locale, "Webhook #{id}: {url}", id=added.endpoint.id, url=added.endpoint.url)
    )
    typer.echo(
        gettext(
            locale,
            "Signing secret (shown only now; give it to the receiver): {secret}",
            secret=added.secret,
        )
    )


@webhook_app.command("list")
def webhook_list() -> None:
    """The endpoints, their events and store."""
    settings = read_settings()
    locale = settings.locale
    found = run(settings, webhooks.endpoints)
    if not found:
        typer.echo(gettext(locale, "No webhooks."))
        return
    header = [gettext(locale, w) for w in LIST_COLUMNS]
    rows = [
        [
            str(e.id),
            e.url,
            e.store or gettext(locale, "all"),
            e.secret_hint,
            ",".join(e.events),
        ]
        for e in found
    ]
    for line in columns([header, *rows]):
        typer.echo(line)


@webhook_app.command("remove")
def webhook_remove(
    reference: Annotated[str, typer.Argument(help="The webhook's number or address.")],
) -> None:
    """Unsubscribe an endpoint; what it was still owed is skipped."""
    settings = read_settings()

    async def work(ctx: Context) -> webhooks.Endpoint:
        return await webhooks.remove_endpoint(ctx, reference, actor=ACTOR)

    removed = run(settings, work)
    typer.echo(gettext(settings.locale, "Webhook #{id} removed.", id=removed.id))


@webhook_app.command("test")
def webhook_test(
    number: Annotated[int, typer.Argument(help="The webhook's number.")],
) -> None:
    """Post a signed ``ping`` event to the endpoint now and say what it answered."""
    settings = read_settings()
    locale = settings.locale

    async def work(ctx: Context) -> tuple[bool, str]:
        target, payload = await deliveries.ping(ctx, number)
        try:
            status = await WebhookSender().post(target, payload, ctx.now())
        except WebhookFailed as exc:
            reason = push_reason(partial(gettext, locale), str(exc))
            return False, gettext(locale, "Not delivered: {reason}", reason=reason)
        return True, gettext(locale, "Delivered: HTTP {status}", status=status)

    delivered, said = run(settings, work)
    typer.echo(said)
    if not delivered:
        raise typer.Exit(1)
