"""What the staff commands share: finding the member a typed reference means (offering
candidates instead of guessing), the store a command is for, and how a member is named."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import ClassVar

from bot.dialogs.engine.dialogs import Turn
from bot.dialogs.engine.types import ButtonValue, Payload, Reply, Step, buttons
from bot.names import store_label
from core.errors import InvalidPhone, UnknownMember
from core.people.members import (
    MemberView,
    get_member,
    mask_phone,
    normalize_phone,
    parse_member_no,
    resolve_member,
)
from core.people.staff import Role


@dataclass(frozen=True)
class MemberPick(ButtonValue):
    """A candidate button's value: the member it names."""

    prefix: ClassVar[str] = "member:"
    member_id: int


def member_line(turn: Turn, member: MemberView) -> str:
    """Name, number and phone — masked for clerks, who see many customers' phones."""
    staff = turn.staff
    phone = member.phone or ""
    if staff is None or not staff.role.allows(Role.MANAGER):
        phone = mask_phone(member.phone)
    return f"{member.name} ({member.member_no}{', ' + phone if phone else ''})"


async def find_member(turn: Turn, flow: str, step: str, reference: str) -> MemberView | Step:
    """The member ``reference`` names, or a step offering the candidates it may mean (each
    a button that comes back to ``step``), or an error when it matches nobody."""
    picked = turn.payload.read(MemberPick) if turn.payload else None
    if picked is not None:
        return await get_member(turn.ctx, picked.member_id)
    lookup = await resolve_member(turn.ctx, reference)
    if lookup.member is not None:
        return lookup.member
    if not lookup.candidates:
        raise UnknownMember(member=reference)
    choices = [
        Payload(flow, step, MemberPick(m.id).pack()).button(member_line(turn, m))
        for m in lookup.candidates
    ]
    text = turn._("Which member do you mean by “{reference}”?", reference=reference[:40])
    return Step([Reply(text, buttons(*([c] for c in choices)))], next=step)


def split_reference(words: list[str], is_value: Callable[[str], bool]) -> tuple[str, list[str]]:
    """``Li Lei +50 …``: the member reference is every word before the first value after it
    (a name may have spaces), or just the first word when that is a member number or a
    phone — with the words a phone is typed in (``138 0013 8000``, ``+86 138-0013-8000``);
    the words after it come back as they are, for the command to check."""
    first = words[0] if words else ""
    if first[:1] in "+＋(（" or first[:1].isdecimal() or parse_member_no(first):
        # The fewest words that make a phone: "+1 4155550100 12" leaves 12 as the amount.
        limit = min(len(words), PHONE_WORDS_MAX)
        at = next((n for n in range(1, limit + 1) if _phone(words[:n])), 1)
    else:
        at = next((i for i in range(1, len(words)) if is_value(words[i])), len(words))
    return " ".join(words[:at]), words[at:]


PHONE_WORDS_MAX = 4  # +86 138 0013 8000


def _phone(words: list[str]) -> bool:
    with suppress(InvalidPhone):
        return bool(normalize_phone(" ".join(words)))
    return False


def store_name(turn: Turn, code: str) -> str:
    return store_label(turn.ctx.shop, code, turn.locale)


def store_choice(turn: Turn, flow: str, step: str) -> Step:
    """Ask an owner (who has no store of their own) which store this is for."""
    choices = [
        Payload(flow, step, store.code).button(store_name(turn, store.code))
        for store in turn.ctx.shop.stores
    ]
    return Step([Reply(turn._("For which store?"), buttons(choices))], next=step)


def own_store(turn: Turn) -> str | None:
    """The staff member's store; for an owner of all stores the only store if there is
    one, else None (ask)."""
    assert turn.staff is not None
    if turn.staff.store is not None:
        return turn.staff.store
    stores = turn.ctx.shop.stores
    return stores[0].code if len(stores) == 1 else None


def begin(turn: Turn, names: tuple[str, ...]) -> None:
    """A fresh command: its slash arguments kept under ``names``, and the store when the
    staff member has one (else ``store_choice`` asks)."""
    args = turn.text.split()[1:]
    turn.data.clear()
    turn.data.update(zip(names, args[: len(names)], strict=False))
    store = own_store(turn)
    if store is not None:
        turn.data["store"] = store


def take_store(turn: Turn) -> bool:
    """Keep the store of a pressed store button; False when it named none."""
    code = turn.payload.value if turn.payload else ""
    if turn.ctx.shop.store(code) is None:
        return False
    turn.data["store"] = code
    return True
