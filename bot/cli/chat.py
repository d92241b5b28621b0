"""``memberbot chat``: the terminal channel."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import typer

from bot.cli.running import NoConsoleStaff, read_settings, run
from bot.composition import compose
from bot.dialogs.engine.types import Sender
from bot.handlers import console
from bot.pushes.dispatcher import PushDispatcher
from core.context import Context
from core.people.staff import list_staff
from storage import workers


def chat(
    user: Annotated[str, typer.Option(help="Who you are in this chat (a console user id).")] = "me",
    lang: Annotated[
        Literal["zh_CN", "en"] | None, typer.Option(help="zh_CN or en, for a first contact.")
    ] = None,
    staff: Annotated[
        bool, typer.Option("--staff", help="Chat as the first console staff account.")
    ] = False,
) -> None:
    """Chat with memberbot in the terminal, as a member (or, with --staff, as staff) would;
    numbers pick choices."""
    settings = read_settings()

    async def work(ctx: Context) -> None:
        who = user
        if staff:
            console_staff = [s for s in await list_staff(ctx) if s.channel == console.CHANNEL]
            if not console_staff:
                raise NoConsoleStaff()
            who = console_staff[0].external_id
        # Pushes to console accounts (receipts, alerts) appear between the prompts.
        process = compose(ctx, console_pushes=True)
        dispatcher = PushDispatcher(ctx, process.pushes)
        async with workers.kept(ctx.db, ctx.now):
            dispatching = asyncio.create_task(dispatcher.run())
            try:
                await console.chat(process.dialogs, Sender(console.CHANNEL, who, lang))
            finally:
                dispatching.cancel()
                await asyncio.gather(dispatching, return_exceptions=True)

    run(settings, work)
