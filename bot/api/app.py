"""The API's aiohttp sub-application under ``/api/v1``: each declared route behind the
caller's key, its scope and the rate limit, its data validated by its model; whatever goes
wrong answers a problem (bot.api.problems), never a traceback."""

from __future__ import annotations

import logging
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ValidationError

from bot.api import coupons, members, sales
from bot.api.auth import RateLimiter, caller
from bot.api.declare import Call, Empty, Route
from bot.api.models import NO_CONTROL
from bot.api.openapi import PREFIX, document
from bot.api.problems import api_problem, domain_problem, invalid
from bot.settings import Settings
from core.context import Context
from core.errors import DomainError, InvalidInput

ROUTES: tuple[Route, ...] = (*members.ROUTES, *sales.ROUTES, *coupons.ROUTES)
API_CONTEXT = web.AppKey("api_context", Context)
log = logging.getLogger(__name__)
CONTROL_FREE = re.compile(NO_CONTROL)


def request_locale(request: web.BaseRequest) -> str:
    """zh_CN when the caller's most wanted language is Chinese, else English."""
    best, best_q = "", 0.0
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, *params = (piece.strip() for piece in part.split(";"))
        q = next((p[2:] for p in params if p[:2].lower() == "q="), "1")
        try:
            weight = float(q)
        except ValueError:
            continue
        if tag and weight > best_q:  # q=0: "not this one"
            best, best_q = tag, weight
    return "zh_CN" if best.lower().startswith("zh") else "en"


def _check_path(request: web.Request) -> None:
    """The path parameters follow the body's rule for text (models.NO_CONTROL)."""
    for name, value in request.match_info.items():
        if not CONTROL_FREE.match(value):
            raise InvalidInput(field=name)


def _validate(route: Route, request: web.Request, raw: bytes) -> BaseModel:
    if route.body is not None:
        return route.body.model_validate_json(raw or b"{}")
    if route.query is not None:
        # A parameter given twice stays a list, refused by its model, never half read.
        query = {k: v[0] if len(v := request.query.getall(k)) == 1 else v for k in request.query}
        return route.query.model_validate(query)
    return Empty()


def _endpoint(route: Route, limiter: RateLimiter) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[API_CONTEXT]
        locale = request_locale(request)
        key = await caller(ctx, request)
        wait = limiter.wait(key.id)
        if wait:
            retry = {"Retry-After": str(wait)}
            return api_problem("rate_limited", 429, locale, retry, seconds=wait)
        key.require(route.scope)
        _check_path(request)
        raw = await request.read()
        data = _validate(route, request, raw)
        call = Call(ctx, key, locale, data, request.match_info, request.headers, raw)
        reply = await route.handler(call)
        return web.Response(
            status=reply.status,
            body=reply.answer.model_dump_json(),
            content_type="application/json",
            headers=reply.headers,
        )

    return handle


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    locale = request_locale(request)
    try:
        return await handler(request)
    except DomainError as error:
        return domain_problem(error, locale, request.app[API_CONTEXT].shop)
    except ValidationError as error:
        return invalid(error, locale)
    except web.HTTPMethodNotAllowed as error:
        allowed = ", ".join(sorted(error.allowed_methods))
        headers = {"Allow": allowed}
        return api_problem(
            "method_not_allowed", 405, locale, headers, method=request.method, allowed=allowed
        )
    except web.HTTPNotFound:
        return api_problem("no_route", 404, locale)
    except web.HTTPRequestEntityTooLarge:
        return api_problem("request_too_large", 413, locale, limit=request.client_max_size)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return api_problem("server_error", 500, locale)


def _version() -> str:
    try:
        return version("memberbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


def create_api(ctx: Context, settings: Settings | None = None) -> web.Application:
    """The sub-application; its limiter counts by the context's clock."""
    rate, burst = _limits(settings)
    limiter = RateLimiter(rate, burst, lambda: ctx.clock.now().timestamp())
    api = web.Application(middlewares=[problems])
    api[API_CONTEXT] = ctx
    for route in ROUTES:
        api.router.add_route(route.method, route.path, _endpoint(route, limiter))
    spec = document(ROUTES, _version())

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(spec)

    api.router.add_get("/openapi.json", openapi)
    return api


def _limits(settings: Settings | None) -> tuple[float, int]:
    fields: dict[str, Any] = Settings.model_fields
    if settings is None:
        return fields["api_rate_per_second"].default, fields["api_rate_burst"].default
    return settings.api_rate_per_second, settings.api_rate_burst


def mount(app: web.Application, ctx: Context, settings: Settings | None) -> None:
    app.add_subapp(PREFIX, create_api(ctx, settings))
