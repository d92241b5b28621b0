"""Domain errors as sentences a person can act on, in their language. One place for all
channels (chat, command line) so an error always reads the same."""

from __future__ import annotations

from bot.i18n import N_, format_money, gettext
from bot.names import store_label
from core.errors import DomainError
from core.shop import Shop

ERROR_TEXTS: dict[str, str] = {
    "error": N_("Something went wrong; nothing was changed."),
    "not_found": N_("Not found."),
    "unknown_member": N_("No such member."),
    "unknown_store": N_("There is no store with the code {store}."),
    "unknown_reward": N_("This reward is not available."),
    "unknown_sale": N_("No sale with receipt number {receipt_no} at {store}."),
    "unknown_coupon": N_("No coupon with the code {code}."),
    "unknown_webhook": N_("No webhook {webhook}."),
    "invalid_webhook_url": N_(
        "{url} is not a web address (it must start with http:// or https://)."
    ),
    "unknown_webhook_event": N_("There is no event {event}; the events are: {known}."),
    "invalid_input": N_("The value for {field} is not valid."),
    "invalid_phone": N_("{value} is not a valid mobile phone number."),
    "invalid_birthday": N_("{value} is not a valid birthday (use YYYY-MM-DD)."),
    "invalid_amount": N_("{value} is not a valid amount."),
    "amount_grouping": N_(
        "{value} is not a valid amount: a comma only separates thousands, as in 1,200.50."
    ),
    "phone_taken": N_("The phone number {phone} already belongs to a member."),
    "birthday_locked": N_("The birthday can only be changed once; please ask the staff."),
    "not_enough_points": N_("Not enough points: you have {balance}, this needs {needed}."),
    "receipt_taken": N_("Receipt {receipt_no} is already recorded for another member."),
    "refund_too_large": N_("At most {refundable} can still be refunded for this sale."),
    "coupon_used": N_("This coupon was already used."),
    "coupon_expired": N_("This coupon has expired."),
    "link_code_invalid": N_("This code is not valid or has expired."),
    "identity_taken": N_("This account already belongs to another member."),
    "duplicate_row": N_("The phone number {phone} appears more than once in the file."),
    "unknown_column": N_("Unknown column {column}."),
    "missing_column": N_("The required column {column} is missing."),
    "missing_value": N_("The {field} is missing."),
    "unknown_product": N_("There is no product with the code {product}."),
    "lines_exceed_total": N_("The products add up to {lines}, more than the sale's {amount}."),
    "product_in_shop_file": N_(
        "The product {product} is defined in the shop file; change it there."
    ),
    "duplicate_product_row": N_(
        "The product {product} appears more than once in the file (first on line {first_line})."
    ),
    "out_of_stock": N_("Sorry, this reward is out of stock; no points were taken."),
    "not_enough_stock": N_(
        "Only {left} of this reward are left, not enough for {needed} members; nothing was given."
    ),
    "invite_code_invalid": N_("{code} is not a valid invite code."),
    "self_referral": N_("This is the inviter's own phone number, so the invite cannot count."),
    "already_referred": N_(
        "This phone number was invited before, so the invite cannot count again."
    ),
    "already_moved_in": N_(
        "This member's balance was carried over on {day} with {points} points; other figures "
        "are not added again (correct the balance with an adjustment)."
    ),
    "lot_expired": N_("The points expiring on {day} have expired already."),
    "unknown_feedback": N_("No feedback with number {feedback}."),
    "feedback_closed": N_("This feedback is closed and can no longer be answered."),
    "unknown_handoff": N_("No such chat with a member."),
    "handoff_closed": N_("This chat has been closed; nothing was sent."),
    "unknown_booking": N_("No such booking."),
    "invalid_party_size": N_("A booking can be for 1 to {max} people."),
    "slot_unavailable": N_("This time cannot be booked; please choose one of the offered times."),
    "slot_full": N_("There are not enough free places at this time."),
    "already_booked": N_("You already have a booking at this time."),
    "booking_not_active": N_("This booking is no longer active."),
    "cancel_too_late": N_(
        "Bookings can be cancelled up to {hours} hours before the visit; please call the store."
    ),
    "booking_not_started": N_("This booking's time has not begun yet."),
    "unknown_event": N_("This event is not available."),
    "event_full": N_("Sorry, this event is full."),
    "event_not_open": N_("Sorry, this event is not open to your membership."),
    "event_started": N_("This event has begun; sign-ups are closed."),
    "already_signed_up": N_("You already have a place at this event."),
    "signup_not_active": N_("This place was cancelled."),
    "event_cancel_too_late": N_(
        "A place can be given up until {hours} hours before the event; it stays yours."
    ),
    "event_not_started": N_("This event has not begun yet."),
    "not_allowed": N_("Sorry, this is only for {needed}."),
    "invite_invalid": N_("This invite code is not valid, already used or expired."),
    "unknown_staff": N_("No such staff member."),
    "undo_too_late": N_("This sale can no longer be undone; refund it instead."),
    "unknown_alert": N_("No such alert."),
    "unknown_digest": N_("This line of the digest is no longer available."),
    "alert_decided": N_("This alert was already decided; nothing more was done."),
    "api_key_invalid": N_("No valid API key: send `Authorization: Bearer KEY` with a live key."),
    "scope_missing": N_("This API key may not do this (it lacks {scope})."),
    "other_store": N_("This API key may not act for {store}."),
    "api_key_name_taken": N_("There is already an API key named {name}."),
    "unknown_api_key": N_("No API key with the name or prefix {key}."),
    "idempotency_key_reused": N_(
        "This `Idempotency-Key` was used for another request; nothing was changed."
    ),
    "receipt_differs": N_(
        "Receipt {receipt_no} at {store} is already recorded with other details; "
        "nothing was changed."
    ),
}

# Who may do something, for "Sorry, this is only for {needed}."
NEEDED_ROLES: dict[str, str] = {
    "clerk": N_("shop staff"),
    "manager": N_("managers and the owner"),
    "owner": N_("the owner"),
}


# Names of the values a person typed, for "The value for {field} is not valid."
FIELD_NAMES: dict[str, str] = {
    "active": N_("active"),
    "amount": N_("amount"),
    "answer": N_("answer"),
    "birthday_month": N_("birthday month"),
    "capacity": N_("places"),
    "card": N_("member card"),
    "category": N_("category"),
    "channel": N_("channel"),
    "checkin": N_("check-in"),
    "code": N_("code"),
    "columns": N_("columns"),
    "ends_at": N_("end"),
    "expires": N_("expiry date"),
    "events": N_("events"),
    "external_id": N_("account id"),
    "file": N_("file"),
    "gender": N_("gender"),
    "holdout": N_("holdout share"),
    "lifetime_spend_yuan": N_("lifetime spend"),
    "lines": N_("products"),
    "locale": N_("language"),
    "marketing_consent": N_("marketing consent"),
    "member_no": N_("member number"),
    "message": N_("message"),
    "min_tier": N_("lowest tier"),
    "name": N_("name"),
    "name_en": N_("English name"),
    "note": N_("note"),
    "party_size": N_("number of people"),
    "period": N_("period"),
    "phone": N_("phone"),
    "points": N_("points"),
    "price_yuan": N_("price"),
    "quantity": N_("quantity"),
    "rating": N_("rating"),
    "reason": N_("reason"),
    "receipt": N_("receipt number"),  # the API's path parameter
    "receipt_no": N_("receipt number"),
    "role": N_("role"),
    "scope": N_("scope"),
    "staff_id": N_("staff member"),
    "stages": N_("stages"),
    "starts_at": N_("time"),
    "status": N_("status"),
    "store": N_("store"),
    "tags": N_("tags"),
    "text": N_("feedback text"),
    "tier": N_("tier"),
    "title": N_("title"),
    "title_en": N_("English title"),
}


def describe(error: DomainError, locale: str, shop: Shop | None) -> str:
    """The translated sentence for ``error``; unknown codes fall back to their family. A
    store the error names by code reads by its name in ``shop`` (None only where no shop
    was read yet: the shop file itself may be what failed)."""
    code = error.code
    if code not in ERROR_TEXTS:
        code = next(
            (c for k in type(error).__mro__ if (c := getattr(k, "code", None)) in ERROR_TEXTS),
            "error",
        )
    params = {key: "" if value is None else value for key, value in error.params.items()}
    needed = NEEDED_ROLES.get(str(params.get("needed")))
    if needed is not None:
        params["needed"] = gettext(locale, needed)
    if shop is not None and isinstance(params.get("store"), str) and shop.store(params["store"]):
        params["store"] = store_label(shop, params["store"], locale)
    field = params.get("field")
    if field in FIELD_NAMES:
        params["field"] = gettext(locale, FIELD_NAMES[field])
    for key in [key for key in params if key.endswith("_fen")]:  # refundable_fen → refundable
        params[key.removesuffix("_fen")] = format_money(int(params[key]), locale)
    try:
        return gettext(locale, ERROR_TEXTS[code], **params)
    except (KeyError, IndexError):
        # A message that needs a parameter the error did not carry: say the general thing.
        return gettext(locale, ERROR_TEXTS[DomainError.code])


# Lifecycle stages of members (core.insights.segments.Stage), as owners call them.
STAGE_NAMES: dict[str, str] = {
    "potential": N_("Potential (never bought)"),
    "new": N_("New"),
    "active": N_("Active"),
    "loyal": N_("Loyal"),
    "at_risk": N_("At risk"),
    "dormant": N_("Dormant (temporarily silent)"),
    "lost": N_("Lost (permanently silent)"),
}


# Topics of feedback (core.service.feedback.CATEGORIES), for reports and staff lists.
FEEDBACK_CATEGORY_NAMES: dict[str, str] = {
    "service": N_("Service"),
    "product": N_("Product"),
    "price": N_("Price"),
    "environment": N_("Environment"),
    "waiting": N_("Waiting time"),
    "other": N_("Other"),
}
