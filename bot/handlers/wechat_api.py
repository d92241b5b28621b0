"""Outgoing calls to the WeChat Official Account API (customer-service and template messages,
media, menus, QR codes), with the access token shared through the database.

aiohttp rather than wechatpy's client: wechatpy's client is blocking (``requests``) and its
token storage is synchronous, so every call would stall the event loop or need a thread.
aiohttp keeps each call on the loop and lets the token cache live in our own database.

The token comes from ``/cgi-bin/stable_token``, the endpoint WeChat recommends when several
processes share one account: in its normal mode it hands every caller the same token, and a
new one only in the last 5 minutes of the old one's life, when both stay valid. The forced
mode retires the old token at once and is limited to 20 calls a day, so it is used only after
WeChat rejected a token that no other process has replaced yet.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import aiohttp

from core.clock import Clock
from storage import service_messages
from storage.db import Database
from storage.tokens import load_token, save_token

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential / invalid token / expired
REFRESH_MARGIN = timedelta(minutes=5)
TIMEOUT = aiohttp.ClientTimeout(total=10)


BUSY = -1  # WeChat's "system busy": also what an answer we cannot read counts as


class WeChatAPIError(Exception):
    """An answer with a non-zero errcode (or one that cannot be read: ``BUSY``)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatAPI:
    """One Official Account's API. Errors come back as WeChatAPIError (WeChat said no) or as
    aiohttp's own exceptions (HTTP status, connection, timeout); callers decide on retries."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        app_id: str,
        app_secret: str,
        base_url: str = "https://api.weixin.qq.com",
    ) -> None:
        self._db = db
        self._clock = clock
        self._app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._token_name = f"wechat:{app_id}"
        self._token: tuple[str, datetime] | None = None
        self._lock = asyncio.Lock()  # one token refresh in flight per process
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def access_token(self) -> str:
        """A token valid for at least 5 more minutes: from memory, else from the database
        (another process may have fetched it), else from WeChat."""
        if token := self._usable(self._token):
            return token
        async with self._lock:
            if token := self._usable(self._token):  # refreshed while we waited
                return token
            stored = await load_token(self._db, self._token_name)
            if token := self._usable(stored):
                self._token = stored
                return token
            return await self._fetch_token(force_refresh=False)

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service message (allowed within 48 hours of the user's last message)."""
        await self._send_custom({"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def send_image(self, openid: str, media_id: str) -> None:
        await self._send_custom(
            {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        )

    async def _send_custom(self, body: dict[str, Any]) -> None:
        """Every customer-service message, recorded once sent: each one uses up the
        window's quota, whoever sent it (``storage.service_messages``)."""
        await self._call("/cgi-bin/message/custom/send", body=body)
        await service_messages.record(self._db, body["touser"], self._clock.now())

    async def upload_image(self, png: bytes, filename: str = "image.png") -> str:
        """Upload temporary media (kept 3 days by WeChat); the media_id to send it with."""
        answer = await self._call(
            "/cgi-bin/media/upload", params={"type": "image"}, media=(png, filename)
        )
        return _field("/cgi-bin/media/upload", answer, "media_id")

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, str], url: str | None = None
    ) -> int:
        """A template message (works outside the 48-hour window); WeChat's msgid."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id}
        if url is not None:
            body["url"] = url
        body["data"] = {key: {"value": value} for key, value in data.items()}
        answer = await self._call("/cgi-bin/message/template/send", body=body)
        return _number("/cgi-bin/message/template/send", answer, "msgid")

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self._call("/cgi-bin/menu/create", body=menu)

    async def add_conditional_menu(self, menu: dict[str, Any]) -> str:
        answer = await self._call("/cgi-bin/menu/addconditional", body=menu)
        return _field("/cgi-bin/menu/addconditional", answer, "menuid")

    async def create_qrcode(self, scene: str) -> str:
        """A permanent QR code for ``scene``; its content (a URL) to render as an image."""
        body = {
            "action_name": "QR_LIMIT_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        answer = await self._call("/cgi-bin/qrcode/create", body=body)
        return _field("/cgi-bin/qrcode/create", answer, "url")

    def _usable(self, token: tuple[str, datetime] | None) -> str | None:
        if token is None or token[1] - self._clock.now() < REFRESH_MARGIN:
            return None
        return token[0]

    async def _fetch_token(self, *, force_refresh: bool) -> str:
        """Ask WeChat (caller holds the lock) and share the answer through the database."""
        now = self._clock.now()
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._app_secret,
            "force_refresh": force_refresh,
        }
        answer = await self._post("/cgi-bin/stable_token", body=body)
        _check("/cgi-bin/stable_token", answer)
        token = _field("/cgi-bin/stable_token", answer, "access_token")
        expires_at = now + timedelta(seconds=_number("/cgi-bin/stable_token", answer, "expires_in"))
        await save_token(self._db, self._token_name, token, expires_at)
        self._token = (token, expires_at)
        return token

    async def _replace_token(self, rejected: str) -> str:
        """A token other than the one WeChat just rejected: one that a coroutine or another
        process already fetched, or else a forced new one."""
        async with self._lock:
            if self._token is not None and self._token[0] != rejected:
                return self._token[0]
            stored = await load_token(self._db, self._token_name)
            if stored is not None and stored[0] != rejected and stored[1] > self._clock.now():
                self._token = stored
                return stored[0]
            return await self._fetch_token(force_refresh=True)

    async def _call(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        media: tuple[bytes, str] | None = None,
    ) -> dict[str, Any]:
        """POST with the access token; on a token error, one retry with a replaced token."""
        token = await self.access_token()
        answer = await self._post(path, token=token, params=params, body=body, media=media)
        if answer.get("errcode") in TOKEN_ERRORS:
            log.warning(
                "WeChat %s answered %s %s; retrying with another access token",
                path,
                answer.get("errcode"),
                answer.get("errmsg"),
            )
            token = await self._replace_token(token)
            answer = await self._post(path, token=token, params=params, body=body, media=media)
        _check(path, answer)
        return answer

    async def _post(
        self,
        path: str,
        *,
        token: str | None = None,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        media: tuple[bytes, str] | None = None,
    ) -> dict[str, Any]:
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        data = None
        if media is not None:  # a fresh form per attempt: aiohttp sends a FormData only once
            data = aiohttp.FormData()
            png, filename = media  # as a stream: aiohttp warns about large bytes bodies
            data.add_field("media", io.BytesIO(png), filename=filename, content_type="image/png")
        try:
            async with self._client().post(
                self._base_url + path, params=query, json=body, data=data
            ) as response:
                # WeChat sends JSON as text/plain on some endpoints (media upload).
                answer = await response.json(content_type=None)
        except ValueError:  # not JSON: a proxy's or a gateway's page
            raise WeChatAPIError(BUSY, f"{path} answered something other than JSON") from None
        except aiohttp.ClientResponseError as exc:
            # The URL carries the access token: keep it out of messages that end up in logs.
            info = exc.request_info
            raise aiohttp.ClientResponseError(
                aiohttp.RequestInfo(
                    info.url.with_query(None),
                    info.method,
                    info.headers,
                    info.real_url.with_query(None),
                ),
                (),
                status=exc.status,
                message=exc.message,
                headers=exc.headers,
            ) from None
        except aiohttp.ServerTimeoutError as exc:  # same reason: its message may hold the URL
            raise type(exc)(f"Timeout on {self._base_url}{path}") from None
        if not isinstance(answer, dict):
            raise WeChatAPIError(BUSY, f"{path} answered JSON that is no object")
        return answer

    def _client(self) -> aiohttp.ClientSession:
        """Created on first use, inside the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT,
                raise_for_status=True,
                # Raw UTF-8 rather than \uXXXX escapes, as wechatpy sends it and WeChat expects.
                json_serialize=partial(json.dumps, ensure_ascii=False),
            )
        return self._session


def _check(path: str, answer: dict[str, Any]) -> None:
    errcode = int(answer.get("errcode") or 0)
    if errcode:
        errmsg = str(answer.get("errmsg", ""))
        log.warning("WeChat %s answered %s %s", path, errcode, errmsg)
        raise WeChatAPIError(errcode, errmsg)


def _field(path: str, answer: dict[str, Any], key: str) -> str:
    """A value WeChat's answer must carry; an answer without it is one we cannot read."""
    value = answer.get(key)
    if value is None or isinstance(value, dict | list) or not str(value).strip():
        raise WeChatAPIError(BUSY, f"{path} answered no {key}")
    return str(value)


def _number(path: str, answer: dict[str, Any], key: str) -> int:
    text = _field(path, answer, key)
    if not text.isascii() or not text.isdigit():
        raise WeChatAPIError(BUSY, f"{path} answered {key} that is no number")
    return int(text)
