"""The aiohttp application of ``memberbot serve``: channels mount their endpoints here."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.api import app as api
from bot.composition import Process
from bot.handlers import wechat
from core.context import Context

CONTEXT = web.AppKey("context", Context)
log = logging.getLogger(__name__)


async def health(request: web.Request) -> web.Response:
    """For load balancers and uptime checks: 200 when the database answers, else 503."""
    ctx = request.app[CONTEXT]
    try:
        async with ctx.db.read() as s:
            await s.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("health check: database unavailable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "error"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


class AccessLog(AbstractAccessLogger):
    """One line per request, without its query string: WeChat puts the member's openid and
    the request's signatures there. Requests that went well are DEBUG (at hundreds a second
    the lines cost a few per cent of the CPU); refused and failed ones are INFO, where an
    operator sees them."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        level = logging.DEBUG if response.status < 400 else logging.INFO
        if self.logger.isEnabledFor(level):
            self.logger.log(
                level,
                "%s %s %s %d %.1f ms",
                request.remote,
                request.method,
                request.path,
                response.status,
                time * 1000,
            )


class MalformedRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (a NUL in a header, a broken request line)
    with a 400 itself, and logs it as an ERROR with a traceback: someone else's bad bytes,
    not our failure. Such a record becomes one INFO line naming what was wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed request (400): %s", (error.message,)
        return True


MALFORMED = MalformedRequests()


def create_app(process: Process) -> web.Application:
    """The app with the health check, the till API (``/api/v1``) and the endpoints of the
    process's chat channels, which it closes when it stops."""
    logging.getLogger("aiohttp.server").addFilter(MALFORMED)  # once, however many apps
    app = web.Application()
    app[CONTEXT] = process.ctx
    app.router.add_get("/health", health)
    api.mount(app, process.ctx, process.settings)
    if process.settings is not None and process.wechat is not None:
        wechat.mount(app, process.wechat, process.settings)
    if process.settings is not None and process.telegram is not None:
        from bot.handlers import telegram  # aiogram: only for shops on Telegram

        telegram.mount(app, process.telegram, process.settings)

    async def close(_app: web.Application) -> None:
        await process.close()

    app.on_cleanup.append(close)
    return app
