"""Who calls: the bearer key of the request, and how fast it may call.

The rate limit is a token bucket per key in each worker's memory: counting in the database
would add a write to every call and make the limiter a bottleneck of its own. So with N
workers a key may make up to N times the configured rate in all; the limit is there to stop
a till's runaway retry loop, not to bill by the request."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from core.context import Context
from core.errors import ApiKeyInvalid
from core.integrations.api_keys import ApiKeyView, authenticate


async def caller(ctx: Context, request: web.Request) -> ApiKeyView:
    """The live key of ``Authorization: Bearer <key>``; ApiKeyInvalid without one."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiKeyInvalid()
    return await authenticate(ctx, key.strip())


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``rate`` calls a second per key, bursts of ``burst``; ``now`` gives seconds (the
    process's clock, so tests move time instead of waiting)."""

    def __init__(self, rate: float, burst: int, now: Callable[[], float]) -> None:
        self.rate, self.burst, self.now = rate, burst, now
        self._buckets: dict[int, _Bucket] = {}

    def wait(self, key_id: int) -> int:
        """0 when the call may go ahead (and it is counted), else the seconds to wait."""
        now = self.now()
        bucket = self._buckets.setdefault(key_id, _Bucket(float(self.burst), now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))
