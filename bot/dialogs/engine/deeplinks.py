"""What a first contact carries: the parameter of a Telegram deep link (``/start PARAM``) or
of a WeChat QR code's scene.

``link-CODE`` attaches this chat account to the member who created the link code in their
profile; ``store-CODE`` names the store (by its code in the shop file) the person found us
in — a new member's home store; ``ref-CODE`` carries a member's invite code (老带新): the
new member is counted as invited by them.
"""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Turn

LINK_PREFIX, STORE_PREFIX = "link-", "store-"
REF_PREFIX = "ref-"  # core.engagement.referrals.REF_PREFIX


def start_parameter(turn: Turn) -> str:
    """The parameter: from the channel, or typed as ``/start PARAM``."""
    if turn.event.start:
        return turn.event.start.strip()
    parts = turn.text.split(maxsplit=1)
    if len(parts) == 2 and parts[0].lower() == "/start":
        return parts[1].strip()
    return ""


def link_code(turn: Turn) -> str | None:
    parameter = start_parameter(turn)
    if parameter.lower().startswith(LINK_PREFIX):
        return parameter[len(LINK_PREFIX) :]
    return None


def store_code(turn: Turn) -> str | None:
    """The store of the QR code or link, if it names one of the shop's stores."""
    parameter = start_parameter(turn)
    if not parameter.lower().startswith(STORE_PREFIX):
        return None
    code = parameter[len(STORE_PREFIX) :]
    return code if turn.ctx.shop.store(code) is not None else None


def invite_code(turn: Turn) -> str | None:
    """The invite code of a ``ref-CODE`` link or QR scene, as given (checked later)."""
    parameter = start_parameter(turn)
    if parameter.lower().startswith(REF_PREFIX):
        return parameter[len(REF_PREFIX) :]
    return None
