"""What the engine does for a conversation waiting in a step, whatever the flow: the words
that leave it, the hint saying so under every question that waits (a chat with staff says
it in its own words), and the step's buttons kept so that a refusal shows them again and a
typed number, label or "yes" still picks one.

A step declares what it expects (``Expects``): a choice among its buttons, a number, a
date, or free text. Only free text takes any message as its answer; the other kinds let a
confident keyword of another flow start that flow (``Dialogs._route``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from enum import StrEnum
from typing import Any

from bot.dialogs.engine.types import Button, Payload, Reply
from bot.i18n import N_, gettext

CANCEL, MENU = "cancel", "menu"  # what ``leaving`` finds
CHOICES = "_choices"  # in a conversation's data: the buttons its step last showed
YES, NO, SKIP = "yes", "no", "skip"  # the values of the Yes / No / Skip buttons of every flow
HINT = N_('(reply "cancel" to leave)')
CANCELLED = N_("Cancelled; nothing was changed.")

CANCEL_WORDS = frozenset({"取消", "cancel", "退出", "quit", "exit"})
MENU_WORDS = frozenset({"菜单", "menu", "返回", "back", "帮助", "help", "主菜单"})
YES_WORDS = frozenset(
    {"是", "是的", "对", "对的", "好", "好的", "确认", "确定", "yes", "y", "ok", "okay", "sure"}
)
NO_WORDS = frozenset({"不", "不是", "否", "不要", "不用", "no", "n", "nope"})
SKIP_WORDS = frozenset({"跳过", "略过", "不填", "skip", "pass"})
VALUE_WORDS = ((YES, YES_WORDS), (NO, NO_WORDS), (SKIP, SKIP_WORDS))


class Expects(StrEnum):
    """What a waiting step takes as its answer."""

    CHOICE = "choice"  # one of its buttons (typed: its number, its label, yes/no)
    NUMBER = "number"
    DATE = "date"  # its buttons (a Skip) count as choices too
    TEXT = "text"  # any message: nothing else is read into it
    CHAT = "chat"  # any message, as with TEXT, and staying is its normal outcome (a chat)

    @property
    def free(self) -> bool:
        """Any message is an answer: none is read as a choice or as another flow."""
        return self in (Expects.TEXT, Expects.CHAT)


def _plain(text: str) -> str:
    """``text`` as compared with words and labels: case, width and punctuation aside."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = (c for c in folded if not unicodedata.category(c).startswith(("P", "S", "Z")))
    return "".join(kept)


def leaving(text: str) -> str | None:
    """ "cancel" or "menu" when ``text`` is one of the words that leave any step."""
    word = _plain(text)
    if word in CANCEL_WORDS:
        return CANCEL
    if word in MENU_WORDS:
        return MENU
    return None


def with_hint(replies: list[Reply], locale: str) -> list[Reply]:
    """The replies of a step that waits for an answer, the last one saying how to leave
    (once: a reply that already says it is left as it is)."""
    hint = gettext(locale, HINT)
    if not replies or any(hint in reply.text for reply in replies):
        return replies
    last = replies[-1]
    return [*replies[:-1], replace(last, text=f"{last.text}\n{hint}" if last.text else hint)]


def kept(replies: list[Reply]) -> list[list[str]]:
    """The buttons of a step's replies, as a conversation's data keeps them."""
    return [[b.label, b.payload] for reply in replies for b in reply.choices]


def shown_again(replies: list[Reply], data: dict[str, Any]) -> list[Reply]:
    """A refusal without buttons, given the buttons the step showed last."""
    stored = data.get(CHOICES) or []
    if not stored or not replies or any(reply.choices for reply in replies):
        return replies
    again = tuple((Button(str(label), str(payload)),) for label, payload in stored)
    return [*replies[:-1], replace(replies[-1], buttons=again)]


def typed_choice(text: str, data: dict[str, Any], expects: Expects) -> str | None:
    """The payload of the kept button that typed ``text`` picks: its number (in a choice
    or date step: no number is an answer there), its label, or a yes/no/skip word for the
    one Yes, No or Skip button."""
    stored = [(str(label), str(payload)) for label, payload in data.get(CHOICES) or []]
    typed = _plain(text)
    if not stored or not typed or expects.free:
        return None
    if expects in (Expects.CHOICE, Expects.DATE) and typed.isdigit():
        number = int(typed)
        return stored[number - 1][1] if 1 <= number <= len(stored) else None
    for label, payload in stored:
        if typed == _plain(label):
            return payload
    if expects not in (Expects.CHOICE, Expects.DATE):
        return None
    value = next((value for value, words in VALUE_WORDS if typed in words), None)
    matching = [p for _, p in stored if (read := Payload.unpack(p)) and read.value == value]
    return matching[0] if value is not None and len(matching) == 1 else None
