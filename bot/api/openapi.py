"""The OpenAPI 3.1 document, made from the route declarations and the pydantic models that
validate the requests and shape the answers — never written by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.api.declare import Route, problem_statuses
from bot.api.models import NO_CONTROL, Problem
from bot.api.problems import CONTENT_TYPE, TITLES

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
SECURITY = "apiKey"
ModelKey = tuple[Any, JsonSchemaMode]  # a model, and whether it is read or written


def _parameters(route: Route, schemas: dict[ModelKey, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": NO_CONTROL},
        }
        for name in route.path_params
    ]
    if route.query is not None:
        own = route.query.model_json_schema(ref_template=REF)
        required = set(own.get("required", ()))
        for name, schema in own["properties"].items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": schema}
            )
    for header, description in route.headers.items():
        params.append(
            {
                "name": header,
                "in": "header",
                "required": False,
                "description": description,
                # printable ASCII, not only spaces (bot.api.sales.key_scopes)
                "schema": {"type": "string", "maxLength": 255, "pattern": r"^[ -~]*[!-~][ -~]*$"},
            }
        )
    return params


def _operation(route: Route, schemas: dict[ModelKey, Any]) -> dict[str, Any]:
    problem = {CONTENT_TYPE: {"schema": schemas[(Problem, "serialization")]}}
    responses: dict[str, Any] = {
        str(route.status): {
            "description": route.summary,
            "content": {"application/json": {"schema": schemas[(route.answer, "serialization")]}},
        }
    }
    for status in problem_statuses(route):
        responses[str(status)] = {"description": TITLES[status], "content": problem}
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [route.path.split("/")[1]],
        "parameters": _parameters(route, schemas),
        "responses": responses,
        "security": [{SECURITY: []}],
        "x-scope": route.scope,
    }
    if route.body is not None:
        operation["requestBody"] = {  # a body of optional fields only may be left out
            "required": any(f.is_required() for f in route.body.model_fields.values()),
            "content": {"application/json": {"schema": schemas[(route.body, "validation")]}},
        }
    return operation


def document(routes: Sequence[Route], version: str) -> dict[str, Any]:
    keys: list[ModelKey] = [(Problem, "serialization")]
    for route in routes:
        keys.append((route.answer, "serialization"))
        if route.body is not None:
            keys.append((route.body, "validation"))
    unique = list(dict.fromkeys(keys))
    schemas, definitions = models_json_schema(unique, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = _operation(route, schemas)
    scheme: Literal["bearer"] = "bearer"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "memberbot till API",
            "version": version,
            "description": "Members, sales, refunds and coupons for a shop's till. Amounts "
            "are integer fen. Errors are application/problem+json (RFC 9457).",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                SECURITY: {
                    "type": "http",
                    "scheme": scheme,
                    "description": "An API key from `memberbot api-key create`.",
                }
            },
        },
    }
