"""The WeChat Official Account server endpoint: signatures, encryption, retries, deadline.

WeChat signs every request with the account's token (and, in safe mode, encrypts the body
with the EncodingAESKey); anything unsigned is refused with 403 before it is read further,
and so is a signed one whose timestamp is further than ``window`` from our clock (a
recorded request replayed later); a body whose content type is not XML with 415. XML is
checked with defusedxml first (no DTDs, so no entity expansion) and only then handed to
wechatpy.

WeChat waits 5 seconds for an answer and retries the same message three times. Each
message is claimed once by its MsgId (``storage.inbound_deliveries``); a retry gets the answer of
the first delivery, or, if the worker processing it died, is processed itself. A dialog
not done within ``reply_seconds`` is answered "success" and its reply goes out as
customer-service messages when ready; so do the messages after the first, since WeChat
takes one passive reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element

from aiohttp import ClientError, web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from wechatpy import messages
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import UnsubscribeEvent
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.parser import parse_message
from wechatpy.utils import check_signature

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.handlers.wechat_api import WeChatAPI, WeChatAPIError
from bot.handlers.wechat_messages import (
    CHANNEL,
    Choice,
    Part,
    dedup_key,
    event_for,
    link_of,
    passive_xml,
    render,
)
from bot.pushes import texts
from bot.settings import Settings
from core.context import Context
from core.people import conversations
from core.pushes import late_replies
from storage import buttons, inbound_deliveries, workers

BODY_MAX = 64 * 1024  # WeChat's messages are a few hundred bytes
XML_TYPES = frozenset({"text/xml", "application/xml"})  # WeChat posts text/xml
_REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
SUCCESS = "success"  # "received, no reply" in WeChat's protocol
WATCH_SECONDS = 0.5  # a message another worker is processing is looked at this often…
WATCH_TURNS = int((workers.LEASE + workers.BEAT).total_seconds() / WATCH_SECONDS)  # …this long
log = logging.getLogger(__name__)


class Refused(Exception):
    """A request that is not WeChat's, or not readable: answered with ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class _Job:
    """One message being processed; retries of it wait on ``answer``."""

    answer: asyncio.Future[str | None]
    waiting: int = 0


@dataclass
class WeChatEndpoint:
    ctx: Context
    dialogs: Dialogs
    api: WeChatAPI | None  # None without an app secret: no customer-service messages
    token: str
    app_id: str
    aes_key: str = ""
    reply_seconds: float = 4.0
    window: timedelta = timedelta(minutes=5)
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep  # tests move their clock
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def crypto(self) -> WeChatCrypto | None:
        return WeChatCrypto(self.token, self.aes_key, self.app_id) if self.aes_key else None

    async def verify(self, request: web.Request) -> web.Response:
        """GET: WeChat checks the URL when it is configured; echo ``echostr`` if signed."""
        try:
            self._check_signature(request)
        except Refused as refused:
            return _refusal(refused)
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        deadline = asyncio.get_running_loop().time() + self.reply_seconds
        try:
            self._check_signature(request)
            self._check_fresh(request)
            if request.content_type not in XML_TYPES:
                raise Refused(415, f"not XML: {request.content_type}")
            body = await _read_body(request)
            message = self._open(request, body)
        except Refused as refused:
            return _refusal(refused)
        if isinstance(message, UnsubscribeEvent):
            await conversations.leave(self.ctx, CHANNEL, message.source)
            return web.Response(text=SUCCESS)
        key = dedup_key(message)
        if key is None:
            return web.Response(text=SUCCESS)
        try:
            xml = await self._answer(key, message, deadline)
        except Exception:  # logged where it happened; WeChat retries after a 5xx
            return web.Response(status=503, text="try again")
        if xml is None:
            return web.Response(text=SUCCESS)
        return web.Response(text=self._seal(request, xml), content_type="application/xml")

    async def close(self) -> None:
        """Let replies already on their way finish (called when the server stops)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- requests ---------------------------------------------------------------------

    def _check_signature(self, request: web.Request) -> None:
        query = request.query
        try:
            check_signature(
                self.token, query.get("signature", ""), query["timestamp"], query["nonce"]
            )
        except (InvalidSignatureException, KeyError):
            raise Refused(403, "bad signature") from None

    def _check_fresh(self, request: web.Request) -> None:
        """The signed timestamp within ``window`` of now: a delivery is remembered longer
        than that (``storage.inbound_deliveries.KEPT``), so a replay is refused here or answered
        from its record, never processed again. (The URL check, ``verify``, changes
        nothing and is not held to it.)"""
        stamp = request.query["timestamp"]
        try:
            sent = datetime.fromtimestamp(int(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            raise Refused(403, "bad timestamp") from None
        if abs(self.ctx.now() - sent) > self.window:
            raise Refused(403, f"timestamp outside the {self.window} window")

    def _open(self, request: web.Request, body: bytes) -> messages.BaseMessage:
        """The message in the body, decrypted in safe mode (``encrypt_type=aes``)."""
        root = _safe_xml(body)
        if request.query.get("encrypt_type", "raw") == "aes":
            crypto = self.crypto
            encrypted = root.findtext("Encrypt")
            if crypto is None or not encrypted:
                raise Refused(403, "encrypted message, but no EncodingAESKey configured")
            query = request.query
            try:
                plain = crypto.decrypt_message(
                    {"Encrypt": encrypted},
                    query.get("msg_signature", ""),
                    query["timestamp"],
                    query["nonce"],
                )
            except InvalidSignatureException:
                raise Refused(403, "bad message signature") from None
            except Exception:
                raise Refused(403, "cannot decrypt (wrong EncodingAESKey or app id)") from None
            body = plain.encode()
            root = _safe_xml(body)
        _check_fields(root)
        try:
            return parse_message(body.decode())
        except (KeyError, TypeError, ValueError, AttributeError):
            raise Refused(400, "not a WeChat message") from None

    def _seal(self, request: web.Request, xml: str) -> str:
        crypto = self.crypto
        if request.query.get("encrypt_type", "raw") != "aes" or crypto is None:
            return xml
        return crypto.encrypt_message(xml, request.query["nonce"], request.query["timestamp"])

    # -- answers ----------------------------------------------------------------------

    async def _answer(self, key: str, message: messages.BaseMessage, deadline: float) -> str | None:
        """The passive reply XML, or None ("success"): nothing to say, said already, or
        coming later as customer-service messages."""
        job = self._jobs.get(key)
        if job is None:
            job = _Job(asyncio.get_running_loop().create_future())
            self._jobs[key] = job
            self._track(self._process(key, message, job))
        job.waiting += 1
        try:
            remaining = deadline - asyncio.get_running_loop().time()
            return await asyncio.wait_for(asyncio.shield(job.answer), max(remaining, 0))
        except TimeoutError:
            # Decided in the same instant the time ran out: still ours to answer.
            done = job.answer.done() and not job.answer.cancelled()
            return job.answer.result() if done and job.answer.exception() is None else None
        finally:
            job.waiting -= 1

    async def _process(self, key: str, message: messages.BaseMessage, job: _Job) -> None:
        try:
            earlier = await inbound_deliveries.claim(self.ctx.db, CHANNEL, key, self.ctx.now())
            if earlier is not None and earlier.status == inbound_deliveries.PROCESSING:
                earlier = await self._watch(key)
            if earlier is not None:
                # A retry of a message this or another process has taken.
                job.answer.set_result(
                    earlier.reply if earlier.status == inbound_deliveries.ANSWERED else None
                )
                return
            try:
                parts, choices, sender = await self._reply_parts(message, key)
                parts = await self._upload(parts)
            except BaseException:
                await inbound_deliveries.release(self.ctx.db, CHANNEL, key)
                raise
            if not parts:
                status, xml = inbound_deliveries.ANSWERED, None  # nothing to say
            elif job.waiting:  # someone still waits: the first part is the passive reply
                status, xml = inbound_deliveries.ANSWERED, passive_xml(message, parts[0])
            else:
                status, xml = inbound_deliveries.LATE, None
            # Stored before anyone sees the reply: a retry then finds its answer, and a
            # number typed back finds its choice. One write for both.
            await self._store(message.source, key, status, xml, choices, sender)
            if xml is not None and not job.waiting:
                # The deadline passed while it was stored: it goes as customer-service
                # messages after all, and a retry must not show it again.
                status, xml = inbound_deliveries.LATE, None
                await self._store(message.source, key, status, xml, None, None)
            job.answer.set_result(xml)
            if xml is not None:
                await self._send(message.source, parts[1:])
            elif status == inbound_deliveries.LATE:
                log.info("wechat reply after the deadline: sent as customer-service messages")
                await self._send(message.source, parts)
        except Exception as exc:
            if not job.answer.done():
                job.answer.set_exception(exc)
                job.answer.exception()  # retrieved: waiters see it, nobody else must
            log.exception("wechat message %s failed", key)
        finally:
            self._jobs.pop(key, None)

    async def _watch(self, key: str) -> inbound_deliveries.Delivery | None:
        """A retry of a message another worker is processing: watched for as long as a
        lease, until it is answered (its answer is this retry's too) or its worker is
        found gone (None: the message is ours now). A "success" told to WeChat meanwhile
        ends its retries, so this retry is the last chance to see the message through."""
        earlier = None
        for _ in range(WATCH_TURNS):
            await self.sleep(WATCH_SECONDS)
            earlier = await inbound_deliveries.claim(self.ctx.db, CHANNEL, key, self.ctx.now())
            if earlier is None or earlier.status != inbound_deliveries.PROCESSING:
                return earlier
        return earlier

    async def _store(
        self,
        openid: str,
        key: str,
        status: str,
        xml: str | None,
        choices: list[Choice] | None,
        sender: conversations.Arrival | None,
    ) -> None:
        """The delivery's outcome (and the choices, unless None, and the sender's arrival,
        if not recorded yet). The message is processed whatever happens here, so a failure
        is logged and the reply still goes out: it must not be processed again, and a retry
        of it is told "success"."""
        try:
            await conversations.answered(
                self.ctx,
                CHANNEL,
                openid,
                delivery=key,
                status=status,
                reply=xml,
                choices=choices,
                identity_id=sender.identity.id if sender else None,
                recording=sender.unrecorded if sender else None,
            )
        except Exception:
            log.exception("wechat message %s: its outcome could not be stored", key)

    async def _reply_parts(
        self, message: messages.BaseMessage, key: str
    ) -> tuple[list[Part], list[Choice] | None, conversations.Arrival | None]:
        """The reply's parts, the choices to store (None: the stored ones stand) and, for a
        typed message, its sender, read before the dialog for the choices it numbers."""
        sender = None
        shown = conversations.Shown([])
        scope = conversations.link_scope(CHANNEL, message.source)
        if message.type in ("text", "voice"):
            sender = await conversations.arrival(self.ctx, CHANNEL, message.source, defer=True)
            shown = sender.shown
        linked = None
        if (link := link_of(message)) is not None:
            linked = await buttons.find_link(self.ctx.db, scope, link)
        event = event_for(message, shown.choices, linked)
        if event is None:
            return [], None, sender
        event = replace(event, delivery=key)
        parts, choices = render(await self.dialogs.handle(event, sender), scope)
        if not (choices or shown.choices) or shown.unchanged(choices, self.ctx.now()):
            return parts, None, sender
        return parts, choices, sender

    async def _upload(self, parts: list[Part]) -> list[Part]:
        """Images uploaded as temporary media; one that cannot be is left out."""
        ready: list[Part] = []
        for part in parts:
            if part.image is None:
                ready.append(part)
            elif self.api is None:
                log.warning("wechat image reply dropped: no app secret configured")
            else:
                try:
                    media_id = await self.api.upload_image(part.image, part.image_name)
                except (WeChatAPIError, ClientError, TimeoutError) as exc:
                    log.warning("wechat image upload failed: %s", exc)
                    continue
                ready.append(replace(part, media_id=media_id))
        return ready

    async def _send(self, openid: str, parts: list[Part]) -> None:
        """Customer-service messages, in order. One WeChat refuses (busy, rate limited,
        window closed) goes through the outbox with the ones after it, so they still
        arrive, in order, when the dispatcher may send them."""
        for index, part in enumerate(parts):
            if self.api is None:
                log.warning("wechat reply dropped: no app secret for customer-service messages")
                return
            try:
                if part.media_id is None:
                    await self.api.send_text(openid, part.text)
                else:
                    await self.api.send_image(openid, part.media_id)
            except (WeChatAPIError, ClientError, TimeoutError) as exc:
                await self._send_later(openid, parts[index:], f"wechat: {exc}")
                return

    async def _send_later(self, openid: str, parts: list[Part], reason: str) -> None:
        replies = [Reply(part.text, image=part.image, image_name=part.image_name) for part in parts]
        kept = texts.reply_params(replies)
        await late_replies.send_later(
            self.ctx, CHANNEL, openid, kept, at=self.ctx.now(), reason=reason
        )
        log.warning(
            "wechat customer-service message failed (%s): %d go as pushes", reason, len(kept)
        )

    def _track(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _refusal(refused: Refused) -> web.Response:
    log.warning("wechat request refused: %s", refused)
    return web.Response(status=refused.status, text=str(refused))


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > BODY_MAX:
        raise Refused(413, "body too large")
    body = bytearray()
    async for chunk in request.content.iter_chunked(8192):
        body += chunk
        if len(body) > BODY_MAX:
            raise Refused(413, "body too large")
    return bytes(body)


def _check_fields(root: Element) -> None:
    """What every WeChat message has, in the form wechatpy converts without failing."""
    fields = {name: (root.findtext(name) or "").strip() for name in _REQUIRED}
    if not all(fields.values()) or not fields["CreateTime"].isdigit():
        raise Refused(400, "not a WeChat message")
    if not (root.findtext("MsgId") or "0").strip().isdigit():
        raise Refused(400, "not a WeChat message")


def _safe_xml(body: bytes) -> Element:
    """The parsed XML if it is a plain ``<xml>`` document: no DTD, no entities."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        raise Refused(400, "malformed or unsafe XML") from None
    if root.tag != "xml":
        raise Refused(400, "not a WeChat message")
    return root


def connect(ctx: Context, dialogs: Dialogs, settings: Settings) -> WeChatEndpoint:
    """The endpoint of the settings' official account, with an API client when its app id
    and secret are given (customer-service messages and pushes need one)."""
    api = None
    if settings.wechat_app_id and settings.wechat_app_secret.get_secret_value():
        api = WeChatAPI(
            ctx.db,
            ctx.clock,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret.get_secret_value(),
            base_url=settings.wechat_api_base,
        )
    return WeChatEndpoint(
        ctx,
        dialogs,
        api,
        token=settings.wechat_token.get_secret_value(),
        app_id=settings.wechat_app_id,
        aes_key=settings.wechat_encoding_aes_key.get_secret_value(),
        reply_seconds=settings.wechat_reply_seconds,
        window=timedelta(seconds=settings.replay_window_seconds),
    )


def mount(app: web.Application, endpoint: WeChatEndpoint, settings: Settings) -> None:
    """Serve the endpoint at ``settings.wechat_path``."""
    app.router.add_get(settings.wechat_path, endpoint.verify)
    app.router.add_post(settings.wechat_path, endpoint.receive)
