"""The ledger's pure rules: what an amount typed at the counter is, what a sale earns, and
what it keeps after refunds. No database and no clock: sales and refunds both apply them, and
they change only when the shop's points rules do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from core.errors import AmountGrouping, InvalidAmount
from core.shop import Shop
from core.typed import fold

_AMOUNT = re.compile(
    r"^(?:¥|rmb|cny)?\s*(?P<whole>\d+(?:,\d+)*)(?:\.(?P<cents>\d{1,2}))?\s*"
    r"(?:元|块|块钱|yuan|rmb|cny)?$",
    re.I,
)
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})*$")


def parse_amount(text: str, max_fen: int) -> int:
    """Money typed by staff (``238``, ``1200.5``, ``1,200.50``, ``¥1,200``, ``1200元``, in
    full-width digits too) as fen: positive, at most two decimals, at most ``max_fen`` (a
    guard against a slipped finger). A comma only groups thousands: ``1,20`` is refused as
    mistyped rather than read as 1.20 or 120."""
    typed = text.strip()[:20]
    match = _AMOUNT.match(fold(text))
    if match is None:
        raise InvalidAmount(value=typed)
    whole = match["whole"]
    if "," in whole and not _GROUPED.match(whole):
        raise AmountGrouping(value=typed)
    whole = whole.replace(",", "")
    if len(whole.lstrip("0")) > 9:
        raise InvalidAmount(value=typed)
    fen = int(whole) * 100 + int((match["cents"] or "0").ljust(2, "0"))
    if fen <= 0 or fen > max_fen:
        raise InvalidAmount(value=typed)
    return fen


def check_amount(amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidAmount(value=amount_fen)


@dataclass(frozen=True)
class EarnRule:
    """How a sale's points were worked out, kept with the ledger row to answer "why?"."""

    amount_fen: int
    step_fen: int
    points_per_step: int
    base_points: int
    tier: str
    multiplier: str
    points: int

    def at(self, amount_fen: int) -> EarnRule:
        """This rule over another amount: what a sale keeps after refunds is what its net
        amount earns at the rule it was sold at, whatever the member's tier is now."""
        return _earn(
            amount_fen, self.step_fen, self.points_per_step, self.tier, Decimal(self.multiplier)
        )


def _earn(
    amount_fen: int, step_fen: int, points_per_step: int, tier: str, multiplier: Decimal
) -> EarnRule:
    base = amount_fen // step_fen * points_per_step
    points = int((Decimal(base) * multiplier).to_integral_value(rounding=ROUND_FLOOR))
    return EarnRule(
        amount_fen=amount_fen,
        step_fen=step_fen,
        points_per_step=points_per_step,
        base_points=base,
        tier=tier,
        multiplier=str(multiplier),
        points=points,
    )


def points_for(shop: Shop, amount_fen: int, tier_code: str) -> EarnRule:
    """``points_per_step`` for every full step spent, times the tier multiplier, rounded down."""
    rules = shop.points
    tier = shop.tier(tier_code)
    return _earn(amount_fen, rules.step_fen, rules.points_per_step, tier.code, tier.multiplier)


def points_kept(earned: dict[str, Any] | None, net_fen: int) -> int:
    """The one refund rule: after any refunds a sale keeps exactly the points its net amount
    earns at the rule it was sold at (``earned``: its earn lot's detail, an
    :class:`EarnRule`; none when the sale earned nothing)."""
    if not earned:
        return 0
    return EarnRule(**earned).at(net_fen).points
