"""My points: balance, tier and perks, progress to the next tier, points about to expire,
the last ledger entries, and for each entry "why?" — the rule that produced it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.dialogs.engine.dialogs import Flow, Menu, MenuCommand, Turn
from bot.dialogs.engine.intents import Intents
from bot.dialogs.engine.types import ButtonValue, Payload, Reply, Step, buttons
from bot.i18n import N_, localized
from core.errors import NotFound
from core.ledger import statement

NAME = "points"
WHY = "why"
EXPIRY_WARNING_DAYS = 30
ENTRIES = 5
KIND_NAMES = {
    "earn": N_("earned"),
    "spend": N_("redeemed"),
    "expire": N_("expired"),
    "adjust": N_("adjusted"),
    "refund": N_("taken back (refund)"),
    "checkin": N_("daily check-in"),
    "event": N_("event sign-up"),
    "event_return": N_("returned (event cancelled)"),
    "referral": N_("invite reward"),
    "migrated": N_("carried over"),
}


@dataclass(frozen=True)
class EntryRef(ButtonValue):
    """A "why?" button's value: the ledger entry it explains."""

    entry_id: int


async def show(turn: Turn) -> Step:
    assert turn.member is not None
    shop = turn.ctx.shop
    overview = await statement.points_overview(
        turn.ctx, turn.member.id, expiring_days=EXPIRY_WARNING_DAYS, entries=ENTRIES
    )
    summary = overview.summary
    tier = shop.tier(summary.tier)
    lines = [
        turn._("Points: {balance}", balance=summary.balance),
        turn._(
            "Tier: {tier} — {perks}",
            tier=localized(tier.name, tier.name_en, turn.locale),
            perks=localized(tier.perks, tier.perks_en, turn.locale),
        ),
    ]
    following = shop.next_tier(summary.tier)
    if following is not None and summary.to_next_tier_fen is not None:
        lines.append(
            turn._(
                "Spend {amount} more within {months} months to reach {tier}.",
                amount=turn.money(summary.to_next_tier_fen),
                months=shop.tiers.window_months,
                tier=localized(following.name, following.name_en, turn.locale),
            )
        )
    for lot in overview.expiring:
        lines.append(
            turn._(
                "{points} points expire on {day}.", points=lot.points, day=turn.day(lot.expires_at)
            )
        )
    entries = overview.latest
    if entries:
        lines.append(turn._("Latest:"))
    why_buttons = []
    for number, entry in enumerate(entries, start=1):
        lines.append(
            f"{number}. {turn.day(entry.at)} {entry.points:+d} {turn._(KIND_NAMES[entry.kind])}"
        )
        label = turn._("Why #{number}?", number=number)
        why_buttons.append(Payload(NAME, WHY, EntryRef(entry.id).pack()).button(label))
    rows = [why_buttons[i : i + 3] for i in range(0, len(why_buttons), 3)]
    return Step([Reply("\n".join(lines), buttons(*rows))])


async def why(turn: Turn) -> Step:
    """Explain one ledger entry of this member (never anyone else's)."""
    assert turn.member is not None and turn.payload is not None
    tapped = turn.payload.read(EntryRef)
    if tapped is None:
        raise NotFound()
    found = await statement.ledger(turn.ctx, turn.member.id, 1, entry_id=tapped.entry_id)
    if not found:
        raise NotFound()
    return Step([Reply(explain(turn, found[0]))])


def explain(turn: Turn, entry: statement.LedgerEntry) -> str:
    detail = entry.detail
    if entry.kind == "earn" and "base_points" in detail:
        tier = turn.ctx.shop.tier(str(detail["tier"]))
        return turn._(
            "{amount} → {base} points × {multiplier} {tier} = {points}",
            amount=turn.money(_figure(detail, "amount_fen")),
            base=detail["base_points"],
            multiplier=Decimal(str(detail["multiplier"])).normalize(),
            tier=localized(tier.name, tier.name_en, turn.locale),
            points=entry.points,
        )
    if entry.kind == "spend":
        reward = turn.ctx.shop.reward(str(detail.get("reward", "")))
        name = localized(reward.name, reward.name_en, turn.locale) if reward else "?"
        return turn._("{points} points redeemed for {reward}.", points=-entry.points, reward=name)
    if entry.kind == "expire":
        return turn._(
            "{points} points were not used within their lifetime of {months} months.",
            points=-entry.points,
            months=turn.ctx.shop.points.lifetime_months,
        )
    if entry.kind == "referral":
        if detail.get("role") == "welcome":
            return turn._("A welcome gift: a friend invited you, and you made your first purchase.")
        return turn._("Thank you for inviting a friend: they made their first purchase.")
    if entry.kind == "checkin":
        return _explain_checkin(turn, entry)
    if entry.kind in ("event", "event_return"):
        title = localized(
            str(detail.get("title", "")), str(detail.get("title_en", "")), turn.locale
        )
        if entry.kind == "event":
            return turn._(
                "{points} points for your place at {title}.", points=-entry.points, title=title
            )
        return turn._(
            "Your place at {title} was cancelled: its {points} points came back, with the "
            "expiry they had.",
            title=title,
            points=entry.points,
        )
    if entry.kind == "refund":
        return _explain_refund(turn, entry)
    if entry.kind == "migrated":
        lines = [turn._("Points carried over from your previous membership.")]
        if entry.expires_at is not None:
            lines.append(turn._("They expire on {day}.", day=turn.day(entry.expires_at)))
        return "\n".join(lines)
    return turn._("Adjusted by the shop: {reason}", reason=entry.reason)


def _explain_refund(turn: Turn, entry: statement.LedgerEntry) -> str:
    """What the sale keeps after it (core.ledger.rules.points_kept), when part of it is kept."""
    detail = entry.detail
    refunded = _figure(detail, "amount_fen")
    if _figure(detail, "net_fen") > 0:
        return turn._(
            "{refunded} of a purchase of {amount} was refunded: the {net} kept earns {kept} "
            "points, so {points} points were taken back.",
            refunded=turn.money(refunded),
            amount=turn.money(_figure(detail, "sale_fen")),
            net=turn.money(_figure(detail, "net_fen")),
            kept=detail.get("kept", 0),
            points=-entry.points,
        )
    return turn._(
        "A purchase of {amount} was refunded, so its points were taken back.",
        amount=turn.money(_figure(detail, "sale_fen", refunded)),
    )


def _figure(detail: dict[str, object], key: str, default: int = 0) -> int:
    """A whole number the ledger entry's detail holds (JSON keeps them as numbers)."""
    value = detail.get(key, default)
    return value if isinstance(value, int) else default


def _explain_checkin(turn: Turn, entry: statement.LedgerEntry) -> str:
    detail = entry.detail
    lines = [
        turn._(
            "Daily check-in on {day}, day {streak} in a row: {points} points.",
            day=turn.day(date.fromisoformat(str(detail.get("day", entry.at.date().isoformat())))),
            streak=detail.get("streak", 1),
            points=detail.get("points", entry.points),
        )
    ]
    if detail.get("bonus"):
        lines.append(turn._("Streak bonus: {bonus} points.", bonus=detail["bonus"]))
    if detail.get("capped"):
        lines.append(turn._("Cut to this month's check-in limit."))
    if entry.expires_at is not None:
        lines.append(turn._("They expire on {day}.", day=turn.day(entry.expires_at)))
    return "\n".join(lines)


flow = Flow(
    name=NAME,
    start=show,
    steps={WHY: why},
    stateless=frozenset({WHY}),
    commands=("/points",),
    intents=(
        Intents(
            zh=(
                "积分",
                "我的积分",
                "查积分",
                "查分",
                "查一下积分",
                "积分余额",
                "余额",
                "还有多少积分",
                "多少分",
                "我有多少积分",
                "积分多少",
                "等级",
                "我的等级",
                "我是什么等级",
                "会员等级",
                "我是金卡吗",
                "我是银卡吗",
                "我是钻石会员吗",
                "还差多少升级",
                "怎么升级",
                "多久升级",
                "积分明细",
                "积分记录",
                "积分什么时候过期",
                "积分过期",
                "积分怎么算",
                "离钻石还差多少",
            ),
            en=(
                "points",
                "my points",
                "check my points",
                "how many points do i have",
                "points balance",
                "balance",
                "what level am i",
                "my level",
                "my tier",
                "tier",
                "what tier am i",
                "am i gold",
                "am i a gold member",
                "my status",
                "how close am i to the next level",
                "how far to the next tier",
                "how much more to upgrade",
                "upgrade",
                "points history",
                "when do my points expire",
                "point",
            ),
        ),
    ),
    precedence=20,
    menu=Menu(N_("My points"), order=10),
    command_menu=(MenuCommand("points", N_("My points and tier"), order=20),),
)
FLOWS = (flow,)
