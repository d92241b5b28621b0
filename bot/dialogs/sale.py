"""Staff at the counter: ``/sale <member> <amount> [receipt no]`` records a purchase (or, bare,
asks for each), shows the points earned, the new balance and tier, and offers to undo it
for a few minutes. The member gets the receipt push through the outbox."""

from __future__ import annotations

from bot.dialogs.counter import (
    begin,
    find_member,
    member_line,
    store_choice,
    store_name,
    take_store,
)
from bot.dialogs.engine import Flow, Turn
from bot.dialogs.types import Payload, Reply, Step, buttons
from bot.i18n import localized
from core import loyalty
from core.members import MemberView, get_member
from core.staff import Role

NAME = "sale"
STORE, MEMBER, AMOUNT, UNDO = "store", "member", "amount", "undo"


async def start(turn: Turn) -> Step:
    begin(turn, ("reference", "amount", "receipt"))
    return await _next(turn)


async def _next(turn: Turn) -> Step:
    """Ask for what is still missing; record once everything is there."""
    data = turn.data
    if "store" not in data:
        return store_choice(turn, NAME, STORE)
    if "member_id" not in data:
        if "reference" not in data:
            text = turn._("Which member? Type a phone number, member number or name.")
            return Step([Reply(text)], next=MEMBER)
        found = await find_member(turn, NAME, MEMBER, data.pop("reference"))
        if isinstance(found, Step):
            return found
        data["member_id"] = found.id
    if "amount" not in data:
        return Step([Reply(turn._("How much did they spend?"))], next=AMOUNT)
    amount_fen = loyalty.parse_amount(str(data["amount"]), turn.ctx.shop.staff.max_sale_fen)
    return await _record(turn, amount_fen)


async def choose_store(turn: Turn) -> Step:
    if not take_store(turn):
        return store_choice(turn, NAME, STORE)
    return await _next(turn)


async def member(turn: Turn) -> Step:
    turn.data["reference"] = turn.text
    return await _next(turn)


async def amount(turn: Turn) -> Step:
    # Checked before it is kept, so a typo is answered here and the question stays.
    loyalty.parse_amount(turn.text, turn.ctx.shop.staff.max_sale_fen)
    turn.data["amount"] = turn.text
    return await _next(turn)


async def _record(turn: Turn, amount_fen: int) -> Step:
    assert turn.staff is not None
    data = turn.data
    store = str(data["store"])
    # Without a receipt number, a repeat of the same sale within the minute is a repeat.
    receipt = data.get("receipt") or (
        f"chat-{turn.staff.id}-{turn.ctx.now():%Y%m%d%H%M}-{amount_fen}"
    )
    member = await get_member(turn.ctx, int(data["member_id"]))
    result = await loyalty.record_sale(
        turn.ctx,
        store=store,
        receipt_no=str(receipt),
        member_id=member.id,
        amount_fen=amount_fen,
        staff_id=turn.staff.id,
    )
    if result.duplicate:
        text = turn._(
            "Receipt {receipt} in {store} is already recorded; nothing was added.",
            receipt=receipt,
            store=store_name(turn, store),
        )
        return Step([Reply(text)])
    return Step([_recorded(turn, member, amount_fen, result)])


def _recorded(turn: Turn, member: MemberView, amount_fen: int, result: loyalty.SaleResult) -> Reply:
    tier = turn.ctx.shop.tier(result.tier)
    lines = [
        turn._(
            "Recorded {amount} for {member}.",
            amount=turn.money(amount_fen),
            member=member_line(turn, member),
        ),
        turn._(
            "+{points} points; balance {balance}; tier {tier}.",
            points=result.points,
            balance=result.balance,
            tier=localized(tier.name, tier.name_en, turn.locale),
        ),
    ]
    if result.upgraded_from is not None:
        lines.append(turn._("Upgraded with this purchase!"))
    minutes = turn.ctx.shop.staff.undo_minutes
    if not minutes:
        return Reply("\n".join(lines))
    undo = Payload(NAME, UNDO).button(turn._("Undo (within {minutes} min)", minutes=minutes))
    return Reply("\n".join(lines), buttons([undo]))


async def undo(turn: Turn) -> Step:
    """The clerk's own last sale, in full; the member is told through the outbox."""
    assert turn.staff is not None
    result = await loyalty.undo_last_sale(turn.ctx, staff_id=turn.staff.id)
    member = await get_member(turn.ctx, result.member_id)
    text = turn._(
        "Undone: {amount} for {member}; {points} points taken back, balance {balance}.",
        amount=turn.money(result.amount_fen),
        member=member_line(turn, member),
        points=result.points_reversed,
        balance=result.balance,
    )
    return Step([Reply(text)])


flow = Flow(
    name=NAME,
    start=start,
    steps={STORE: choose_store, MEMBER: member, AMOUNT: amount, UNDO: undo},
    commands=("/sale",),
    stateless=frozenset({UNDO}),  # a second tap finds the sale refunded and says so
    role=Role.CLERK,
)
