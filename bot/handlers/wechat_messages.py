"""Translation between WeChat messages and dialog events and replies — no HTTP, no state.

Dialog buttons become numbered choices, each a ``weixin://bizmsgmenu`` link: tapping one
sends its label back as a text message carrying ``bizmsgmenuid``, the link's key
(``storage.buttons.link_key``), so a link of an older message does its own choice, not the
newest message's; typing the number or the label picks from the newest message's choices.
Consecutive text replies are joined into one message, since WeChat allows one passive reply
and extra messages cost customer-service quota.

WeChat reads ``<a …>`` in a text as a link (to a page, a mini program, or a message to send
as the reader), and documents no way to escape it. Replies are plain text, with what people
typed in them (feedback, names, answers), so their angle brackets go out as the full-width
``＜ ＞``, which read alike and are never markup: the only links are the choices' own.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from wechatpy import events, messages
from wechatpy.replies import ImageReply, TextReply

from bot.dialogs.engine.types import Event, Reply, Sender
from bot.handlers import long_text
from core.shop import Shop
from storage import buttons

CHANNEL = "wechat"
TEXT_MAX_BYTES = 2048  # WeChat's limit for a text message, passive or customer-service
MEDIA_TYPES = ("image", "voice", "video", "shortvideo", "location", "link", "file")

Choice = tuple[str, str]  # (label, payload)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """One WeChat message to send: text with its choices already written in, or an image."""

    text: str = ""
    image: bytes | None = None
    image_name: str = "image.png"
    media_id: str | None = None  # the image once uploaded as temporary media


def dedup_key(message: messages.BaseMessage) -> str | None:
    """WeChat's retries carry the same MsgId; events have none, so the sender and
    CreateTime (and the event) identify them. None for what we do not take."""
    if isinstance(message, events.BaseEvent):
        # Two menu clicks in one second are two events; a retry repeats the key too.
        # The sender as a digest: a delivery kept to stop retries names no one.
        sender = hashlib.sha256(message.source.encode()).hexdigest()[:16]
        key = f"event:{sender}:{message.create_time.timestamp():.0f}:{message.event}"
        return f"{key}:{message._data['EventKey']}" if message._data.get("EventKey") else key
    if isinstance(message, messages.UnknownMessage) and _type(message) not in MEDIA_TYPES:
        return None  # a "file" is unknown to wechatpy, but a member sent it: it is answered
    return f"msg:{message.id}" if message.id else None


def link_of(message: messages.BaseMessage) -> str | None:
    """The key of the link whose tap sent this message; None for a typed one."""
    picked = str(message._data.get("bizmsgmenuid") or "").strip()
    return picked or None


def event_for(
    message: messages.BaseMessage, choices: list[Choice], linked: str | None = None
) -> Event | None:
    """The dialog event of a message, or None when there is nothing to answer (menu links
    opened, location reports, unsubscribes — handled by the caller — unknown types).
    ``linked`` is the payload of the tapped link (``link_of``), when it is one of ours."""
    sender = Sender(CHANNEL, message.source)
    if isinstance(message, messages.TextMessage):
        return _text_event(sender, message, choices, linked=linked)
    if isinstance(message, messages.VoiceMessage) and message.recognition:
        # WeChat's speech recognition ends a sentence with "。": "同意。" means "同意".
        said = message.recognition.strip().rstrip("。.！!？?，,")
        if said:
            return _text_event(sender, message, choices, text=said)
    if isinstance(message, (events.SubscribeScanEvent, events.ScanEvent)):
        return Event(sender, start=message.scene_id or "")
    if isinstance(message, (events.SubscribeEvent, events.SubscribeScanProductEvent)):
        return Event(sender, start="")  # a product scan's follow is a follow
    if isinstance(message, events.ClickEvent):
        return Event(sender, menu=message.key)
    if _type(message) in MEDIA_TYPES:  # a voice WeChat could not recognise too
        return Event(sender, media=_type(message))
    return None


def _type(message: messages.BaseMessage) -> str:
    """The MsgType as sent: wechatpy calls the types it has no class for "unknown"."""
    return str(message._data.get("MsgType") or message.type).lower()


def _text_event(
    sender: Sender,
    message: messages.BaseMessage,
    choices: list[Choice],
    text: str = "",
    linked: str | None = None,
) -> Event:
    text = text or message.content or ""
    typed = text.strip()
    if link_of(message) is not None:
        # A tapped link means its own choice; one that is not ours (forged, or from before
        # links had keys) is said to be no longer valid, and a command in it is confirmed.
        if linked is not None:
            return Event(sender, payload=linked)
        return Event(sender, text=text, tapped=True)
    if typed.isdigit() and 1 <= int(typed) <= len(choices):
        return Event(sender, payload=choices[int(typed) - 1][1])
    for label, payload in choices:
        if typed and typed.casefold() == label.casefold():
            return Event(sender, payload=payload)
    return Event(sender, text=text)


def render(replies: list[Reply], scope: str) -> tuple[list[Part], list[Choice]]:
    """The messages to send to the chat account ``scope`` (``conversations.link_scope``),
    and the choices they number (in order, from 1)."""
    parts: list[Part] = []
    choices: list[Choice] = []
    blocks: list[str] = []
    for reply in replies:
        lines = [plain(reply.text)] if reply.text else []
        for button in reply.choices:
            choices.append((button.label, button.payload))
            key = buttons.link_key(scope, button.payload)
            lines.append(_choice_line(len(choices), button.label, key))
        blocks.append("\n".join(lines))
        if reply.image is not None:
            parts.append(Part(text="\n\n".join(filter(None, blocks))))
            parts.append(Part(image=reply.image, image_name=reply.image_name))
            blocks = []
    parts.append(Part(text="\n\n".join(filter(None, blocks))))
    return [
        piece
        for part in parts
        for piece in _within_limit(part)
        if piece.image is not None or piece.text
    ], choices


def _within_limit(part: Part) -> list[Part]:
    """A text part over WeChat's limit as several (the first is the passive reply, the
    rest go as customer-service messages)."""
    if part.image is not None:
        return [part]
    return [Part(text=t) for t in long_text.split(part.text, TEXT_MAX_BYTES, long_text.utf8_bytes)]


def plain(text: str) -> str:
    """``text`` as WeChat shows it, never as markup (see the module's docstring)."""
    return text.translate(_PLAIN)


_MARKUP = {"<": "＜", ">": "＞"}
_PLAIN = str.maketrans(_MARKUP)
_IN_LINK = str.maketrans(_MARKUP | {"&": "＆", '"': "＂"})  # nor the link's own syntax


def _choice_line(number: int, label: str, key: str) -> str:
    """A numbered link. Its label may hold what someone typed (a member's name among
    candidates): with no character of markup or of the link's own syntax in it, it can
    neither end the link early nor add a second ``msgmenuid``."""
    shown = label.translate(_IN_LINK)
    link = f"weixin://bizmsgmenu?msgmenucontent={shown}&msgmenuid={key}"
    return f'{number}) <a href="{link}">{shown}</a>'


def passive_xml(message: messages.BaseMessage, part: Part) -> str:
    """The XML of a passive reply to ``message``."""
    if part.media_id is not None:
        return ImageReply(message=message, media_id=part.media_id).render()
    # wechatpy writes CDATA as is: a "]]>" in a member's text must not end it early.
    content = part.text.replace("]]>", "]]]]><![CDATA[>")
    return TextReply(message=message, content=content).render()


@dataclass(frozen=True)
class TemplateMessage:
    template_id: str
    data: dict[str, str]
    url: str | None


class _Blank(dict[str, str]):
    """A placeholder the push does not have stays empty rather than failing the push."""

    def __missing__(self, key: str) -> str:
        log.warning("wechat template placeholder {%s} has no value", key)
        return ""


def template_data(shop: Shop, kind: str, values: dict[str, str]) -> TemplateMessage | None:
    """The template message for a push kind, or None when the shop configured none."""
    template = shop.wechat.templates.get(kind)
    if template is None or not template.id:
        return None
    data = {field: text.format_map(_Blank(values)) for field, text in template.fields.items()}
    return TemplateMessage(template.id, data, template.url or None)
