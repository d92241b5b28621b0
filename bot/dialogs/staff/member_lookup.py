"""``/member <phone | member number | name>``: what staff need at the counter about one
member — profile, tier, balance, stage, preference tags, recent sales (refunds and undone
ones marked), unused coupons, open feedback, who invited them and whom they invited, an
open chat with staff (with a button to answer it); phone masked for clerks; recent audit
entries for managers."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Reply, Step, buttons
from bot.dialogs.member.for_you import category_name
from bot.dialogs.staff.handoff import open_chat
from bot.dialogs.staff.references import find_member, member_line, store_name
from bot.error_texts import STAGE_NAMES
from bot.i18n import N_, format_entries, localized
from bot.names import action_name, actor_name, channel_name
from core import audit, loyalty
from core.engagement import referrals
from core.engagement.preferences import preferences_for
from core.insights.segments import Rfm, member_segments
from core.ledger import statement
from core.ledger.coupons import member_coupons
from core.people.members import MemberView
from core.people.staff import Role
from core.service import handoff
from core.service.feedback import member_feedback

NAME = "member"
ASK = "ask"
INVITED_SHOWN = 10  # the latest ones; the count says how many in all
FREQUENCY_TAGS = {
    "high": N_("frequent buyer"),
    "medium": N_("regular buyer"),
    "low": N_("occasional buyer"),
}
AMOUNT_TAGS = {
    "high": N_("big spender"),
    "medium": N_("medium spender"),
    "low": N_("small spender"),
}


async def start(turn: Turn) -> Step:
    reference = turn.text.partition(" ")[2].strip()
    if not reference:
        text = turn._("Which member? Type a phone number, member number or name.")
        return Step([Reply(text)], next=ASK)
    return await _show(turn, reference)


async def ask(turn: Turn) -> Step:
    return await _show(turn, turn.text)


async def _show(turn: Turn, reference: str) -> Step:
    found = await find_member(turn, NAME, ASK, reference)
    if isinstance(found, Step):
        return found
    lines = await _card(turn, found)
    chat = await handoff.open_handoff_of(turn.ctx, found.id)
    if chat is None:
        return Step([Reply("\n".join(lines))])
    line, shown = open_chat(turn, chat)
    return Step([Reply("\n".join([*lines, line]), buttons(shown))])


async def _card(turn: Turn, member: MemberView) -> list[str]:
    ctx = turn.ctx
    summary = await statement.points_summary(ctx, member.id)
    tier = ctx.shop.tier(summary.tier)
    segment = next((m for m in await member_segments(ctx) if m.member_id == member.id), None)
    lines = [
        member_line(turn, member),
        turn._(
            "Tier {tier}; points {balance}; home store {store}.",
            tier=localized(tier.name, tier.name_en, turn.locale),
            balance=summary.balance,
            store=store_name(turn, member.home_store) if member.home_store else "—",
        ),
    ]
    if segment is not None:
        lines.append(turn._("Stage: {stage}", stage=turn._(STAGE_NAMES[segment.stage.value])))
    tags = await preference_tags(turn, member, segment.rfm if segment else None)
    if tags:
        lines.append(turn._("Tags: {tags}", tags=format_entries(tags, turn.locale)))
    sales = await loyalty.recent_sales(ctx, member.id)
    lines.append(turn._("Recent sales:") if sales else turn._("No sales yet."))
    lines += [_sale_line(turn, sale) for sale in sales]
    coupons = await member_coupons(ctx, member.id)
    if coupons:
        lines.append(turn._("Unused coupons:"))
        lines += [
            f"  {c.code} {turn.money(c.value_fen)} → {turn.day(c.expires_at)}" for c in coupons
        ]
    lines += await _referrals(turn, member)
    feedback = [f for f in await member_feedback(ctx, member.id) if f.status == "open"]
    if feedback:
        lines.append(turn._("Open feedback: {count}", count=len(feedback)))
    if turn.staff is not None and turn.staff.role.allows(Role.MANAGER):
        entries = await audit.recent(ctx, member.id)
        if entries:
            lines.append(turn._("Recent changes:"))
            lines += [f"  {turn.moment(e.at)} {_audit_line(turn, e)}" for e in entries]
    return lines


def _audit_line(turn: Turn, entry: audit.Entry) -> str:
    action, actor = action_name(turn._, entry.action), actor_name(turn._, entry.actor)
    if entry.channel is None:
        return turn._("{action} — {actor}", action=action, actor=actor)
    channel = channel_name(turn._, entry.channel)
    return turn._("{action} — {actor} ({channel})", action=action, actor=actor, channel=channel)


def _sale_line(turn: Turn, sale: loyalty.SaleView) -> str:
    """A sale with its receipt number, marked when undone (a slip that never happened) or
    refunded, so it does not read as a visit that counted."""
    line = (
        f"  {turn.day(sale.sold_at)} {store_name(turn, sale.store)} "
        f"{turn.money(sale.amount_fen)} {sale.receipt_no}"
    )
    if sale.undone:
        mark = turn._("undone")
    elif sale.refunded_fen:
        mark = turn._("refunded {amount}", amount=turn.money(sale.refunded_fen))
    else:
        return line
    return f"{line} — {mark}"


async def preference_tags(turn: Turn, member: MemberView, rfm: Rfm | None) -> list[str]:
    """Favourite categories, then how often and how much they buy (core.engagement.preferences)."""
    found = await preferences_for(turn.ctx, member.id, rfm)
    tags = [category_name(turn, code) for code in found.categories]
    if found.frequency is not None:
        tags.append(turn._(FREQUENCY_TAGS[found.frequency]))
    if found.amount is not None:
        tags.append(turn._(AMOUNT_TAGS[found.amount]))
    return tags


async def _referrals(turn: Turn, member: MemberView) -> list[str]:
    """Who invited the member, and whom they invited (and whether each bought already)."""
    found = await referrals.member_referrals(turn.ctx, member.id)
    lines = []
    if found.invited_by is not None:
        by = found.invited_by
        who = f"{by.name} ({by.member_no})"
        lines.append(turn._("Invited by: {name}", name=who))
    if found.invited:
        lines.append(
            turn._(
                "Invited {count} members, {rewarded} of them bought already:",
                count=len(found.invited),
                rewarded=found.rewarded,
            )
        )
        for friend in found.invited[-INVITED_SHOWN:]:
            bought = turn._("bought") if friend.rewarded_at else turn._("not yet bought")
            lines.append(
                f"  {turn.day(friend.registered_at)} {friend.name} ({friend.member_no}) — {bought}"
            )
    return lines


flow = Flow(
    name=NAME,
    start=start,
    steps={ASK: ask},
    commands=("/member",),
    role=Role.CLERK,
    staff_help=StaffHelp(N_("look up a member"), order=30),
)
FLOWS = (flow,)
