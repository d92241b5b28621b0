"""``/refund <receipt no> [amount]``: a manager takes back a sale, in full or in part, after
seeing what it was (or, after a first refund, what is left of it); the sale keeps the
points its net amount earns and the rest go back (what was already spent is recorded as a
shortfall) and the member is told through the outbox."""

from __future__ import annotations

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Payload, Reply, Step, buttons
from bot.dialogs.staff.references import begin, member_line, store_choice, store_name, take_store
from bot.i18n import N_
from core import loyalty
from core.ledger import refunds, rules
from core.people.members import get_member
from core.people.staff import Role

NAME = "refund"
STORE, RECEIPT, CONFIRM = "store", "receipt", "confirm"
YES, NO = "yes", "no"


async def start(turn: Turn) -> Step:
    begin(turn, ("receipt", "amount"))
    return await _next(turn)


async def _next(turn: Turn) -> Step:
    data = turn.data
    if "store" not in data:
        return store_choice(turn, NAME, STORE)
    if "receipt" not in data:
        return Step([Reply(turn._("Which receipt number?"))], next=RECEIPT)
    if "amount" in data and "amount_fen" not in data:
        data["amount_fen"] = rules.parse_amount(
            str(data.pop("amount")), turn.ctx.shop.staff.max_sale_fen
        )
    sale = await loyalty.find_sale(turn.ctx, store=data["store"], receipt_no=data["receipt"])
    member = await get_member(turn.ctx, sale.member_id)
    refundable = sale.amount_fen - sale.refunded_fen
    amount = refunds.refund_amount(refundable, data.get("amount_fen"))
    params = {
        "amount": turn.money(amount),
        "receipt": sale.receipt_no,
        "store": store_name(turn, data["store"]),
        "total": turn.money(sale.amount_fen),
        "member": member_line(turn, member),
    }
    if sale.refunded_fen:  # a second refund: what is left of the sale, not what it was
        lines = (
            turn._(
                "Refund {amount} of receipt {receipt} ({store}, {refundable} of {total} still "
                "refundable) for {member}?",
                refundable=turn.money(refundable),
                **params,
            ),
            turn._("Points this sale still holds: {points}", points=sale.points_held),
        )
    else:
        lines = (
            turn._(
                "Refund {amount} of receipt {receipt} ({store}, {total}) for {member}?", **params
            ),
            turn._("Points earned by this sale: {points}", points=sale.points_earned),
        )
    text = "\n".join(lines)
    answers = buttons(
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Refund")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    )
    return Step([Reply(text, answers)], next=CONFIRM)


async def choose_store(turn: Turn) -> Step:
    if not take_store(turn):
        return store_choice(turn, NAME, STORE)
    return await _next(turn)


async def receipt(turn: Turn) -> Step:
    parts = turn.text.split()
    if not parts:
        return await _next(turn)
    turn.data["receipt"] = parts[0]
    if len(parts) > 1:
        turn.data["amount"] = parts[1]
    return await _next(turn)


async def confirm(turn: Turn) -> Step:
    """Once, however often it is tapped."""
    assert turn.staff is not None
    if turn.payload is None:
        return await _next(turn)
    if turn.payload.value != YES:
        return Step([Reply(turn._("Cancelled; nothing was refunded."))])
    data = turn.data
    result = await refunds.refund_sale(
        turn.ctx,
        store=data["store"],
        receipt_no=data["receipt"],
        amount_fen=data.get("amount_fen"),
        staff_id=turn.staff.id,
    )
    lines = [
        turn._(
            "Refunded {amount}; {points} points taken back, balance {balance}.",
            amount=turn.money(result.amount_fen),
            points=result.points_reversed,
            balance=result.balance,
        )
    ]
    if result.shortfall:
        lines.append(
            turn._(
                "{points} points of this sale were already spent; the owner is told.",
                points=result.shortfall,
            )
        )
    return Step([Reply("\n".join(lines))])


flow = Flow(
    name=NAME,
    start=start,
    steps={STORE: choose_store, RECEIPT: receipt, CONFIRM: confirm},
    commands=("/refund",),
    once=frozenset({CONFIRM}),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("refund a sale"), order=70),
)
FLOWS = (flow,)
