"""Shop figures as translated rows of text, shared by the command line and (later) chat."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal, format_percent

from bot.error_texts import FEEDBACK_CATEGORY_NAMES, STAGE_NAMES
from bot.i18n import N_, format_day, format_money, gettext, localized
from core.engagement.checkins import CheckinStats
from core.engagement.event_organising import EventStats
from core.insights import stats
from core.insights.campaign_results import CampaignStats, Uplift, campaigns_roi
from core.insights.campaigns import HOLDOUT, A, B
from core.pushes.winback import WinbackResults
from core.shop import Shop

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
        (
            gettext(locale, "Retained from the previous period"),
            _ratio(locale, report.retained, report.previous_buyers),
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


# --- campaigns ----------------------------------------------------------------------------

GROUP_NAMES = {A: N_("Message A"), B: N_("Message B"), HOLDOUT: N_("Holdout")}


def _share(locale: str, share: float) -> str:
    return format_percent(share, "#,##0.0%", locale=locale)


def _signed_points(locale: str, difference: float) -> str:
    """A difference of two rates in percentage points, with its sign: +3.9."""
    value = format_decimal(abs(difference) * 100, "0.0", locale=locale)
    sign = "-" if difference < 0 and value != format_decimal(0, "0.0", locale=locale) else "+"
    return gettext(locale, "{value} percentage points", value=sign + value)


def _uplift_text(uplift: Uplift, shop: Shop, locale: str) -> str:
    def money(fen: int) -> str:
        return format_money(fen, locale, shop.shop.currency)

    roi = uplift.roi
    return gettext(
        locale,
        "uplift {uplift}; incremental sales {incremental}; cost {cost}; ROI {roi}",
        uplift=_signed_points(locale, uplift.conversion_uplift),
        incremental=money(uplift.incremental_fen),
        cost=money(uplift.cost_fen),
        roi=_share(locale, roi) if roi is not None else gettext(locale, "none (no cost)"),
    )


def campaign_group_rows(result: CampaignStats, shop: Shop, locale: str) -> list[tuple[str, str]]:
    """A measured campaign's groups (A, B, the holdout) and each variant's uplift over the
    holdout, as indented (label, value) rows; none for a campaign without a holdout or a
    second message. The figures are defined in ``core.insights.campaigns``."""
    if not result.measured and result.message_b is None:
        return []

    def money(fen: int) -> str:
        return format_money(fen, locale, shop.shop.currency)

    rows = []
    for group in result.groups:
        label = "  " + gettext(locale, GROUP_NAMES.get(group.group, group.group))
        bought = gettext(
            locale,
            "{members} members, {came_back} bought ({rate}), {amount}",
            members=group.members,
            came_back=group.came_back,
            rate=_share(locale, group.conversion),
            amount=money(group.sales_fen),
        )
        if group.group != HOLDOUT and result.coupons_issued:
            bought += gettext(
                locale,
                "; coupons used: {used} ({value})",
                used=group.coupons_used,
                value=money(group.coupon_value_fen),
            )
        rows.append((label, bought))
    sent = [group.group for group in result.groups if group.group != HOLDOUT]
    for name in sent:
        uplift = result.uplift_of(name)
        if uplift is not None:
            group_name = gettext(locale, GROUP_NAMES[name])
            label = "  " + gettext(locale, "{group} against the holdout", group=group_name)
            rows.append((label, _uplift_text(uplift, shop, locale)))
    together = result.uplift
    if len(sent) > 1 and together is not None:
        label = "  " + gettext(locale, "A and B against the holdout")
        rows.append((label, _uplift_text(together, shop, locale)))
    return rows


def campaign_roi_rows(
    results: Sequence[CampaignStats], shop: Shop, locale: str
) -> list[tuple[str, str]]:
    """The period's campaign ROI (campaigns with a holdout together); none without any."""
    total = campaigns_roi(results)
    if total is None:
        return []
    roi = total.roi
    return [
        (
            gettext(locale, "Campaign ROI"),
            gettext(
                locale,
                "{roi} (incremental sales {incremental}, cost {cost}; {count} measured campaigns)",
                roi=_share(locale, roi) if roi is not None else gettext(locale, "none (no cost)"),
                incremental=format_money(total.incremental_fen, locale, shop.shop.currency),
                cost=format_money(total.cost_fen, locale, shop.shop.currency),
                count=total.campaigns,
            ),
        )
    ]


def campaign_rows(
    results: Sequence[CampaignStats], shop: Shop, locale: str, zone: ZoneInfo
) -> list[tuple[str, str]]:
    """The period's campaigns for ``memberbot stats``: a row each, the rows of its groups
    when it was measured, then the campaign ROI."""
    rows = []
    for result in results:
        label = gettext(
            locale, "Campaign of {day}", day=format_day(result.sent_at.astimezone(zone), locale)
        )
        value = gettext(
            locale,
            "reached {reached}, {came_back} bought within {days} days ({amount})",
            reached=result.reached,
            came_back=result.came_back,
            days=result.within_days,
            amount=format_money(result.came_back_fen, locale, shop.shop.currency),
        )
        rows.append((label, value))
        rows += campaign_group_rows(result, shop, locale)
    return rows + campaign_roi_rows(results, shop, locale)
