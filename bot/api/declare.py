"""One declaration per endpoint — method, path, scope, the models of its query, body and
answer, and the problems it may answer — from which both the routing and the OpenAPI
document are made, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from core.context import Context
from core.integrations.api_keys import ApiKeyView

B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[B]):
    """A request that passed its checks: the key that made it, its language, and its
    validated parts (``data``: the body, or a GET's query)."""

    ctx: Context
    key: ApiKeyView
    locale: str
    data: B
    path: Mapping[str, str]
    headers: Mapping[str, str]
    raw_body: bytes  # as sent, for the fingerprint of a request done once


@dataclass(frozen=True)
class Reply:
    answer: BaseModel
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


class Empty(BaseModel):
    """The data of a request that sends none (a GET without a query)."""


Handler = Callable[[Call[Any]], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # under /api/v1, with {name} parameters
    name: str  # the OpenAPI operationId
    summary: str
    scope: str
    handler: Handler
    answer: type[BaseModel]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    problems: tuple[int, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # request headers it reads

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


def problem_statuses(route: Route) -> tuple[int, ...]:
    """What every keyed endpoint may answer besides its own problems."""
    common: tuple[int, ...] = (401, 403, 429, 500)
    if route.body is not None or route.query is not None or route.path_params:
        common = (422, *common)
    if route.body is not None:
        common = (413, *common)
    return tuple(sorted({*route.problems, *common}))
