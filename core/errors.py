"""Domain errors. Each has a stable ``code`` and plain ``params`` so that every channel can
turn it into a translated sentence; none carries a stack trace to a member."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, **params: Any) -> None:
        super().__init__(f"{self.code}: {params}" if params else self.code)
        self.params = params


class NotFound(DomainError):
    code = "not_found"


class UnknownMember(NotFound):
    code = "unknown_member"


class UnknownStore(NotFound):
    code = "unknown_store"


class UnknownReward(NotFound):
    code = "unknown_reward"


class UnknownSale(NotFound):
    code = "unknown_sale"


class UnknownCoupon(NotFound):
    code = "unknown_coupon"


class InvalidInput(DomainError):
    """A value given by a person is not acceptable; ``field`` names it."""

    code = "invalid_input"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


class InvalidBirthday(InvalidInput):
    code = "invalid_birthday"


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


class AmountGrouping(InvalidAmount):
    """A comma where no thousands end (``1,20``): a slip, not an amount to guess at."""

    code = "amount_grouping"


class PhoneTaken(DomainError):
    code = "phone_taken"


class BirthdayLocked(DomainError):
    """The birthday was already changed once (so birthday rewards cannot be farmed)."""

    code = "birthday_locked"


class NotEnoughPoints(DomainError):
    code = "not_enough_points"


class ReceiptTaken(DomainError):
    """The receipt number is recorded in this store for another member."""

    code = "receipt_taken"


class RefundTooLarge(DomainError):
    code = "refund_too_large"


class CouponUsed(DomainError):
    code = "coupon_used"


class CouponExpired(DomainError):
    code = "coupon_expired"


class LinkCodeInvalid(DomainError):
    code = "link_code_invalid"


class IdentityTaken(DomainError):
    """This chat account already belongs to another member."""

    code = "identity_taken"


class DuplicateRow(InvalidInput):
    """The same phone appears again further down an import file; the first one counts."""

    code = "duplicate_row"


class UnknownColumn(InvalidInput):
    """An import file has a column the importer does not know (a typo would lose data)."""

    code = "unknown_column"


class MissingColumn(InvalidInput):
    """An import file lacks a column every row needs."""

    code = "missing_column"


class MissingValue(InvalidInput):
    """A row of an import file leaves a cell empty that every row needs."""

    code = "missing_value"


class AlreadyMovedIn(InvalidInput):
    """A balance file gives other figures for a member whose balance was brought over
    before: adding them again would count points twice (staff correct by adjustment)."""

    code = "already_moved_in"


class LotExpired(InvalidInput):
    """Points brought from an old system whose expiry date has passed."""

    code = "lot_expired"


class UnknownFeedback(NotFound):
    code = "unknown_feedback"


class FeedbackClosed(DomainError):
    """Staff closed this feedback; answering it now would reopen a finished case."""

    code = "feedback_closed"


class UnknownHandoff(NotFound):
    code = "unknown_handoff"


class HandoffClosed(DomainError):
    """The member's chat with staff was closed; a message now would reach no one."""

    code = "handoff_closed"


class UnknownBooking(NotFound):
    code = "unknown_booking"


class InvalidPartySize(InvalidInput):
    code = "invalid_party_size"


class SlotUnavailable(DomainError):
    """Not a time the store offers: no slot starts then, it has begun, or it is beyond the
    booking horizon."""

    code = "slot_unavailable"


class SlotFull(DomainError):
    """Not enough places left; ``next_free`` is the next slot with room (or None)."""

    code = "slot_full"

    @property
    def next_free(self) -> Any:
        return self.params.get("next_free")


class AlreadyBooked(DomainError):
    """The member already holds an active booking for this slot."""

    code = "already_booked"


class BookingNotActive(DomainError):
    """The booking was cancelled (or already marked), so it cannot be changed that way."""

    code = "booking_not_active"


class CancelTooLate(DomainError):
    """Past the cut-off (``cutoff``) the store has planned for the visit: call the store."""

    code = "cancel_too_late"


class BookingNotStarted(DomainError):
    """Attendance can be marked only once the slot has begun."""

    code = "booking_not_started"


class NotAllowed(DomainError):
    """The person's role does not allow this; ``needed`` names the lowest role that does."""

    code = "not_allowed"


class InviteInvalid(DomainError):
    code = "invite_invalid"


class UnknownStaff(NotFound):
    code = "unknown_staff"


class UndoTooLate(DomainError):
    code = "undo_too_late"


class UnknownAlert(NotFound):
    code = "unknown_alert"


class UnknownDigest(NotFound):
    """No such digest line, or not one of this staff member's digests."""

    code = "unknown_digest"


class AlertDecided(DomainError):
    """An owner already approved or rejected this alert (``status`` says which)."""

    code = "alert_decided"


class UnknownEvent(NotFound):
    """No such event, or not one this member may see (below its tier, not in its stages)."""

    code = "unknown_event"


class EventFull(DomainError):
    """Every place of the event is taken."""

    code = "event_full"


class EventNotOpen(DomainError):
    """The member may not join this event (its tier or stage rule)."""

    code = "event_not_open"


class EventStarted(DomainError):
    """Sign-ups close when the event begins."""

    code = "event_started"


class AlreadySignedUp(DomainError):
    code = "already_signed_up"


class SignupNotActive(DomainError):
    """The sign-up was cancelled, so it cannot be cancelled or marked again."""

    code = "signup_not_active"


class EventCancelTooLate(DomainError):
    """Past the cut-off (``hours`` before the start) a sign-up stays, and so do its points."""

    code = "event_cancel_too_late"


class EventNotStarted(DomainError):
    """Attendance can be marked only once the event has begun."""

    code = "event_not_started"


class UnknownProduct(NotFound):
    code = "unknown_product"


class LinesExceedTotal(InvalidInput):
    """A sale's product lines add up to more than the sale's amount."""

    code = "lines_exceed_total"


class ProductInShopFile(InvalidInput):
    """An imported product has the code of one the shop file defines (the file wins)."""

    code = "product_in_shop_file"


class OutOfStock(DomainError):
    """No piece of this goods reward is left; nothing was taken."""

    code = "out_of_stock"


class NotEnoughStock(OutOfStock):
    """Fewer pieces of this goods reward are ``left`` than ``needed`` (a campaign's or a
    job's gifts); nothing was given to anyone."""

    code = "not_enough_stock"


class InviteCodeInvalid(DomainError):
    code = "invite_code_invalid"


class SelfReferral(DomainError):
    """An invite code used with the inviter's own phone number (or by the inviter)."""

    code = "self_referral"


class AlreadyReferred(DomainError):
    """This phone number was already invited once (perhaps by an account since deleted)."""

    code = "already_referred"


class DuplicateProductRow(InvalidInput):
    """The same product code appears again further down an import file; the first counts."""

    code = "duplicate_product_row"


class ApiKeyInvalid(DomainError):
    """No API key, or one that is unknown or revoked (which of these is not said)."""

    code = "api_key_invalid"


class ScopeMissing(DomainError):
    """The API key may not do this: it lacks ``scope``."""

    code = "scope_missing"


class OtherStore(DomainError):
    """The API key belongs to another store than the one ``store`` names."""

    code = "other_store"


class ApiKeyNameTaken(DomainError):
    code = "api_key_name_taken"


class UnknownApiKey(NotFound):
    code = "unknown_api_key"


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key sent again with another request: not a retry, so not done."""

    code = "idempotency_key_reused"


class ReceiptDiffers(DomainError):
    """The receipt was recorded by the API with other details (member, amount, lines)."""

    code = "receipt_differs"


class UnknownWebhook(NotFound):
    code = "unknown_webhook"


class InvalidWebhookUrl(InvalidInput):
    """Not an http(s) address a delivery could be posted to."""

    code = "invalid_webhook_url"


class UnknownWebhookEvent(InvalidInput):
    """``known`` lists the event types there are."""

    code = "unknown_webhook_event"
