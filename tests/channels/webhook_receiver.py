"""A till's side of memberbot's webhooks, on loopback: it checks every signature with the
README's few lines (``verify``, copied there verbatim: a test compares), records the
bodies it accepts, and can be told to fail first."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.clock import FixedClock
from tests.channels.loopback import serve


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """True if ``header`` (Memberbot-Signature) signs ``body`` and is under 5 minutes old."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > 300:
        return False  # a replay of an old delivery, or a clock far off
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


@dataclass
class Receiver:
    clock: FixedClock
    secret: str = ""
    failures: int = 0  # answer 500 to this many posts first
    fail_every: int = 0  # and then to every n-th post
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted bodies, in order
    posts: list[str] = field(default_factory=list)  # event id of every signed post
    answers: list[int] = field(default_factory=list)  # the status each of them got
    refused: int = 0  # posts whose signature did not verify
    runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        if port:
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", port).start()
            return f"http://127.0.0.1:{port}/hooks"
        self.runner, base = await serve(app)
        return f"{base}/hooks"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        header = request.headers.get("Memberbot-Signature", "")
        if not verify(self.secret, header, raw, now=self.clock.now().timestamp()):
            self.refused += 1
            return web.Response(status=400)
        body = json.loads(raw)
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Memberbot-Event-Id"] == body["id"]
        self.posts.append(body["id"])
        if self.failures or (self.fail_every and len(self.posts) % self.fail_every == 0):
            self.failures = max(self.failures - 1, 0)
            self.answers.append(500)
            return web.Response(status=500)
        self.received.append(body)
        self.answers.append(204)
        return web.Response(status=204)

    def types(self) -> list[str]:
        return [body["type"] for body in self.received]
