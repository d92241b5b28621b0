"""The flows memberbot serves, in one list, and the engine over them."""

from __future__ import annotations

from bot.dialogs import (
    adjust,
    alerts,
    booking,
    campaign,
    card,
    checkin,
    coupon_use,
    coupons,
    desk_bookings,
    desk_events,
    desk_feedback,
    desk_stats,
    digest,
    events,
    feedback,
    for_you,
    help,
    invite,
    member_card,
    points,
    profile,
    refund,
    registration,
    rewards,
    sale,
    staff_admin,
)
from bot.dialogs.engine import Dialogs
from core.context import Context

FLOWS = (
    help.flow,
    points.flow,
    rewards.flow,
    coupons.flow,
    card.flow,
    booking.flow,
    feedback.flow,
    registration.flow,
    profile.flow,
    profile.language_flow,
    sale.flow,
    refund.flow,
    coupon_use.flow,
    member_card.flow,
    staff_admin.flow,
    staff_admin.join_flow,
    adjust.flow,
    alerts.flow,
    campaign.flow,
    desk_bookings.flow,
    desk_feedback.flow,
    desk_stats.flow,
    digest.flow,
    events.flow,
    checkin.flow,
    desk_events.flow,
    invite.flow,
    for_you.flow,
)


def create_dialogs(ctx: Context) -> Dialogs:
    return Dialogs(ctx, FLOWS, registration=registration.NAME, help=help.NAME)
