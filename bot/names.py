"""Names a person reads for the codes the records keep: audit actions, who acted, chat apps,
staff roles and stores. A code never reaches a reader as it is stored ("sale.refunded",
"staff:2", "wechat", "clerk"); tests/test_names.py checks every recorded action has a name."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.i18n import N_, localized
from core.people.staff import Role
from core.shop import Shop

ACTION_NAMES: dict[str, str] = {
    "alert.raised": N_("Alert raised"),
    "api_key.created": N_("API key created"),
    "api_key.revoked": N_("API key revoked"),
    "booking.booked": N_("Booking made"),
    "booking.cancelled": N_("Booking cancelled"),
    "booking.no_show": N_("Booking missed (no-show)"),
    "campaign.sent": N_("Campaign sent"),
    "coupon.checked": N_("Coupon checked"),
    "coupon.issued": N_("Coupon issued"),
    "coupon.used": N_("Coupon used"),
    "coupon.voided": N_("Coupon voided"),
    "demo.loaded": N_("Demo shop loaded"),
    "demo.started": N_("Demo shop loading started"),
    "event.cancelled": N_("Event sign-up cancelled"),
    "event.created": N_("Event created"),
    "event.signed_up": N_("Signed up for an event"),
    "feedback.answered": N_("Feedback answered"),
    "feedback.closed": N_("Feedback closed"),
    "feedback.submitted": N_("Feedback sent"),
    "handoff.answered": N_("Chat with staff answered"),
    "handoff.closed": N_("Chat with staff closed"),
    "handoff.opened": N_("Chat with staff opened"),
    "member.claimed": N_("Membership claimed in a chat"),
    "member.deleted": N_("Member data deleted"),
    "member.imported": N_("Member imported"),
    "member.link_code": N_("Link code asked for"),
    "member.linked": N_("Chat account linked"),
    "member.looked_up": N_("Member looked up"),
    "member.registered": N_("Member registered"),
    "member.updated": N_("Member details changed"),
    "points.adjusted": N_("Points adjusted"),
    "points.migrated": N_("Points carried over from another system"),
    "points.expired": N_("Points expired"),
    "product.imported": N_("Product imported"),
    "referral.recorded": N_("Referral recorded"),
    "referral.rewarded": N_("Referral rewarded"),
    "sale.recorded": N_("Sale recorded"),
    "sale.refunded": N_("Sale refunded"),
    "sale.undone": N_("Sale undone"),
    "staff.invited": N_("Staff member invited"),
    "staff.joined": N_("Staff member joined"),
    "staff.refused": N_("Staff command refused"),
    "staff.removed": N_("Staff member removed"),
    "staff.set": N_("Staff role set"),
    "tier.changed": N_("Tier changed"),
    "webhook.added": N_("Webhook added"),
    "webhook.removed": N_("Webhook removed"),
}

CHANNEL_NAMES: dict[str, str] = {
    "wechat": N_("WeChat"),
    "telegram": N_("Telegram"),
    "console": N_("console"),
}

ROLE_NAMES: dict[Role, str] = {
    Role.CLERK: N_("clerk"),
    Role.MANAGER: N_("manager"),
    Role.OWNER: N_("owner"),
}

Translate = Callable[..., str]


def action_name(_: Translate, action: str) -> str:
    """An audit action's name; one added without a name reads as a generic change."""
    return _(ACTION_NAMES[action]) if action in ACTION_NAMES else _("Other change")


def channel_name(_: Translate, channel: str) -> str:
    return _(CHANNEL_NAMES[channel]) if channel in CHANNEL_NAMES else channel


def actor_name(_: Translate, actor: str) -> str:
    """``staff:2`` → staff #2, ``member:7`` → the member, ``api:till-1`` → the API key
    till-1, ``system`` → automatic."""
    kind, _sep, number = actor.partition(":")
    if kind == "staff" and number:
        return _("staff #{id}", id=number)
    if kind == "api" and number:
        return _("API key {name}", name=number)
    if kind == "member":
        return _("the member")
    return _("automatic")


def store_label(shop: Shop, code: str, locale: str) -> str:
    """A store by its name in the reader's language; a code the shop no longer has as typed."""
    store = shop.store(code)
    return localized(store.name, store.name_en, locale) if store else code


PUSH_KIND_NAMES: dict[str, str] = {
    "receipt": N_("receipt"),
    "refund": N_("refund"),
    "tier_changed": N_("tier change"),
    "booking_reminder": N_("booking reminder"),
    "feedback_answer": N_("feedback answer"),
    "points_expiring": N_("points expiring"),
    "coupon_expiring": N_("coupon expiring"),
    "referral_reward": N_("referral reward"),
    "event_reminder": N_("event reminder"),
    "event_news": N_("event news"),
    "birthday": N_("birthday"),
    "winback": N_("win-back"),
    "campaign": N_("campaign"),
    "staff_alert": N_("staff alert"),
    "staff_digest": N_("weekly digest"),
    "reply": N_("late reply"),
}

# Why a push waits or was not sent, as core.pushes and the dispatcher record it. Fixed
# reasons read whole; a reason that carries a detail (a channel, an API's own error) reads
# as its kind, with the detail as it came.
PUSH_REASONS: dict[str, str] = {
    "outdated: cancelled, begun or past its day": N_("outdated: cancelled, begun or past its day"),
    "stale: not sendable in time": N_("stale: not sendable in time"),
    "stale: the member did not write again in time": N_(
        "stale: the member did not write again in time"
    ),
    "no reachable chat account": N_("no reachable chat account"),
    "quiet hours": N_("quiet hours"),
    "WeChat reply window closed: waiting for the member's next message": N_(
        "WeChat reply window closed: waiting for the member's next message"
    ),
    "marketing consent withdrawn": N_("marketing consent withdrawn"),
    "internal error": N_("internal error"),
    "webhook removed": N_("webhook removed"),
    "no answer in time": N_("no answer in time"),
}
PUSH_REASON_PREFIXES: dict[str, str] = {
    "no sender here for ": N_("no sender here for {detail}"),
    "cannot be worded: ": N_("cannot be worded: {detail}"),
    "refused: ": N_("refused: {detail}"),
    "WeChat: ": N_("WeChat: {detail}"),
    "telegram: ": N_("Telegram: {detail}"),
    "given up after a day: ": N_("given up after a day: {detail}"),  # a webhook delivery's
    "cannot connect: ": N_("cannot connect: {detail}"),
    "HTTP ": N_("the endpoint answered with status {detail}"),
}


def push_kind_name(_: Translate, kind: str) -> str:
    return _(PUSH_KIND_NAMES[kind]) if kind in PUSH_KIND_NAMES else kind


def push_reason(_: Translate, reason: str) -> str:
    """A recorded reason in the reader's language; an API's own error text stays as it came."""
    if reason in PUSH_REASONS:
        return _(PUSH_REASONS[reason])
    for prefix, message in PUSH_REASON_PREFIXES.items():
        if reason.startswith(prefix):
            detail = reason.removeprefix(prefix)
            if detail in CHANNEL_NAMES:
                return _(message, detail=channel_name(_, detail))
            return _(message, detail=push_reason(_, detail))  # a reason may hold another
    return reason


def joined(names: Iterable[str], locale: str, *, clauses: bool = False) -> str:
    """Names listed in the reader's punctuation: 忠诚、活跃 / Loyal, Active; ``clauses``
    for parts that hold lists themselves: 金卡及以上；忠诚、活跃 / Gold and up; Loyal, Active."""
    chinese = locale.split("_")[0] == "zh"
    if clauses:
        return ("；" if chinese else "; ").join(names)
    return ("、" if chinese else ", ").join(names)
