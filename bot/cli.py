"""The ``memberbot`` command line. Each command parses its arguments, calls core use cases
through ``bootstrap`` and prints translated results; errors become one clear line and a
non-zero exit status, never a traceback."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer
from aiohttp import ClientError, web
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot import event_loop
from bot.bootstrap import SchemaOutdated, bootstrap
from bot.demo import ShopInUse, load_demo
from bot.dialogs.engine.types import Sender
from bot.dialogs.registry import create_dialogs
from bot.error_texts import describe
from bot.handlers import console
from bot.handlers.wechat_api import WeChatAPI, WeChatAPIError
from bot.handlers.wechat_setup import create_menus, send_test, store_qrcode
from bot.i18n import N_, format_day, format_moment, gettext, localized
from bot.pushes.channels import from_app
from bot.pushes.dispatcher import PushChannel, PushDispatcher
from bot.redaction import RedactingFilter, redact
from bot.reports import (
    campaign_rows,
    checkin_rows,
    columns,
    event_rows,
    stats_rows,
    text_table,
    winback_rows,
)
from bot.scheduler import create_scheduler
from bot.settings import Settings
from bot.web import AccessLog, create_app
from core import csv_import
from core.context import Context
from core.engagement import product_csv
from core.engagement.checkins import checkin_stats
from core.engagement.event_organising import event_stats
from core.errors import DomainError, InvalidInput
from core.insights import stats
from core.insights.campaign_results import campaign_results
from core.people import member_csv
from core.people.staff import add_staff, list_staff
from core.pushes import outbox, work_queue
from core.pushes.winback import WinbackResults, winback_results
from core.shop import Shop, ShopFileError
from storage import workers
from storage.migrate import UnknownSchema

if TYPE_CHECKING:
    from aiogram import Bot

T = TypeVar("T")
Rows = list[tuple[str, str]]  # (label, value) rows of a report
app = typer.Typer(help="memberbot: a chat-first membership assistant.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
members_app = typer.Typer(help="Members in bulk.", no_args_is_help=True)
products_app = typer.Typer(help="The product catalogue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(staff_app, name="staff")
telegram_app = typer.Typer(help="Telegram bot set-up.", no_args_is_help=True)
wechat_app = typer.Typer(help="WeChat official account set-up.", no_args_is_help=True)
app.add_typer(members_app, name="members")
app.add_typer(products_app, name="products")
app.add_typer(wechat_app, name="wechat")
app.add_typer(telegram_app, name="telegram")
outbox_app = typer.Typer(
    help="Pushes: what is queued, sent and failed.", invoke_without_command=True
)
app.add_typer(outbox_app, name="outbox")
log = logging.getLogger("memberbot")


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


def _settings() -> Settings:
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


def _run(
    settings: Settings, work: Callable[[Context], Awaitable[T]], *, upgrade: bool | None = None
) -> T:
    """Bootstrap, run ``work``, dispose the database; known failures become one line."""

    async def main() -> T:
        ctx = await bootstrap(settings, upgrade=upgrade)
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
        message = describe(exc, locale)
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
        message = _cannot_write(exc.path, exc.error, locale)
    except BrokenPipeError:  # the output was piped into e.g. `head`, which has had enough
        raise typer.Exit(0) from None
    except OSError as exc:
        message = gettext(locale, "Cannot reach the database: {error}", error=exc.strerror or exc)
    typer.echo(f"memberbot: {message}", err=True)
    raise typer.Exit(2)


@app.command()
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
    settings = _settings()
    _log_to_terminal(settings)

    async def work(ctx: Context) -> None:
        # The lease under which this process claims messages and pushes, given up only
        # once the server's cleanup has finished or given back what it was processing.
        async with workers.kept(ctx.db, ctx.now):
            await _serve(ctx)

    async def _serve(ctx: Context) -> None:
        app = create_app(ctx, settings)
        if telegram_polling and not settings.telegram_token.get_secret_value():
            raise NoTelegramBot()
        runner = web.AppRunner(app, handle_signals=False, access_log_class=AccessLog)
        await runner.setup()
        polling: asyncio.Task[None] | None = None
        try:
            site = web.TCPSite(runner, host or settings.host, port or settings.port)
            try:
                await site.start()
            except OSError as exc:
                raise CannotListen(exc.strerror or str(exc)) from None
            log.info("listening on http://%s:%d", host or settings.host, port or settings.port)
            if telegram_polling:
                from bot.handlers.telegram import TELEGRAM  # imported by create_app

                channel = app[TELEGRAM]
                polling = asyncio.create_task(channel.poll())
            await _until_stopped(ctx, from_app(app) if pushes else None)
        finally:
            if polling is not None:
                await channel.stop_polling(polling)
            await runner.cleanup()

    _run(settings, work)


@app.command("scheduler")
def scheduler_command() -> None:
    """Run only the scheduler and the push dispatcher (beside web workers started with
    `serve --no-pushes`); until Ctrl-C."""
    settings = _settings()
    _log_to_terminal(settings)

    async def work(ctx: Context) -> None:
        app = create_app(ctx, settings)  # its channels, without serving them
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            async with workers.kept(ctx.db, ctx.now):
                await _until_stopped(ctx, from_app(app))
        finally:
            await runner.cleanup()

    _run(settings, work)


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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema (safe to run again)."""
    settings = _settings()
    _run(settings, _noop, upgrade=True)
    typer.echo(gettext(settings.locale, "The database schema is up to date."))


async def _noop(_ctx: Context) -> None:
    return None


@app.command()
def demo() -> None:
    """Load a demo shop: stores, rewards, an owner and 300 members with a year of sales."""
    settings = _settings()
    report = _run(settings, load_demo)
    locale = settings.locale
    if report.already_loaded:
        typer.echo(gettext(locale, "The demo shop is already loaded; nothing was added."))
        return
    typer.echo(
        gettext(
            locale,
            "Demo shop loaded: {members} members, {sales} sales, {coupons} coupons.",
            members=report.members,
            sales=report.sales,
            coupons=report.coupons,
        )
    )
    typer.echo(gettext(locale, 'Staff owner account: console user "owner".'))


@app.command()
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
    settings = _settings()

    async def work(ctx: Context) -> None:
        who = user
        if staff:
            console_staff = [s for s in await list_staff(ctx) if s.channel == console.CHANNEL]
            if not console_staff:
                raise NoConsoleStaff()
            who = console_staff[0].external_id
        # Pushes to console accounts (receipts, alerts) appear between the prompts.
        dispatcher = PushDispatcher(ctx, {console.CHANNEL: console.ConsolePushes()})
        async with workers.kept(ctx.db, ctx.now):
            dispatching = asyncio.create_task(dispatcher.run())
            try:
                await console.chat(create_dialogs(ctx), Sender(console.CHANNEL, who, lang))
            finally:
                dispatching.cancel()
                await asyncio.gather(dispatching, return_exceptions=True)

    _run(settings, work)


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
    settings = _settings()

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
                channel=channel,
                user=user_id,
                role=staff.role.value,
            )
        )

    _run(settings, work)


@members_app.command("import")
def members_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import members from CSV (phone is the key: a re-import updates, never duplicates).
    Bad rows are reported with their line number; good rows are kept."""
    settings = _settings()
    locale = settings.locale

    async def work(ctx: Context) -> csv_import.ImportReport:
        with file.open(encoding="utf-8-sig", newline="") as source:
            return await member_csv.import_members(ctx, source, actor="cli")

    _report_import(_run(settings, work), locale)


def _report_import(report: csv_import.ImportReport, locale: str) -> None:
    """What a CSV import did, and each refused row by its line; exit 1 if any was refused."""
    typer.echo(
        gettext(
            locale,
            "Imported: {created} new, {updated} updated, {bad} refused.",
            created=report.created,
            updated=report.updated,
            bad=len(report.errors),
        )
    )
    for row in report.errors:
        line = gettext(
            locale, "line {line}: {reason}", line=row.line, reason=describe(row.error, locale)
        )
        typer.echo(line, err=True)
    if report.errors:
        raise typer.Exit(1)


@products_app.command("import")
def products_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import products from CSV (code, name, name_en, category, price_yuan, active; the code
    is the key: a re-import updates). Bad rows are reported with their line number; good
    rows are kept."""
    settings = _settings()
    locale = settings.locale

    async def work(ctx: Context) -> csv_import.ImportReport:
        with file.open(encoding="utf-8-sig", newline="") as source:
            return await product_csv.import_products(ctx, source, actor="cli")

    _report_import(_run(settings, work), locale)


@members_app.command("export")
def members_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout).")
    ] = None,
) -> None:
    """Export all members as CSV, in the format `members import` reads."""
    settings = _settings()

    async def work(ctx: Context) -> member_csv.ExportReport:
        if output is None:
            return await member_csv.export_members(ctx, sys.stdout)
        try:
            out = output.open("w", encoding="utf-8", newline="")
        except OSError as exc:  # not the database's fault: say which file
            raise CannotWrite(output, exc) from None
        with out:
            return await member_csv.export_members(ctx, out)

    report = _run(settings, work)
    locale = settings.locale
    typer.echo(gettext(locale, "{count} members exported.", count=report.written), err=True)
    if report.without_phone:
        left_out = gettext(
            locale,
            "{count} members without a mobile number were left out: the import needs one.",
            count=report.without_phone,
        )
        typer.echo(left_out, err=True)


def _write(path: Path, data: bytes, locale: str) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        typer.echo(f"memberbot: {_cannot_write(path, exc, locale)}", err=True)
        raise typer.Exit(2) from None


def _cannot_write(path: Path, error: OSError, locale: str) -> str:
    reason = error.strerror or error
    return gettext(locale, "Cannot write {path}: {error}", path=path, error=reason)


def _days(ctx: Context, period: str, first: str | None, last: str | None) -> tuple[date, date]:
    today = ctx.today()
    if first is None and last is None:
        return stats.period_days(period, today)
    if first is None:
        raise InvalidInput(field="period", value=f"--to {last}")
    try:
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else today
    except ValueError:
        raise InvalidInput(field="period", value=f"{first}..{last or ''}") from None
    return stats.days_between(start, end)


@app.command("stats")
def stats_command(
    store: Annotated[str | None, typer.Option(help="Store code (default: all stores).")] = None,
    period: Annotated[
        str,
        typer.Option(
            help="Nd (e.g. 30d: the last N days), week, month, year (so far), "
            "last-week, last-month, last-year."
        ),
    ] = "30d",
    first: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (instead of --period).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the sales trend into this PNG file.")
    ] = None,
) -> None:
    """Key figures of the shop or one store: members, sales, points, coupons, bookings."""
    settings = _settings()
    locale = settings.locale

    async def work(
        ctx: Context,
    ) -> tuple[Shop, stats.ShopStats, WinbackResults, list[stats.TrendPoint], Rows]:
        start, end = _days(ctx, period, first, last)
        report = await stats.shop_stats(ctx, store=store, start=start, end=end)
        won_back = await winback_results(ctx, start, end, store=store)
        engagement = event_rows(await event_stats(ctx, store=store, start=start, end=end), locale)
        engagement += checkin_rows(
            await checkin_stats(ctx, store=store, start=start, end=end), locale
        )
        sent = await campaign_results(ctx, store=store, start=start, end=end)
        engagement += campaign_rows(sent, ctx.shop, locale, ctx.zone)
        points: list[stats.TrendPoint] = []
        if chart is not None:
            every = stats.every_for(start, end)
            points = await stats.trend(ctx, store=store, start=start, end=end, every=every)
        return ctx.shop, report, won_back, points, engagement

    shop, report, won_back, points, engagement = _run(settings, work)
    where = gettext(locale, "all stores")
    if store is not None:
        found = shop.store(store)
        where = localized(found.name, found.name_en, locale) if found else store
    typer.echo(
        gettext(
            locale,
            "{where}, {start} – {end}",
            where=where,
            start=format_day(report.start, locale),
            end=format_day(report.end, locale),
        )
    )
    rows = stats_rows(report, shop, locale) + winback_rows(won_back, shop, locale) + engagement
    for line in text_table(rows):
        typer.echo(line)
    if chart is not None:
        from bot.charts import render_trend_png  # matplotlib loads only when a chart is asked

        _write(chart, render_trend_png(points, locale, currency=shop.shop.currency), locale)
        typer.echo(gettext(locale, "Chart written to {path}.", path=chart))


STATUS_NAMES = {  # the columns of `memberbot outbox`, in the life of a push
    outbox.PENDING: N_("queued"),
    outbox.SENDING: N_("sending"),
    outbox.WAITING: N_("waiting"),
    outbox.SENT: N_("sent"),
    outbox.FAILED: N_("failed"),
    outbox.SKIPPED: N_("skipped"),
}


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
    settings = _settings()
    locale = settings.locale

    async def work(ctx: Context) -> work_queue.QueueSummary:
        return await work_queue.summary(ctx, errors)

    report = _run(settings, work)
    kinds = sorted({kind for kind, _ in report.counts})
    if not kinds:
        typer.echo(gettext(locale, "The outbox is empty."))
        return
    header = [gettext(locale, "kind"), *(gettext(locale, n) for n in STATUS_NAMES.values())]
    table = [header] + [
        [kind, *(str(report.counts.get((kind, status), 0)) for status in STATUS_NAMES)]
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
        typer.echo(f"  {when}  {kind}  {name}: {error}")


@outbox_app.command("send")
def outbox_send() -> None:
    """Send what is due now on the configured channels, with progress, then stop (for
    a big campaign without `serve` running, or to test the set-up)."""
    settings = _settings()
    locale = settings.locale

    async def work(ctx: Context) -> None:
        app = create_app(ctx, settings)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            dispatcher = PushDispatcher(ctx, from_app(app))
            before = await work_queue.summary(ctx, 0)
            async with workers.kept(ctx.db, ctx.now):
                await _send_due(dispatcher, ctx, before, locale)
        finally:
            await runner.cleanup()

    _run(settings, work)


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


def _with_wechat(settings: Settings, work: Callable[[Context, WeChatAPI], Awaitable[T]]) -> T:
    """Run ``work`` with a client for the official account of the settings."""
    secret = settings.wechat_app_secret.get_secret_value()

    async def run(ctx: Context) -> T:
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

    return _run(settings, run)


@wechat_app.command("menu")
def wechat_menu() -> None:
    """Create the official account's custom menu from the shop file (zh, and en where
    WeChat allows a menu by language)."""
    settings = _settings()
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
    settings = _settings()
    png = _with_wechat(settings, lambda ctx, api: store_qrcode(api, ctx.shop, store))
    path = output or Path(f"qr-{store}.png")
    _write(path, png, settings.locale)
    typer.echo(gettext(settings.locale, "QR code written to {path}.", path=path))


@wechat_app.command("send-test")
def wechat_send_test(
    openid: Annotated[str, typer.Argument(help="The follower's openid.")],
) -> None:
    """Send a customer-service message to one follower (who wrote within 48 hours)."""
    settings = _settings()
    _with_wechat(settings, lambda ctx, api: send_test(api, openid, settings.locale))
    typer.echo(gettext(settings.locale, "Test message sent to {openid}.", openid=openid))


def _with_bot(settings: Settings, work: Callable[[Bot], Awaitable[T]]) -> T:
    """Run ``work`` with the bot of the settings (no database needed)."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        message = gettext(settings.locale, "Set MEMBERBOT_TELEGRAM_TOKEN first.")
        typer.echo(f"memberbot: {message}", err=True)
        raise typer.Exit(2)

    async def run(_ctx: Context) -> T:
        from aiogram.exceptions import TelegramAPIError

        from bot.handlers import telegram

        bot = telegram.create_bot(token, settings.telegram_api_base)
        try:
            return await work(bot)
        except TelegramAPIError as exc:
            raise TelegramRefused(redact(exc.message, [token])) from None
        finally:
            await bot.session.close()

    return _run(settings, run)


@telegram_app.command("set-webhook")
def telegram_set_webhook(
    url: Annotated[str, typer.Argument(help="Public HTTPS URL of the webhook path.")],
) -> None:
    """Tell Telegram to deliver updates to URL, signed with MEMBERBOT_TELEGRAM_WEBHOOK_SECRET."""
    settings = _settings()
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not secret:
        message = gettext(settings.locale, "Set MEMBERBOT_TELEGRAM_WEBHOOK_SECRET first.")
        typer.echo(f"memberbot: {message}", err=True)
        raise typer.Exit(2)
    from bot.handlers.telegram import ALLOWED_UPDATES

    _with_bot(
        settings,
        lambda bot: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES),
    )
    typer.echo(gettext(settings.locale, "Telegram now delivers updates to {url}.", url=url))


@telegram_app.command("delete-webhook")
def telegram_delete_webhook() -> None:
    """Stop webhook delivery (for long polling with `serve --telegram-polling`)."""
    settings = _settings()
    _with_bot(settings, lambda bot: bot.delete_webhook())
    typer.echo(gettext(settings.locale, "The Telegram webhook is removed."))
