"""``memberbot serve`` and ``memberbot scheduler``: the long-running processes."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from typing import Annotated

import typer
from aiohttp import web

from bot.cli.running import CannotListen, NoTelegramBot, read_settings, run
from bot.composition import compose
from bot.pushes.dispatcher import PushChannel, PushDispatcher
from bot.redaction import RedactingFilter
from bot.scheduler import create_scheduler
from bot.settings import Settings
from bot.web import AccessLog, create_app
from core.context import Context
from storage import workers

log = logging.getLogger("memberbot")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    telegram_polling: Annotated[
        bool, typer.Option(help="Fetch Telegram updates by long polling (no public URL needed).")
    ] = False,
    pushes: Annotated[
        bool,
        typer.Option(
            help="Run the scheduler and the push dispatcher in this process (turn off on all "
            "but one web worker, or run `memberbot scheduler` beside them)."
        ),
    ] = True,
) -> None:
    """Run the web server (health endpoint, channels), the scheduler and the push
    dispatcher until Ctrl-C."""
    settings = read_settings()
    _log_to_terminal(settings)

    async def work(ctx: Context) -> None:
        # The lease under which this process claims messages and pushes, given up only
        # once the server's cleanup has finished or given back what it was processing.
        async with workers.kept(ctx.db, ctx.now):
            await _serve(ctx)

    async def _serve(ctx: Context) -> None:
        if telegram_polling and not settings.telegram_token.get_secret_value():
            raise NoTelegramBot()
        process = compose(ctx, settings)
        runner = web.AppRunner(
            create_app(process), handle_signals=False, access_log_class=AccessLog
        )
        await runner.setup()
        polling: asyncio.Task[None] | None = None
        try:
            site = web.TCPSite(runner, host or settings.host, port or settings.port)
            try:
                await site.start()
            except OSError as exc:
                raise CannotListen(exc.strerror or str(exc)) from None
            log.info("listening on http://%s:%d", host or settings.host, port or settings.port)
            if telegram_polling and process.telegram is not None:
                polling = asyncio.create_task(process.telegram.poll())
            await _until_stopped(ctx, process.pushes if pushes else None)
        finally:
            if polling is not None and process.telegram is not None:
                await process.telegram.stop_polling(polling)
            await runner.cleanup()

    run(settings, work)


def scheduler_command() -> None:
    """Run only the scheduler and the push dispatcher (beside web workers started with
    `serve --no-pushes`); until Ctrl-C."""
    settings = read_settings()
    _log_to_terminal(settings)

    async def work(ctx: Context) -> None:
        process = compose(ctx, settings)  # its push senders, without serving the channels
        try:
            async with workers.kept(ctx.db, ctx.now):
                await _until_stopped(ctx, process.pushes)
        finally:
            await process.close()

    run(settings, work)


def _log_to_terminal(settings: Settings) -> None:
    """Log lines from ``MEMBERBOT_LOG_LEVEL`` up, on standard error, never a secret."""
    level = settings.log_level
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(settings.secrets()))
    # aiogram writes a line for every update handled; like the access log's successes
    # (DEBUG), that is noise at hundreds a second unless asked for.
    logging.getLogger("aiogram.event").setLevel("DEBUG" if level == "DEBUG" else "WARNING")
    # aiosqlite's DEBUG lines name each call its thread runs: noise even then.
    logging.getLogger("aiosqlite").setLevel("INFO")


async def _until_stopped(ctx: Context, channels: dict[str, PushChannel] | None) -> None:
    """Until SIGINT or SIGTERM: with ``channels``, the scheduler and the dispatcher too."""
    # What is built by now (modules, the app, the shop file) lives as long as the process.
    # Out of the garbage collector's sight, a full collection no longer walks it: with
    # aiogram's models loaded that walk held the loop 0.2 s every few thousand messages.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = create_scheduler(ctx) if channels is not None else None
    dispatching = None
    try:
        if scheduler is not None and channels is not None:
            scheduler.start()
            dispatching = asyncio.create_task(PushDispatcher(ctx, channels).run())
        await stop.wait()
        log.info("shutting down")
    finally:
        if dispatching is not None:
            dispatching.cancel()
            await asyncio.gather(dispatching, return_exceptions=True)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
