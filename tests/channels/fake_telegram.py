"""A fake Telegram Bot API server on loopback, for testing aiogram's real client over HTTP.

Point aiogram at it with ``TelegramAPIServer.from_base(fake.base_url)``. Any token shaped
``<digits>:<text>`` is accepted and the digits are the bot's id, as with Telegram. Parameters
are read the way Telegram reads them (query string, form fields, multipart, JSON body) and
typed by aiogram's own method models, so ``chat_id`` is an int, ``reply_markup`` a dict and
``text`` always a string. Telegram's own refusals are modelled where code commonly trips on
them: editing a message to the same content, answering a callback query twice or one the
fake never sent, ``getUpdates`` while a webhook is set. Not modelled: rate limits (inject
them with ``fail_next``), groups beyond a chat type, files other than photos' bytes.
"""

from __future__ import annotations

import asyncio
import copy
import html
import inspect
import itertools
import json
import re
import struct
import time
import types
import typing
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiogram.methods
from aiohttp import BodyPartReader, ClientSession, web

from core.clock import Clock
from tests.channels import loopback

MAX_UPLOAD = 50 * 2**20  # Telegram takes uploads up to 50 MB
TOKEN = re.compile(r"(\d+):[\w-]+")
INTEGER = re.compile(r"-?\d+")
DEFAULT_TOKEN = "123456789:TEST-memberbot-token"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Updates Telegram leaves out unless ``allowed_updates`` asks for them.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
UPDATE_KINDS_SKIPPED = frozenset({"update_id"})
CHAT_ACTIONS = ("send", "edit", "copy", "forward")  # method prefixes that write to a chat
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass
class Call:
    """One request as the fake understood it. ``answer`` is the JSON answered (filled in
    when a long poll returns; None while it waits)."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # by the parameter naming them
    answer: Any = None
    filenames: dict[str, str] = field(default_factory=dict)
    status: int = 200  # the HTTP status answered
    token: str = ""
    at: datetime | None = None  # when it arrived, by the fake's clock (if it has one)


class TelegramError(Exception):
    """An error answer, raised inside a handler and turned into Telegram's error JSON."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            answer["parameters"] = self.parameters
        return answer


def _leaf_types(annotation: Any) -> set[Any]:
    """The classes a field annotation allows (``int | str | None`` → {int, str, NoneType})."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(arg) for arg in typing.get_args(annotation)))
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin is not None:
        return {origin}
    return {annotation}


def _method_fields() -> dict[str, dict[str, set[Any]]]:
    """Each Bot API method's parameters and their types, from aiogram's models, so a form
    value is typed as the client meant it rather than guessed from how it looks."""
    fields: dict[str, dict[str, set[Any]]] = {}
    for name in aiogram.methods.__all__:
        model = getattr(aiogram.methods, name)
        api_method = getattr(model, "__api_method__", None)
        if isinstance(api_method, str) and hasattr(model, "model_fields"):
            fields[api_method.lower()] = {
                key: _leaf_types(info.annotation) for key, info in model.model_fields.items()
            }
    return fields


METHOD_FIELDS = _method_fields()


def _decode(value: str, leaves: set[Any] | None) -> Any:
    if leaves is None:  # a parameter aiogram does not know: go by its look
        return _json_or_text(value)
    if int in leaves and INTEGER.fullmatch(value):
        return int(value)
    if float in leaves:
        try:
            return float(value)
        except ValueError:
            pass
    if bool in leaves and value in ("true", "false"):
        return value == "true"
    structured = any(
        leaf in (list, dict) or (isinstance(leaf, type) and hasattr(leaf, "model_fields"))
        for leaf in leaves
    )
    return _json_or_text(value) if structured else value


def _json_or_text(value: str) -> Any:
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _image_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height (what our bot sends: QR codes, charts); else a guess."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return 800, 800


class FakeTelegram:
    """Start with ``async with``; point aiogram at ``base_url`` and use ``token``."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        username: str = "memberbot_test_bot",
        first_name: str = "Memberbot",
    ) -> None:
        if not TOKEN.fullmatch(token):
            raise ValueError(f"not a bot token: {token!r}")
        self._clock = clock
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.username = username
        self.first_name = first_name
        self.calls: list[Call] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._updates: list[dict[str, Any]] = []  # unconfirmed, in update_id order
        self._allowed_updates: list[str] | None = None
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._last_message_id: dict[int, int] = defaultdict(int)
        self._callbacks: dict[str, bool] = {}  # callback query id → answered
        self._blocked: set[int] = set()
        self._unknown_chats: set[int] = set()
        self._failures: dict[str, deque[TelegramError]] = defaultdict(deque)
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(4_000_000_001)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = False
        self._hold_from: int | None = None
        self._released = asyncio.Event()
        self.held = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner, self.base_url = await loopback.serve(app)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        async with self._changed:  # end waiting long polls now, not at their timeout
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # What the test sees and steers

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - reads best in a test
    ) -> list[Call]:
        """The calls to ``method`` once there are at least ``count`` (for work that runs
        after the code under test has returned, or a long poll that is now waiting)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)

    def clear(self) -> None:
        """Forget the calls so far (the fake's chats, messages and updates stay)."""
        self.calls.clear()

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every send or edit to the chat is refused with 403."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def unknown_chat(self, chat_id: int) -> None:
        """Every call naming this chat answers 400 "chat not found" (a deleted account)."""
        self._unknown_chats.add(chat_id)

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next call of ``method`` answers this error instead (calls fail in turn when
        this is called more than once); ``retry_after`` makes it a flood-control answer."""
        if description is None:
            description = DESCRIPTIONS.get(error_code, "Error")
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
        parameters = None if retry_after is None else {"retry_after": retry_after}
        self._failures[method.lower()].append(TelegramError(error_code, description, parameters))

    def hold_after(self, sends: int | None) -> None:
        """From the ``sends``-th sendMessage on, hold requests unanswered and unprocessed
        (None: process them again, the held ones too). A request whose sender is gone by
        then is dropped: it never reached Telegram, as on a network cut."""
        self._hold_from = sends
        if sends is None:
            self._released.set()
            self._released = asyncio.Event()

    def _holding(self) -> bool:
        held = self._hold_from
        return held is not None and held <= len(self.calls_to("sendMessage"))

    async def _hold(self, request: web.Request) -> None:
        async with self._changed:
            self.held += 1
            self._changed.notify_all()
        await self._released.wait()
        transport = request.transport
        if transport is None or transport.is_closing():
            raise web.HTTPServiceUnavailable()  # nobody is listening any more

    async def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(ready)

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as the chat now shows it (after edits), or None if deleted/unknown."""
        return self._messages.get((chat_id, message_id))

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for ``getUpdates`` (waking a waiting long poll)."""
        update = self._stamped(update)
        async with self._changed:
            self._updates.append(update)
            self._updates.sort(key=lambda queued: queued["update_id"])
            self._changed.notify_all()
        return update

    async def deliver(self, update: dict[str, Any], *, url: str | None = None) -> int:
        """POST an update to the webhook set (or ``url``) as Telegram does, with the secret
        token header; the HTTP status the bot answered."""
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook set")
        headers = {SECRET_HEADER: self.webhook_secret} if self.webhook_secret else {}
        async with (
            ClientSession() as session,
            session.post(target, json=self._stamped(update), headers=headers) as response,
        ):
            await response.read()
            return response.status

    # Incoming updates, as Telegram would send them

    def user(
        self, user_id: int, *, first_name: str = "Test", language_code: str | None = "en"
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        return user

    def bot_user(self, bot_id: int | None = None) -> dict[str, Any]:
        return {
            "id": self.bot_id if bot_id is None else bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def message_update(
        self,
        user_id: int,
        text: str | None,
        *,
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        contact: dict[str, Any] | None = None,
        first_name: str = "Test",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A message from the user; in their private chat unless ``chat_id`` says otherwise."""
        user = self.user(user_id, first_name=first_name, language_code=language_code)
        chat_id = user_id if chat_id is None else chat_id
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
        self._chats[chat_id] = chat
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": self._now(),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split(maxsplit=1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if contact is not None:
            message["contact"] = contact
        return self._stamped({"message": message}, update_id)

    def contact_update(
        self,
        user_id: int,
        phone: str,
        *,
        contact_user_id: int | None,
        first_name: str = "Test",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact: their own when ``contact_user_id`` is ``user_id``,
        someone else's otherwise, or a phone-book entry without Telegram (None)."""
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self.message_update(
            user_id, None, contact=contact, first_name=first_name, update_id=update_id
        )

    def callback_update(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int,
        text: str = "...",
        first_name: str = "Test",
        language_code: str | None = "en",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """The user presses a button under the bot's message ``message_id`` in their private
        chat. The message is the one the bot sent (as edited) when the fake knows it, else a
        bot message with ``text``, which the bot may then edit."""
        chat = self._chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )
        message = self._messages.get((user_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user(),
                "chat": chat,
                "date": self._now(),
                "text": text,
            }
            self._messages[(user_id, message_id)] = message
            self._last_message_id[user_id] = max(self._last_message_id[user_id], message_id)
        query_id = str(next(self._callback_ids))
        self._callbacks[query_id] = False
        query = {
            "id": query_id,
            "from": self.user(user_id, first_name=first_name, language_code=language_code),
            "message": copy.deepcopy(message),
            "chat_instance": f"-{user_id * 7 + 1000003}",
            "data": data,
        }
        return self._stamped({"callback_query": query}, update_id)

    def my_chat_member_update(
        self, user_id: int, status: str, *, first_name: str = "Test", update_id: int | None = None
    ) -> dict[str, Any]:
        """The user blocks ("kicked") or restarts ("member") the bot in their private chat.
        Only the update: call ``block``/``unblock`` to change what sends answer."""
        old = "member" if status == "kicked" else "kicked"
        chat = self._chats.setdefault(
            user_id, {"id": user_id, "type": "private", "first_name": first_name}
        )

        def member(member_status: str) -> dict[str, Any]:
            member = {"user": self.bot_user(), "status": member_status}
            if member_status == "kicked":
                member["until_date"] = 0
            return member

        change = {
            "chat": chat,
            "from": self.user(user_id, first_name=first_name),
            "date": self._now(),
            "old_chat_member": member(old),
            "new_chat_member": member(status),
        }
        return self._stamped({"my_chat_member": change}, update_id)

    # The server

    def _now(self) -> int:
        return int(self._clock.now().timestamp()) if self._clock else int(time.time())

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _stamped(self, update: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        """The update with an id (a fresh one unless given), its callback query answerable."""
        if update_id is not None:
            update = {"update_id": update_id, **update}
        elif "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        query = update.get("callback_query")
        if query is not None:
            self._callbacks.setdefault(str(query["id"]), False)
        return update

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if method.lower() == "sendmessage" and self._holding():
            await self._hold(request)
        params, files, filenames = await self._parse(request, method)
        at = self._clock.now() if self._clock else None
        call = Call(method, params, files, filenames=filenames, token=token, at=at)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
            try:
                result = self._method(call)(call)
                if inspect.isawaitable(result):  # a long poll
                    result = await result
                status, answer = 200, {"ok": True, "result": result}
            except TelegramError as error:
                status, answer = error.error_code, error.answer()
            call.status, call.answer = status, answer
            self._changed.notify_all()
        return web.json_response(answer, status=status)

    async def _parse(
        self, request: web.Request, method: str
    ) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
        fields = METHOD_FIELDS.get(method.lower(), {})
        params: dict[str, Any] = {}
        uploads: dict[str, tuple[str, bytes]] = {}
        texts: dict[str, str] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body if isinstance(body, dict) else {})
        elif request.content_type == "multipart/form-data":
            async for part in await request.multipart():
                assert isinstance(part, BodyPartReader), "nested multipart"
                data = bytes(await part.read())
                if part.filename is None:
                    texts[part.name or ""] = data.decode()
                else:
                    uploads[part.name or ""] = (part.filename, data)
        elif request.can_read_body:
            texts.update({key: str(value) for key, value in (await request.post()).items()})
        for key, value in texts.items():
            params[key] = _decode(value, fields.get(key))
        files: dict[str, bytes] = {}
        filenames: dict[str, str] = {}
        for key, value in params.items():  # aiogram names a file part by "attach://<part>"
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part in uploads:
                    filenames[key], files[key] = uploads.pop(part)
        for key, (filename, data) in uploads.items():  # uploaded under the parameter's name
            filenames[key], files[key] = filename, data
        return params, files, filenames

    def _method(self, call: Call) -> Callable[[Call], Any]:
        """The handler for the call, once the call passes Telegram's checks."""
        method = call.method.lower()
        params = call.params
        if not TOKEN.fullmatch(call.token):
            raise TelegramError(401, "Unauthorized")
        if self._failures[method]:
            raise self._failures[method].popleft()
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise TelegramError(404, "Not Found: method not found")
        chat_id = params.get("chat_id")
        if chat_id is not None:
            if not isinstance(chat_id, int) or chat_id in self._unknown_chats:
                raise TelegramError(400, "Bad Request: chat not found")
            if chat_id in self._blocked and method.startswith(CHAT_ACTIONS):
                raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return handler  # type: ignore[no-any-return]

    async def _m_getupdates(self, call: Call) -> list[dict[str, Any]]:
        """Long polling: the unconfirmed updates from ``offset`` on, waiting up to
        ``timeout`` seconds for one. Called holding ``_changed``."""
        params = call.params
        if self.webhook_url:
            raise TelegramError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = int(params.get("timeout") or 0)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        if offset < 0:  # the last -offset updates; the earlier ones are forgotten
            del self._updates[: max(len(self._updates) + offset, 0)]
        elif offset > 0:  # every update before offset is confirmed
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        def ready() -> list[dict[str, Any]]:
            return [update for update in self._updates if self._allowed(update)][:limit]

        if timeout > 0 and not ready():
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: self._closing or bool(ready()))
            except TimeoutError:
                pass
        return ready()

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = set(update) - UPDATE_KINDS_SKIPPED
        if self._allowed_updates:
            return bool(kinds & set(self._allowed_updates))
        return not kinds & NOT_BY_DEFAULT

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Test {kind}"}

    def _new_message(self, call: Call, **content: Any) -> dict[str, Any]:
        chat_id = call.params["chat_id"]
        bot_id = int(TOKEN.fullmatch(call.token)[1])  # type: ignore[index]
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user(bot_id),
            "chat": self._chat(chat_id),
            "date": self._now(),
            **{key: value for key, value in content.items() if value is not None},
        }
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # only inline keyboards show on the message
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _edited(self, call: Call, **content: Any) -> dict[str, Any] | bool:
        """The message after an edit; an edit leaves out the keyboard to remove it."""
        if call.params.get("inline_message_id"):
            return True
        key = (call.params.get("chat_id"), call.params.get("message_id"))
        message = self._messages.get(key)  # type: ignore[arg-type]
        if message is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        markup = call.params.get("reply_markup")
        edited = {**message, **content}
        edited.pop("reply_markup", None)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            edited["reply_markup"] = markup
        if edited == message:
            raise TelegramError(400, NOT_MODIFIED)
        edited["edit_date"] = self._now()
        self._messages[key] = edited  # type: ignore[index]
        return edited

    # One method each: ``_m_`` and the method name lowercased, as Telegram ignores case.

    def _m_getme(self, call: Call) -> dict[str, Any]:
        bot_id = int(TOKEN.fullmatch(call.token)[1])  # type: ignore[index]
        return {
            **self.bot_user(bot_id),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_sendmessage(self, call: Call) -> dict[str, Any]:
        text = call.params.get("text")
        if not text:
            raise TelegramError(400, "Bad Request: message text is empty")
        _check_length(str(text))
        return self._new_message(call, text=text)

    def _m_sendlocation(self, call: Call) -> dict[str, Any]:
        latitude, longitude = call.params.get("latitude"), call.params.get("longitude")
        if not all(isinstance(v, int | float) for v in (latitude, longitude)):
            raise TelegramError(400, "Bad Request: wrong latitude or longitude")
        assert isinstance(latitude, int | float) and isinstance(longitude, int | float)
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise TelegramError(400, "Bad Request: wrong latitude or longitude")
        return self._new_message(call, location={"latitude": latitude, "longitude": longitude})

    def _m_sendphoto(self, call: Call) -> dict[str, Any]:
        photo = call.params.get("photo")
        data = call.files.get("photo")
        if data is None and not (isinstance(photo, str) and photo):
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        width, height = _image_size(data) if data is not None else (800, 800)
        number = next(self._file_ids)
        sizes = []
        for index, side in enumerate((90, 320, 800, 1280)):
            scale = min(1.0, side / max(width, height))
            sizes.append(
                {
                    "file_id": f"AgACAgIAAxkBAAI{number:06d}-{index}",
                    "file_unique_id": f"AQAD{number:06d}{index}",
                    "file_size": len(data or b"") * (index + 1) // 4,
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                }
            )
            if scale == 1.0:
                break
        return self._new_message(call, photo=sizes, caption=call.params.get("caption"))

    def _m_sendchataction(self, call: Call) -> bool:
        return True

    def _m_editmessagetext(self, call: Call) -> dict[str, Any] | bool:
        if not call.params.get("text"):
            raise TelegramError(400, "Bad Request: message text is empty")
        _check_length(str(call.params["text"]))
        return self._edited(call, text=call.params.get("text"))

    def _m_editmessagereplymarkup(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call)

    def _m_deletemessage(self, call: Call) -> bool:
        key = (call.params.get("chat_id"), call.params.get("message_id"))
        if self._messages.pop(key, None) is None:  # type: ignore[arg-type]
            raise TelegramError(400, "Bad Request: message to delete not found")
        return True

    def _m_answercallbackquery(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id"))
        if self._callbacks.get(query_id, True):  # unknown or answered already
            raise TelegramError(400, QUERY_TOO_OLD)
        self._callbacks[query_id] = True
        return True

    def _commands_key(self, call: Call) -> tuple[str, str]:
        scope = call.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), call.params.get("language_code") or ""

    def _m_setmycommands(self, call: Call) -> bool:
        self.commands[self._commands_key(call)] = list(call.params.get("commands") or [])
        return True

    def _m_deletemycommands(self, call: Call) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _m_getmycommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])

    def _m_setwebhook(self, call: Call) -> bool:
        url = call.params.get("url") or ""
        if url and not url.startswith("https://"):  # Telegram only calls HTTPS webhooks
            raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook_url = url
        self.webhook_secret = call.params.get("secret_token") or None
        if call.params.get("allowed_updates") is not None:
            self._allowed_updates = list(call.params["allowed_updates"])
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_deletewebhook(self, call: Call) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getwebhookinfo(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            "max_connections": 40,
        }
        if self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        return info

    def _m_close(self, call: Call) -> bool:
        return True

    def _m_logout(self, call: Call) -> bool:
        return True


TEXT_MAX = 4096


def _check_length(text: str) -> None:
    """Telegram counts the text as shown (entities parsed), in UTF-16 code units."""
    shown = html.unescape(re.sub(r"<[^>]*>", "", text))
    if len(shown.encode("utf-16-le")) // 2 > TEXT_MAX:
        raise TelegramError(400, "Bad Request: message is too long")
