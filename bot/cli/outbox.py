"""``memberbot outbox``: what is queued, sent and failed; and sending it now."""

from __future__ import annotations

from datetime import tzinfo
from functools import partial
from typing import Annotated, NamedTuple

import typer

from bot.cli.running import read_settings, run
from bot.composition import compose
from bot.i18n import N_, format_moment, gettext
from bot.names import push_kind_name, push_reason
from bot.pushes.dispatcher import PushDispatcher
from bot.reports import columns
from core.context import Context
from core.integrations import deliveries
from core.pushes import outbox, work_queue
from storage import workers

outbox_app = typer.Typer(
    help="Pushes: what is queued, sent and failed.", invoke_without_command=True
)


STATUS_NAMES = {  # the columns of `memberbot outbox`, in the life of a push
    outbox.PENDING: N_("queued"),
    outbox.SENDING: N_("sending"),
    outbox.WAITING: N_("waiting"),
    outbox.SENT: N_("sent"),
    outbox.FAILED: N_("failed"),
    outbox.SKIPPED: N_("skipped"),
}


class Report(NamedTuple):
    queue: work_queue.QueueSummary
    webhooks_owed: list[deliveries.Delivery]


@outbox_app.callback()
def outbox_status(
    command: typer.Context,
    errors: Annotated[
        int, typer.Option(help="How many of the latest errors to list.", min=0, max=1000)
    ] = 10,
) -> None:
    """Pushes by kind: queued, sending, waiting (for the member's next message), sent,
    failed and skipped; then the latest errors and reasons."""
    if command.invoked_subcommand is not None:
        return
    settings = read_settings()
    locale = settings.locale

    async def work(ctx: Context) -> Report:
        return Report(await work_queue.summary(ctx, errors), await deliveries.owed(ctx, errors))

    summary = run(settings, work)
    report = summary.queue
    tr = partial(gettext, locale)
    kinds = sorted({kind for kind, _ in report.counts})
    if not kinds:
        typer.echo(gettext(locale, "The outbox is empty."))
        return
    header = [gettext(locale, "kind"), *(gettext(locale, n) for n in STATUS_NAMES.values())]
    table = [header] + [
        [
            push_kind_name(tr, kind),
            *(str(report.counts.get((kind, status), 0)) for status in STATUS_NAMES),
        ]
        for kind in kinds
    ]
    for line in columns(table):
        typer.echo(line)
    if report.last_errors:
        typer.echo("")
        typer.echo(gettext(locale, "Latest errors and reasons:"))
    for at, kind, status, error in report.last_errors:
        when = format_moment(at, locale, settings.zone)
        name = gettext(locale, STATUS_NAMES.get(status, status))
        why = gettext(locale, "{status}: {reason}", status=name, reason=push_reason(tr, error))
        typer.echo(f"  {when}  {push_kind_name(tr, kind)}  {why}")
    if summary.webhooks_owed:
        typer.echo("")
        typer.echo(gettext(locale, "Webhook deliveries not delivered:"))
        for line in _owed(summary.webhooks_owed, locale, settings.zone):
            typer.echo(f"  {line}")


def _next_try(delivery: deliveries.Delivery, locale: str, zone: tzinfo) -> str:
    if delivery.status != outbox.PENDING:
        return ""
    if not delivery.in_turn:
        return gettext(locale, "after the member's earlier event")
    return format_moment(delivery.next_attempt_at, locale, zone)


def _owed(owed: list[deliveries.Delivery], locale: str, zone: tzinfo) -> list[str]:
    """Endpoint, event, status, attempts, when next (or when given up) and the last error."""
    words = (
        N_("endpoint"),
        N_("event"),
        N_("status"),
        N_("attempts"),
        N_("next try"),
        N_("last error"),
    )
    rows = [
        [
            d.url,
            d.event,
            gettext(locale, STATUS_NAMES.get(d.status, d.status)),
            str(d.attempts),
            _next_try(d, locale, zone),
            push_reason(partial(gettext, locale), d.last_error or ""),
        ]
        for d in owed
    ]
    return columns([[gettext(locale, w) for w in words], *rows])


@outbox_app.command("send")
def outbox_send() -> None:
    """Send what is due now on the configured channels, with progress, then stop (for
    a big campaign without `serve` running, or to test the set-up)."""
    settings = read_settings()
    locale = settings.locale

    async def work(ctx: Context) -> None:
        process = compose(ctx, settings)
        try:
            dispatcher = PushDispatcher(ctx, process.pushes)
            before = await work_queue.summary(ctx, 0)
            async with workers.kept(ctx.db, ctx.now):
                await _send_due(dispatcher, ctx, before, locale)
        finally:
            await process.close()

    run(settings, work)


async def _send_due(
    dispatcher: PushDispatcher, ctx: Context, before: work_queue.QueueSummary, locale: str
) -> None:
    """Rounds of the dispatcher until nothing is due, a line of progress after each."""
    while await dispatcher.round():
        now = await work_queue.summary(ctx, 0)
        typer.echo(
            gettext(
                locale,
                "sent {sent}, still queued {queued}, waiting {waiting}, failed {failed}",
                sent=now.total(outbox.SENT) - before.total(outbox.SENT),
                queued=now.total(outbox.PENDING),
                waiting=now.total(outbox.WAITING),
                failed=now.total(outbox.FAILED) - before.total(outbox.FAILED),
            ),
            err=True,
        )
