"""The flows memberbot serves, in one list, and the engine over them."""

from __future__ import annotations

from bot.dialogs import (
    booking,
    card,
    coupons,
    feedback,
    help,
    points,
    profile,
    registration,
    rewards,
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
)


def create_dialogs(ctx: Context) -> Dialogs:
    return Dialogs(ctx, FLOWS, registration=registration.NAME, help=help.NAME)
