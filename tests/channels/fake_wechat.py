"""A fake WeChat API server on loopback, for testing our client over real HTTP.

Tokens behave like ``/cgi-bin/stable_token``: the normal mode returns the current token
while more than 5 minutes of it remain, else issues a new one (the old one stays valid until
it expires); ``force_refresh`` issues a new one and retires every other at once. Tokens
expire by the test's clock. Not modelled: forced refreshes being limited to 20 a day and
to one per 30 seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from core.clock import Clock
from tests.channels import loopback

TOKEN_LIFETIME = timedelta(seconds=7200)
NEW_TOKEN_WINDOW = timedelta(minutes=5)
STABLE_TOKEN = "/cgi-bin/stable_token"
MAX_UPLOAD = 10 * 2**20  # WeChat takes images up to 10 MB


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    path: str
    query: dict[str, str]
    json: Any = None  # the parsed JSON body
    raw: bytes = b""  # the JSON body as sent
    uploads: list[Upload] = field(default_factory=list)  # a multipart body's files
    answer: Any = None  # the JSON answered (None for an HTTP error)

    @property
    def files(self) -> dict[str, bytes]:
        return {upload.field: upload.data for upload in self.uploads}


class FakeWeChat:
    """Start with ``async with``; point the client at ``base_url``. Without ``app_id`` and
    ``app_secret`` any credentials get a token."""

    def __init__(
        self, clock: Clock, *, app_id: str | None = None, app_secret: str | None = None
    ) -> None:
        self._clock = clock
        self._app_id = app_id
        self._app_secret = app_secret
        self.calls: list[Call] = []
        self.tokens_issued = 0
        self._valid: dict[str, datetime] = {}  # token → expiry
        self._current: str | None = None
        self._failures: dict[str, deque[tuple[int, int]]] = defaultdict(deque)
        self._raw: dict[str, deque[str]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._media_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeWeChat:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_post("/{path:.*}", self._handle)
        self._runner, self.base_url = await loopback.serve(app)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, path: str, errcode: int) -> None:
        """The next call to ``path`` answers ``errcode`` instead of its usual answer (calls
        fail in turn when this is called more than once)."""
        self._failures[path].append((200, errcode))

    def fail_next_http(self, path: str, status: int) -> None:
        """The next call to ``path`` gets this HTTP error status, as from a broken gateway."""
        self._failures[path].append((status, 0))

    def answer_next_raw(self, path: str, text: str) -> None:
        """The next call to ``path`` gets ``text`` with status 200, whatever it is (a
        gateway's HTML page, JSON of another shape)."""
        self._raw[path].append(text)

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    async def wait_for_calls(
        self,
        path: str,
        count: int = 1,
        timeout: float = 5,  # noqa: ASYNC109 - reads best in a test
    ) -> list[Call]:
        """The calls to ``path`` once there are at least ``count`` (for work that finishes
        after the code under test has answered, e.g. a late customer-service message)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(path)) >= count)
        return self.calls_to(path)

    def reset_token(self) -> str:
        """Retire every token for a new one, as a forced refresh by someone who shares the
        secret but not our database would (an admin tool, WeChat's own debugger)."""
        return self._new_token(retire_others=True)

    def is_valid(self, token: str | None) -> bool:
        expires_at = self._valid.get(token or "")
        return expires_at is not None and self._clock.now() < expires_at

    async def _handle(self, request: web.Request) -> web.Response:
        call = await self._parse(request)
        if self._raw[call.path]:
            text = self._raw[call.path].popleft()
            async with self._changed:
                self.calls.append(call)
                self._changed.notify_all()
            return web.Response(text=text, content_type="text/html")
        status, answer = self._respond(call)
        async with self._changed:
            self.calls.append(replace(call, answer=answer))
            self._changed.notify_all()
        if status != 200:
            return web.Response(status=status, text="fake WeChat: no answer")
        return web.json_response(answer)

    async def _parse(self, request: web.Request) -> Call:
        query = dict(request.query)
        if request.content_type != "multipart/form-data":
            raw = await request.read()
            return Call(request.path, query, json.loads(raw) if raw else None, raw)
        uploads = []
        async for part in await request.multipart():
            assert isinstance(part, BodyPartReader), "nested multipart"
            content_type = part.headers.get(hdrs.CONTENT_TYPE, "")
            data = await part.read()
            uploads.append(Upload(part.name or "", part.filename, content_type, bytes(data)))
        return Call(request.path, query, uploads=uploads)

    def _respond(self, call: Call) -> tuple[int, Any]:
        if self._failures[call.path]:
            status, errcode = self._failures[call.path].popleft()
            if status != 200:
                return status, None
            return 200, {"errcode": errcode, "errmsg": "failure set by the test"}
        if call.path == STABLE_TOKEN:
            return 200, self._stable_token(call.json)
        if not self.is_valid(call.query.get("access_token")):
            return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        answer = self._answer(call)
        return (404, None) if answer is None else (200, answer)

    def _stable_token(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if self._app_id is not None and body.get("appid") != self._app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if self._app_secret is not None and body.get("secret") != self._app_secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if not body.get("force_refresh") and self._current in self._valid:
            left = self._valid[self._current] - self._clock.now()
            if left > NEW_TOKEN_WINDOW:
                return {"access_token": self._current, "expires_in": int(left.total_seconds())}
        token = self._new_token(retire_others=bool(body.get("force_refresh")))
        return {"access_token": token, "expires_in": int(TOKEN_LIFETIME.total_seconds())}

    def _new_token(self, *, retire_others: bool) -> str:
        if retire_others:
            self._valid.clear()
        self.tokens_issued += 1
        self._current = f"TOKEN-{self.tokens_issued}"
        self._valid[self._current] = self._clock.now() + TOKEN_LIFETIME
        return self._current

    def _answer(self, call: Call) -> dict[str, Any] | None:
        ok = {"errcode": 0, "errmsg": "ok"}
        match call.path:
            case "/cgi-bin/message/custom/send" | "/cgi-bin/menu/create":
                return ok
            case "/cgi-bin/message/template/send":
                return {**ok, "msgid": 200228000 + next(self._ids)}
            case "/cgi-bin/menu/addconditional":
                return {"menuid": str(208379000 + next(self._ids))}
            case "/cgi-bin/media/upload":
                fields = [upload.field for upload in call.uploads]
                if call.query.get("type") != "image" or fields != ["media"]:
                    return {"errcode": 40004, "errmsg": "invalid media type"}
                return {
                    "type": "image",
                    "media_id": f"MEDIA-{next(self._media_ids)}",
                    "created_at": int(self._clock.now().timestamp()),
                }
            case "/cgi-bin/qrcode/create":
                scene = call.json["action_info"]["scene"]["scene_str"]
                return {
                    "ticket": f"TICKET-{next(self._ids)}",
                    "expire_seconds": None,
                    "url": f"http://weixin.qq.com/q/{scene}",
                }
        return None
