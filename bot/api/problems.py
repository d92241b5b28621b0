"""Errors as RFC 9457 problem details (``application/problem+json``): a stable ``type`` per
code, a title, the status, the detail in the caller's language (``describe``, as the chat
and the command line say it), and the error's params as extension members."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from bot.api.field_messages import field_message
from bot.api.models import FieldError, Problem
from bot.error_texts import describe
from bot.i18n import N_, gettext
from core.errors import (
    ApiKeyInvalid,
    DomainError,
    InvalidInput,
    NotAllowed,
    NotFound,
    OtherStore,
    ScopeMissing,
)
from core.shop import Shop

TYPE_BASE = "https://memberbot.dev/problems/"
CONTENT_TYPE = "application/problem+json"

TITLES: dict[int, str] = {
    400: N_("Bad request"),
    401: N_("Not authenticated"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    422: N_("Invalid request"),
    429: N_("Too many requests"),
    500: N_("Server error"),
}

# Problems of the API itself, not of the shop's rules.
DETAILS: dict[str, str] = {
    "invalid_request": N_("The request is not valid: {fields}."),
    "no_route": N_("There is no such endpoint."),
    "method_not_allowed": N_("This endpoint does not take {method} (it takes {allowed})."),
    "request_too_large": N_("The request is larger than the {limit} bytes allowed."),
    "rate_limited": N_("Too many requests with this key; try again in {seconds} s."),
    "server_error": N_("Something went wrong on our side; nothing was changed."),
}


def status_of(error: DomainError) -> int:
    if isinstance(error, ApiKeyInvalid):
        return 401
    if isinstance(error, ScopeMissing | OtherStore | NotAllowed):
        return 403
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidInput):
        return 422
    return 409  # the request is fine; the shop's state refuses it (used, taken, too large)


def _respond(problem: Problem, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=problem.status,
        body=problem.model_dump_json(exclude_none=True),
        content_type=CONTENT_TYPE,
        headers=headers,
    )


def _problem(code: str, status: int, detail: str, locale: str, **extra: Any) -> Problem:
    return Problem(
        type=TYPE_BASE + code,
        title=gettext(locale, TITLES[status]),
        status=status,
        detail=detail,
        code=code,
        **extra,
    )


def _plain(value: Any) -> Any:
    """JSON as the answers write it: a time is ISO 8601 (``2026-01-05T02:00:00Z``)."""
    return to_jsonable_python(value, fallback=str)


# The request field a core error without a ``field`` param is about.
FIELDS = {"invalid_phone": "phone", "invalid_birthday": "birthday", "invalid_amount": "amount_fen"}


def domain_problem(error: DomainError, locale: str, shop: Shop) -> web.Response:
    status = status_of(error)
    detail = describe(error, locale, shop)
    params = {k: _plain(v) for k, v in error.params.items() if k not in Problem.model_fields}
    if isinstance(error, InvalidInput):
        field = str(error.params.get("field") or FIELDS.get(error.code, "body"))
        params["errors"] = [FieldError(field=field, message=detail)]
    problem = _problem(error.code, status, detail, locale, **params)
    return _respond(problem, {"WWW-Authenticate": "Bearer"} if status == 401 else None)


def api_problem(
    code: str, status: int, locale: str, headers: dict[str, str] | None = None, **params: Any
) -> web.Response:
    detail = gettext(locale, DETAILS[code], **params)
    return _respond(_problem(code, status, detail, locale), headers)


def invalid(error: ValidationError, locale: str, where: str = "") -> web.Response:
    """422 naming each field: ``lines.0.amount_fen``; the JSON itself: ``body``."""
    errors = [
        FieldError(
            field=".".join(str(p) for p in e["loc"]) or where or "body",
            message=field_message(e, locale),
        )
        for e in error.errors(include_url=False)
    ]
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    detail = gettext(locale, DETAILS["invalid_request"], fields=fields)
    return _respond(_problem("invalid_request", 422, detail, locale, errors=errors))
