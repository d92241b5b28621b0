"""The channel-neutral vocabulary between adapters and dialogs."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Self, TypeVar, get_type_hints

PAYLOAD_MAX_BYTES = 512  # a sanity bound; channels with less room (Telegram) store a key
_SEPARATOR = "|"
_STAMP = "#"  # flow names are words: what follows it is the stamp
_WORD = " "  # between the fields of a ButtonValue
_INT_DIGITS_MAX = 12  # an id beyond this is no id of ours (and would overflow the database's)


@dataclass(frozen=True)
class Sender:
    """Who wrote: the chat account, plus the platform's language hint if it gives one."""

    channel: str
    user_id: str
    locale_hint: str | None = None


@dataclass(frozen=True)
class Event:
    """One thing a person did in a chat. Exactly one of the fields below ``sender`` is set
    (an empty ``text`` is an empty message)."""

    sender: Sender
    text: str = ""
    payload: str | None = None  # a pressed button (or a typed number the adapter resolved)
    menu: str | None = None  # a menu entry of the platform (WeChat CLICK key)
    phone: str | None = None  # a contact shared by the channel: the sender's own, verified
    start: str | None = None  # first contact (follow, deep link, QR scan), with its parameter
    media: str | None = None  # a message this channel cannot read (image, voice, …): its kind
    # ``text`` was sent by tapping a link or button that is not one of ours (a WeChat link
    # in someone's text, an old one): a command in it runs only once confirmed.
    tapped: bool = False
    # The platform's id of the message (MsgId, update_id): the same in a retry of it, so
    # what a retry after a crash records is what the first attempt did, not a second one.
    delivery: str | None = None

    def once_key(self) -> str:
        """A key for what this message starts (at most 32 characters): a retry of the same
        delivery gets the same key, anything else a new one."""
        if self.delivery is None:
            return secrets.token_hex(8)
        named = f"{self.sender.channel}\n{self.sender.user_id}\n{self.delivery}"
        return hashlib.sha256(named.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ButtonValue:
    """What a kind of button carries, typed: subclasses are frozen dataclasses of ``int``,
    ``str`` and ``date`` fields, packed here into a payload's value (the fields in order,
    after the class's ``prefix``) and read back here by their types; a ``__post_init__``
    may refuse what makes no sense (ValueError). So no flow parses a value by hand."""

    prefix: ClassVar[str] = ""

    def pack(self) -> str:
        words = [_word(getattr(self, f.name)) for f in dataclasses.fields(self)]
        return self.prefix + _WORD.join(words)

    @classmethod
    def unpack(cls, value: str) -> Self | None:
        """None for a value that is not one of this kind (another button's, an old one's)."""
        if not value.startswith(cls.prefix):
            return None
        fields = dataclasses.fields(cls)
        words = value.removeprefix(cls.prefix).split(_WORD)
        if len(words) != len(fields):
            return None
        types = get_type_hints(cls)
        try:
            return cls(
                **{f.name: _read(types[f.name], w) for f, w in zip(fields, words, strict=True)}
            )
        except ValueError:
            return None


def _word(value: object) -> str:
    word = value.isoformat() if isinstance(value, date) else str(value)
    if not word or _WORD in word:
        raise ValueError(f"a button value's field must be one word: {value!r}")
    return word


def _read(kind: Any, word: str) -> object:
    if kind is int:
        if not (word.isascii() and word.isdigit() and len(word) <= _INT_DIGITS_MAX):
            raise ValueError(word)
        return int(word)
    if kind is date:
        return date.fromisoformat(word)
    if not word:
        raise ValueError(word)
    return word


V = TypeVar("V", bound=ButtonValue)


@dataclass(frozen=True)
class Payload:
    """What a button does: which flow, which action, with which value. ``stamp`` names the
    conversation turn that showed a button acting on the conversation's state (set by the
    engine), so one under an older message never acts on the newest one's."""

    flow: str
    action: str
    value: str = ""
    stamp: str = ""

    def pack(self) -> str:
        flow = f"{self.flow}{_STAMP}{self.stamp}" if self.stamp else self.flow
        packed = _SEPARATOR.join((flow, self.action, self.value))
        if len(packed.encode()) > PAYLOAD_MAX_BYTES:
            raise ValueError(f"button payload longer than {PAYLOAD_MAX_BYTES} bytes: {packed!r}")
        return packed

    def read(self, kind: type[V]) -> V | None:
        """The typed value this button carries, or None when it carries no ``kind``."""
        return kind.unpack(self.value)

    def button(self, label: str) -> Button:
        """A button that sends this payload."""
        return Button(label, self.pack())

    @classmethod
    def unpack(cls, packed: str) -> Payload | None:
        """None for anything that is not a payload we made (forged or stale buttons)."""
        parts = packed.split(_SEPARATOR, 2)
        if len(parts) != 3 or not parts[0] or not parts[1]:
            return None
        flow, _, stamp = parts[0].partition(_STAMP)
        return cls(flow, parts[1], parts[2], stamp) if flow else None


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Location:
    """A place on a map (WGS-84 degrees), sent as a map pin where the channel has one
    (Telegram); elsewhere the reply's text says where it is."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Reply:
    """One message: text, optional rows of buttons, optional image (PNG bytes), optional
    map pin after it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    image: bytes | None = None
    image_name: str = "image.png"
    phone_button: str | None = None  # label of a "share my phone" button, where channels have one
    location: Location | None = None

    @property
    def choices(self) -> list[Button]:
        """All buttons in reading order (for channels that number them)."""
        return [button for row in self.buttons for button in row]


def buttons(*rows: list[Button] | tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows if row)


@dataclass
class Step:
    """What a step hands back: the replies, and the step to wait in (None ends the flow)."""

    replies: list[Reply] = field(default_factory=list)
    next: str | None = None
