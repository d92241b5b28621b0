"""A fake Telegram Bot API for the benchmarks: answers what memberbot and aiogram call with
the least work (no validation, unlike the tests' fake), counts the calls, and can enforce a
flood limit — more than ``limit`` calls in any one second are answered 429. ``GET /stats``
tells the counts.

Run apart, as Telegram is, when the benchmark's own process is what is measured (the push
dispatcher): ``python -m bench.fake_bot_api PORT [LIMIT]``.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

from aiohttp import web

TOKEN = "123456:BENCHbenchBENCHbenchBENCHbenchBENCHb"


class FakeBotAPI:
    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.sent = 0
        self.refused = 0
        self.sent_at: list[float] = []
        self._window: deque[float] = deque()
        self._message_id = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/stats", self._stats)
        return app

    async def start(self, port: int) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"sent": self.sent, "refused": self.refused, "sent_at": self.sent_at}
        )

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        if method == "getme":
            return _ok({"id": 123456, "is_bot": True, "first_name": "Bench", "username": "b"})
        if method not in ("sendmessage", "sendphoto", "editmessagetext"):
            return _ok(True)
        now = time.monotonic()
        if self.limit is not None:
            while self._window and self._window[0] <= now - 1:
                self._window.popleft()
            if len(self._window) >= self.limit:
                self.refused += 1
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    },
                    status=429,
                )
            self._window.append(now)
        form = await request.post() if request.content_type != "application/json" else {}
        data: dict[str, Any] = dict(form) if form else await _json(request)
        self.sent += 1
        self.sent_at.append(now)
        self._message_id += 1
        chat = int(data.get("chat_id", 0))
        return _ok(
            {
                "message_id": self._message_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": str(data.get("text", "")),
            }
        )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def main(port: int, limit: int | None) -> None:
    web.run_app(FakeBotAPI(limit).app(), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
