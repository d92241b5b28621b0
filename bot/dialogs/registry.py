"""The flows memberbot serves, in one list, and the engine over them."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.member import (
    booking,
    card,
    checkin,
    coupons,
    events,
    feedback,
    for_you,
    help,
    invite,
    points,
    profile,
    registration,
    rewards,
)
from bot.dialogs.staff import (
    adjust,
    alerts,
    bookings,
    campaign,
    coupon_use,
    digest,
    member_lookup,
    refund,
    sale,
    stats,
    team,
)
from bot.dialogs.staff import events as desk_events
from bot.dialogs.staff import feedback as desk_feedback
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
    member_lookup.flow,
    team.flow,
    team.join_flow,
    adjust.flow,
    alerts.flow,
    campaign.flow,
    bookings.flow,
    desk_feedback.flow,
    stats.flow,
    digest.flow,
    events.flow,
    checkin.flow,
    desk_events.flow,
    invite.flow,
    for_you.flow,
)


def create_dialogs(ctx: Context) -> Dialogs:
    return Dialogs(ctx, FLOWS, registration=registration.NAME, help=help.NAME)
