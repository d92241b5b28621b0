"""The ``memberbot`` command line: one module per group of commands, put together here."""

from __future__ import annotations

import typer

from bot.cli import (
    api_keys,
    chat,
    csv_files,
    database,
    demo,
    moving_in,
    outbox,
    serving,
    staff,
    stats,
    telegram,
    webhooks,
    wechat,
)

app = typer.Typer(help="memberbot: a chat-first membership assistant.", no_args_is_help=True)
app.command()(serving.serve)
app.command("scheduler")(serving.scheduler_command)
app.command()(demo.demo)
app.command()(chat.chat)
app.command("stats")(stats.stats_command)
app.add_typer(database.db_app, name="db")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(csv_files.members_app, name="members")
app.add_typer(csv_files.products_app, name="products")
app.add_typer(moving_in.import_app, name="import")
app.add_typer(wechat.wechat_app, name="wechat")
app.add_typer(telegram.telegram_app, name="telegram")
app.add_typer(outbox.outbox_app, name="outbox")
app.add_typer(api_keys.api_key_app, name="api-key")
app.add_typer(webhooks.webhook_app, name="webhook")
