"""What a push says: the values of an outbox message (kind + parameters), formatted in the
member's language. Every channel's rendering starts here — WeChat template fields now, chat
texts with the push dispatcher — so an amount or a tier reads the same everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.i18n import format_moment, format_money, localized
from core.context import Context
from core.members import MemberView


def push_values(
    ctx: Context, params: dict[str, Any], member: MemberView, at: datetime
) -> dict[str, str]:
    """Placeholders for the texts of a push: ``name``, ``member_no``, ``time`` and the
    message's parameters (``amount_fen`` as ``amount``, codes of stores and tiers as names,
    a tier change's ``from``/``to`` as ``previous_tier``/``tier``)."""
    shop, locale = ctx.shop, member.locale
    values = {
        "name": member.name,
        "member_no": member.member_no,
        "time": format_moment(at, locale, ctx.zone),
    }
    for key, value in params.items():
        if key == "amount_fen":
            values["amount"] = format_money(int(value), locale, shop.shop.currency)
        elif key == "store":
            store = shop.store(str(value))
            values["store"] = localized(store.name, store.name_en, locale) if store else str(value)
        elif key in ("tier", "to", "from"):
            tier = shop.tier(str(value))
            name = "previous_tier" if key == "from" else "tier"
            values[name] = localized(tier.name, tier.name_en, locale)
        else:
            values[key] = str(value)
    return values
