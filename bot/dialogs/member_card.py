"""``/member <phone | member number | name>``: what staff need at the counter about one
member — profile, tier, balance, stage, last visits, unused coupons, open feedback; phone
masked for clerks; recent audit entries for managers."""

from __future__ import annotations

from bot.dialogs.counter import find_member, member_line, store_name
from bot.dialogs.engine import Flow, Turn
from bot.dialogs.types import Reply, Step
from bot.i18n import localized
from bot.messages import STAGE_NAMES
from core import audit, loyalty
from core.feedback import member_feedback
from core.members import MemberView
from core.segments import member_segments
from core.staff import Role

NAME = "member"
ASK = "ask"


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
    return Step([Reply("\n".join(await _card(turn, found)))])


async def _card(turn: Turn, member: MemberView) -> list[str]:
    ctx = turn.ctx
    summary = await loyalty.points_summary(ctx, member.id)
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
    visits = await loyalty.recent_sales(ctx, member.id)
    lines.append(turn._("Last visits:") if visits else turn._("No visits yet."))
    lines += [
        f"  {turn.day(v.sold_at)} {store_name(turn, v.store)} {turn.money(v.amount_fen)}"
        for v in visits
    ]
    coupons = await loyalty.member_coupons(ctx, member.id)
    if coupons:
        lines.append(turn._("Unused coupons:"))
        lines += [
            f"  {c.code} {turn.money(c.value_fen)} → {turn.day(c.expires_at)}" for c in coupons
        ]
    feedback = [f for f in await member_feedback(ctx, member.id) if f.status == "open"]
    if feedback:
        lines.append(turn._("Open feedback: {count}", count=len(feedback)))
    if turn.staff is not None and turn.staff.role.allows(Role.MANAGER):
        entries = await audit.recent(ctx, member.id)
        if entries:
            lines.append(turn._("Recent changes:"))
            lines += [
                f"  {turn.moment(e.at)} {e.action} — {e.actor}"
                + (f" ({e.channel})" if e.channel else "")
                for e in entries
            ]
    return lines


flow = Flow(
    name=NAME,
    start=start,
    steps={ASK: ask},
    commands=("/member",),
    role=Role.CLERK,
)
