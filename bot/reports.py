"""Shop figures as translated rows of text, shared by the command line and (later) chat."""

from __future__ import annotations

import unicodedata

from babel.numbers import format_decimal, format_percent

from bot.i18n import format_money, gettext, localized
from bot.messages import FEEDBACK_CATEGORY_NAMES, STAGE_NAMES
from core import stats
from core.checkins import CheckinStats
from core.events import EventStats
from core.shop import Shop
from core.winback import WinbackResults

# --- stats --------------------------------------------------------------------------------


def _ratio(locale: str, part: int, whole: int) -> str:
    share = part / whole if whole else 0
    return gettext(
        locale,
        "{percent} ({part} of {whole})",
        percent=format_percent(share, "#,##0.0%", locale=locale),
        part=part,
        whole=whole,
    )


def stats_rows(report: stats.ShopStats, shop: Shop, locale: str) -> list[tuple[str, str]]:
    """The owner's overview as (label, value) rows, translated; indented labels break a
    figure down. Kept apart from printing so a chat reply can show the same rows."""

    def money(fen: int) -> str:
        return format_money(fen, locale, shop.shop.currency)

    def rating(value: float) -> str:
        return format_decimal(value, "0.0", locale=locale)

    rows: list[tuple[str, str]] = [(gettext(locale, "Members"), str(report.members))]
    for tier in shop.tiers.levels:
        name = localized(tier.name, tier.name_en, locale)
        rows.append((f"  {name}", str(report.members_by_tier.get(tier.code, 0))))
    for stage, count in report.members_by_stage.items():
        rows.append(("  " + gettext(locale, STAGE_NAMES[stage]), str(count)))
    rows += [
        (gettext(locale, "New members"), str(report.new_members)),
        (
            gettext(locale, "Members who bought"),
            _ratio(locale, report.active_members, report.member_base),
        ),
        (gettext(locale, "Purchases"), str(report.sales_count)),
        (gettext(locale, "Net sales"), money(report.net_fen)),
        (gettext(locale, "Refunded"), money(report.refunded_fen)),
        (gettext(locale, "Average ticket"), money(report.average_ticket_fen)),
        (
            gettext(locale, "Buyers who came back"),
            _ratio(locale, report.repeat_buyers, report.buyers),
        ),
        (gettext(locale, "Points issued"), str(report.points_issued)),
        (gettext(locale, "Points redeemed"), str(report.points_redeemed)),
        (gettext(locale, "Points expired"), str(report.points_expired)),
        (gettext(locale, "Points taken back"), str(report.points_reversed)),
        (gettext(locale, "Coupons issued"), str(report.coupons_issued)),
        (
            gettext(locale, "Coupons used"),
            gettext(
                locale,
                "{count} (worth {value})",
                count=report.coupons_used,
                value=money(report.coupon_value_used_fen),
            ),
        ),
        (gettext(locale, "Bookings"), str(report.bookings)),
        ("  " + gettext(locale, "attended"), str(report.bookings_attended)),
        ("  " + gettext(locale, "no-shows"), str(report.no_shows)),
        (gettext(locale, "Cancelled bookings"), str(report.bookings_cancelled)),
        (
            gettext(locale, "Feedback"),
            gettext(
                locale,
                "{count} (average rating {rating})",
                count=report.feedback_count,
                rating=rating(report.average_rating),
            ),
        ),
    ]
    for item in report.feedback:
        label = FEEDBACK_CATEGORY_NAMES.get(item.category)
        name = gettext(locale, label) if label else item.category
        rows.append(
            (
                f"  {name}",
                gettext(
                    locale,
                    "{count} (average rating {rating})",
                    count=item.count,
                    rating=rating(item.average_rating),
                ),
            )
        )
    return rows


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def winback_rows(results: WinbackResults, shop: Shop, locale: str) -> list[tuple[str, str]]:
    """What the period's win-back messages brought; no rows when none were made."""
    if not results.sent:
        return []
    return [
        (
            gettext(locale, "Win-back messages sent"),
            _ratio(locale, results.delivered, results.sent),
        ),
        (
            "  " + gettext(locale, "came back within {days} days", days=results.within_days),
            _ratio(locale, results.came_back, results.sent),
        ),
        (
            "  " + gettext(locale, "their purchases"),
            format_money(results.sales_fen, locale, shop.shop.currency),
        ),
    ]


def event_rows(figures: EventStats, locale: str) -> list[tuple[str, str]]:
    """The members-only events that began in the period: sign-ups, who came, the points
    they cost; no rows when there were none."""
    if not figures.events:
        return []
    return [
        (gettext(locale, "Events"), str(figures.events)),
        ("  " + gettext(locale, "sign-ups"), str(figures.signups)),
        ("  " + gettext(locale, "attended"), _ratio(locale, figures.attended, figures.signups)),
        ("  " + gettext(locale, "no-shows"), str(figures.no_shows)),
        ("  " + gettext(locale, "cancelled sign-ups"), str(figures.cancelled)),
        ("  " + gettext(locale, "points spent"), str(figures.points_spent)),
    ]


def checkin_rows(figures: CheckinStats, locale: str) -> list[tuple[str, str]]:
    """Daily check-ins of the period; no rows when nobody checked in."""
    if not figures.checkins:
        return []
    return [
        (gettext(locale, "Check-ins"), str(figures.checkins)),
        ("  " + gettext(locale, "members who checked in"), str(figures.members)),
        ("  " + gettext(locale, "points given"), str(figures.points)),
    ]


def text_table(rows: list[tuple[str, str]]) -> list[str]:
    """Label/value rows aligned for a terminal."""
    widest = max(_width(label) for label, _ in rows)
    return [f"{label}{' ' * (widest - _width(label))}  {value}" for label, value in rows]


def columns(rows: list[list[str]]) -> list[str]:
    """A table for a terminal: the first column aligned left, the figures right."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell + " " * (w - _width(cell)) if i == 0 else " " * (w - _width(cell)) + cell
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
