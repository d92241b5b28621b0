"""What a push says: an outbox message (kind + parameters) as values and texts in the
reader's language, rendered when it is sent. Every channel's rendering starts here — WeChat
template fields and chat messages alike — so an amount or a tier reads the same everywhere."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.dialogs.engine.dialogs import START, Turn
from bot.dialogs.engine.types import Button, Event, Location, Payload, Reply, Sender, buttons
from bot.dialogs.member import handoff as member_handoff
from bot.dialogs.staff.alerts import alert_reply
from bot.dialogs.staff.digest import digest_reply
from bot.dialogs.staff.handoff import handoff_reply
from bot.i18n import LOCALES, N_, format_day, format_moment, format_money, gettext, localized
from bot.names import store_label
from core.context import Context
from core.insights import digests
from core.oversight import alerts
from core.people import conversations
from core.pushes.outbox import REPLY, is_marketing
from core.pushes.work_queue import Push, Recipient
from core.service import handoff

# Message texts by kind; ``{placeholders}`` are the values of ``push_values``.
TEXTS: dict[str, str] = {
    "receipt": N_(
        "Thank you for your purchase at {store}: {amount} (receipt {receipt_no}).\n"
        "Points earned: {points}. Balance: {balance} points. Tier: {tier}."
    ),
    "refund": N_(
        "Refund at {store} for receipt {receipt_no}: {amount}.\n"
        "{points} points were taken back. Balance: {balance} points."
    ),
    "tier_up": N_("Congratulations, {name}: you are now {tier}! Your perks: {perks}"),
    "tier_down": N_(
        "{name}, your tier is now {tier} (before: {previous_tier}), from your spending "
        "in the last 12 months."
    ),
    "booking_day_before": N_(
        "Reminder: your visit to {store} is tomorrow, {starts}, party of {party_size}. "
        "To change it, open \u201cBook a visit\u201d."
    ),
    "booking_hours_before": N_(
        "Reminder: your visit to {store} is at {starts}, party of {party_size}. See you soon!"
    ),
    "handoff_answer": N_("Message from our staff:\n{answer}"),
    "handoff_closed": N_(
        "Our staff have closed your chat with them. To talk to a person again, tap the button."
    ),
    "feedback_answer": N_("Our answer to your feedback \u201c{excerpt}\u201d:\n{answer}"),
    "points_expiring": N_(
        "{points} of your points expire on {expires_on} (balance: {balance} points). "
        "Redeem them for a coupon before then: send /rewards."
    ),
    "coupon_expiring": N_(
        "Your coupon {reward} ({value}) expires on {expires_on}. "
        "Show the code {coupon_code} at the counter."
    ),
    "referral_referrer": N_(
        "Thank you, {name}: a friend you invited made their first purchase, and you get "
        "{points} points."
    ),
    "referral_welcome": N_(
        "Welcome, {name}! Because a friend invited you, your first purchase brought you "
        "{points} extra points."
    ),
    "event_reminder": N_(
        "Reminder: {title} is tomorrow, {starts_at}, at {store}. To give up your place, open "
        "\u201cEvents\u201d \u2192 \u201cMy events\u201d."
    ),
    "event_news": N_(
        "New for members like you: {title}, {starts_at}, at {store}. To sign up, open "
        "\u201cEvents\u201d."
    ),
    "birthday": N_("Happy birthday, {name}! Thank you for being with us."),
    "winback_dormant": N_("{name}, we miss you! It has been {days_silent} days since your visit."),
    "winback_lost": N_("{name}, we would love to see you again."),
}
GIFT = N_("A gift for you: {reward} ({value}), code {coupon_code}, valid until {valid_until}.")
CAMPAIGN_COUPON = N_("Your coupon: {reward} ({amount}), code {coupon}, valid until {expires_at}.")
TIER_PROGRESS = N_("Spend {to_next} more within 12 months to reach {next_tier}.")
OPT_OUT = N_("Do not want offers? My profile \u2192 marketing messages: off.")


class UnknownKind(Exception):
    """An outbox row of a kind this version cannot word: skipped, with the reason."""


@dataclass(frozen=True)
class Message:
    """A push ready to send: its chat replies, its values (for WeChat templates) and the
    language both are in."""

    replies: list[Reply]
    values: dict[str, str]
    locale: str


class Addressee(Protocol):
    """Whoever reads a push: a queued push's ``Reader``, or a ``MemberView``."""

    @property
    def name(self) -> str: ...
    @property
    def member_no(self) -> str: ...
    @property
    def locale(self) -> str: ...


def push_values(
    ctx: Context, params: dict[str, Any], member: Addressee | None, at: datetime
) -> dict[str, str]:
    """Placeholders for the texts of a push: ``name``, ``member_no``, ``time`` and the
    message's parameters, formatted for the reader: ``*_fen`` amounts as money without the
    suffix (``amount_fen`` → ``amount``), days and instants as dates, codes of stores,
    tiers and rewards as names, a tier change's ``from``/``to`` as ``previous_tier``/``tier``."""
    shop = ctx.shop
    locale = member.locale if member else LOCALES[0]
    values = {
        "name": member.name if member else "",
        "member_no": member.member_no if member else "",
        "time": format_moment(at, locale, ctx.zone),
    }
    for key, value in params.items():
        if value is None:
            values.setdefault(key, "")
        elif key.endswith("_fen"):
            values[key.removesuffix("_fen")] = format_money(int(value), locale, shop.shop.currency)
        elif key in ("expires_on", "valid_until"):
            values[key] = format_day(date.fromisoformat(str(value)), locale)
        elif key in ("starts_at", "expires_at"):
            moment = datetime.fromisoformat(str(value))
            values[key] = format_moment(moment, locale, ctx.zone)
            if key == "expires_at":  # a coupon's last day is what a member needs
                values[key] = format_day(moment.astimezone(ctx.zone), locale)
        elif key == "store":
            values["store"] = store_label(shop, str(value), locale)
        elif key == "reward":
            reward = shop.reward(str(value))
            values[key] = localized(reward.name, reward.name_en, locale) if reward else str(value)
        elif key in ("tier", "to", "from"):
            tier = shop.tier(str(value))
            name = "previous_tier" if key == "from" else "tier"
            values[name] = localized(tier.name, tier.name_en, locale)
        else:
            values[key] = str(value)
    return values


async def render(ctx: Context, push: Push, recipient: Recipient) -> Message:
    """The push in its reader's language (a staff member's: the one they chat in)."""
    reader = push.reader
    locale = reader.locale if reader else LOCALES[0]
    if push.kind == REPLY:  # worded already, when it was answered
        return Message(replies_of(push.params), {}, locale)
    values = push_values(ctx, push.params, reader, ctx.now())
    if push.kind in (alerts.OUTBOX_KIND, digests.OUTBOX_KIND, handoff.STAFF_PUSH):
        return Message([await _staff_reply(ctx, push, recipient, locale)], values, locale)
    text = _text(ctx, push, values, locale)
    if is_marketing(push.kind):
        text += "\n\n" + gettext(locale, OPT_OUT)
    return Message([Reply(text, _buttons(push.kind, locale))], values, locale)


def _buttons(kind: str, locale: str) -> tuple[tuple[Button, ...], ...]:
    """A staff answer or closed chat: a button back into the chat with staff."""
    if kind == handoff.ANSWER_PUSH:
        label = gettext(locale, "Reply")
    elif kind == handoff.CLOSED_PUSH:
        label = gettext(locale, "Talk to a person")
    else:
        return ()
    return buttons([Payload(member_handoff.NAME, START).button(label)])


def reply_params(replies: list[Reply]) -> list[dict[str, Any]]:
    """Replies as an outbox row keeps them (``core.pushes.late_replies``): plain JSON values."""
    return [
        {
            "text": reply.text,
            "buttons": [[[b.label, b.payload] for b in row] for row in reply.buttons],
            "image": base64.b64encode(reply.image).decode() if reply.image else None,
            "image_name": reply.image_name,
            "phone_button": reply.phone_button,
            "location": dataclasses.astuple(reply.location) if reply.location else None,
        }
        for reply in replies
    ]


def replies_of(params: dict[str, Any]) -> list[Reply]:
    """The replies ``reply_params`` kept."""
    return [
        Reply(
            str(kept["text"]),
            tuple(
                tuple(Button(label, payload) for label, payload in row) for row in kept["buttons"]
            ),
            base64.b64decode(kept["image"]) if kept.get("image") else None,
            str(kept.get("image_name") or "image.png"),
            kept.get("phone_button"),
            Location(*kept["location"]) if kept.get("location") else None,
        )
        for kept in params["replies"]
    ]


def _text(ctx: Context, push: Push, values: dict[str, str], locale: str) -> str:
    kind, params = push.kind, push.params
    if kind == "campaign":
        text = str(params.get("message", ""))
        if params.get("coupon"):
            text += "\n" + gettext(locale, CAMPAIGN_COUPON, **values)
        return text
    if kind == "tier_changed":
        up = ctx.shop.tier_rank(str(params["to"])) > ctx.shop.tier_rank(str(params["from"]))
        tier = ctx.shop.tier(str(params["to"]))
        values = values | {"perks": localized(tier.perks, tier.perks_en, locale)}
        return gettext(locale, TEXTS["tier_up" if up else "tier_down"], **values)
    if kind == "booking_reminder":
        kind = "booking_" + str(params.get("when", "hours_before"))
        values = values | {"starts": values.get("starts_at", "")}
    elif kind == "winback":
        kind = "winback_" + str(params.get("stage", "dormant"))
    elif kind in ("event_reminder", "event_news"):
        values = values | _event_values(params, values, locale)
    elif kind == "referral_reward":
        kind = "referral_" + str(params.get("role", "referrer"))
    if kind not in TEXTS:
        raise UnknownKind(push.kind)
    text = gettext(locale, TEXTS[kind], **values)
    if push.kind == "receipt" and "spend_fen" in params:
        text += _progress(ctx, int(params["spend_fen"]), str(params.get("tier", "")), locale)
    if push.kind in ("birthday", "winback") and params.get("coupon_code"):
        text += "\n" + gettext(locale, GIFT, **values)
    return text


def _event_values(params: dict[str, Any], values: dict[str, str], locale: str) -> dict[str, str]:
    """An event's title in the reader's language, and its store or every store."""
    title = localized(str(params.get("title", "")), str(params.get("title_en", "")), locale)
    return {"title": title, "store": values.get("store") or gettext(locale, "every store")}


def _progress(ctx: Context, spend_fen: int, tier_code: str, locale: str) -> str:
    following = ctx.shop.next_tier(tier_code)
    if following is None:
        return ""
    to_next = format_money(following.spend_fen - spend_fen, locale, ctx.shop.shop.currency)
    name = localized(following.name, following.name_en, locale)
    return "\n" + gettext(locale, TIER_PROGRESS, to_next=to_next, next_tier=name)


def _staff_turn(ctx: Context, recipient: Recipient, locale: str) -> Turn:
    """A turn for the staff dialogs' own renderings (alerts, digests) of a push."""
    sender = Sender(recipient.channel, recipient.external_id)
    identity = conversations.Identity(
        recipient.identity_id, recipient.channel, recipient.external_id, None
    )
    return Turn(ctx=ctx, event=Event(sender), identity=identity, member=None, locale=locale)


async def _staff_reply(ctx: Context, push: Push, recipient: Recipient, locale: str) -> Reply:
    """A staff alert with its Approve and Reject buttons, as ``/alerts`` shows it; a digest
    with its buttons, as ``/digest`` does; a member's message to staff with Answer and
    Close."""
    turn = _staff_turn(ctx, recipient, locale)
    if push.kind == handoff.STAFF_PUSH:
        view = await handoff.get_handoff(ctx, int(push.params["handoff_id"]))
        return handoff_reply(turn, view, int(push.params["message_id"]))
    if push.kind == digests.OUTBOX_KIND:
        return digest_reply(turn, await digests.get_digest(ctx, int(push.params["digest_id"])))
    return alert_reply(turn, await alerts.get_alert(ctx, int(push.params["alert_id"])))
