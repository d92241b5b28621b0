"""Staff at the counter: ``/sale <member> <amount> [receipt no]`` records a purchase (or, bare,
asks for each), shows its receipt number (without one typed, the store's next of the day),
the points earned, the new balance and tier, and offers to undo it for a few minutes. The
member gets the receipt push through the outbox.

What was bought may follow as ``code=amount`` or ``code*quantity=amount`` words (``latte*2=56
cheesecake=30``): the sale's product lines (core.engagement.products),
adding up to the amount or less.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.staff.references import (
    begin,
    find_member,
    member_line,
    split_reference,
    store_choice,
    store_name,
    take_store,
)
from bot.i18n import N_, format_entries, localized
from core import loyalty
from core.engagement import products
from core.engagement.products import SaleLine
from core.errors import InvalidAmount, InvalidInput, UndoTooLate
from core.ledger import refunds, rules
from core.people.members import MemberView, get_member
from core.people.staff import Role

NAME = "sale"
STORE, MEMBER, AMOUNT, UNDO = "store", "member", "amount", "undo"
_LINE = re.compile(r"^([a-z0-9][a-z0-9_-]{0,31})(?:[*x×](\d{1,5}))?=(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class SaleRef(ButtonValue):
    """An Undo button's value: the sale it undoes."""

    sale_id: int


async def start(turn: Turn) -> Step:
    """``/sale <member> <amount> [receipt no] [lines]``: the member may be a name with
    spaces (``/sale Li Lei 238``): the amount is the first word after it that starts like
    money; a typo in it is asked again."""
    begin(turn, ())
    # What a double tap of this conversation's buttons shares, and a retry of this message
    # after a crash too, while identical sales entered apart do not.
    turn.data["entry"] = turn.event.once_key()
    words = turn.text.split()[1:]
    reference, rest = split_reference([w for w in words if "=" not in w], _like_money)
    if reference:
        turn.data["reference"] = reference
    turn.data.update(zip(("amount", "receipt"), rest[:2], strict=False))
    if typed := [word for word in words if "=" in word]:
        turn.data["lines"] = [_line(turn, word) for word in typed]
    return await _next(turn)


def _like_money(word: str) -> bool:
    return word[:1].isdecimal() or word[:1] in "¥￥"


def _line(turn: Turn, word: str) -> list[object]:
    """One ``code[*quantity]=amount`` word as [code, quantity, fen]."""
    match = _LINE.match(word)
    if match is None:
        raise InvalidInput(field="lines", value=word[:40])
    code, quantity, amount = match.groups()
    fen = rules.parse_amount(amount, turn.ctx.shop.staff.max_sale_fen)
    return [code.lower(), int(quantity or 1), fen]


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
    ask = turn._("How much did they spend?")
    if "amount" not in data:
        return Step([Reply(ask)], next=AMOUNT)
    try:
        amount_fen = rules.parse_amount(str(data["amount"]), turn.ctx.shop.staff.max_sale_fen)
    except InvalidAmount as error:  # typed with the command: say why, and ask for it
        del data["amount"]
        return Step([Reply(f"{turn.describe(error)}\n{ask}")], next=AMOUNT)
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
    rules.parse_amount(turn.text, turn.ctx.shop.staff.max_sale_fen)
    turn.data["amount"] = turn.text
    return await _next(turn)


async def _record(turn: Turn, amount_fen: int) -> Step:
    assert turn.staff is not None
    data = turn.data
    store = str(data["store"])
    member = await get_member(turn.ctx, int(data["member_id"]))
    lines = [SaleLine(str(c), int(q), int(f)) for c, q, f in data.get("lines", [])]
    receipt = data.get("receipt")  # else the store's next number of the day
    result = await loyalty.record_sale(
        turn.ctx,
        store=store,
        receipt_no=None if receipt is None else str(receipt),
        member_id=member.id,
        amount_fen=amount_fen,
        staff_id=turn.staff.id,
        lines=lines,
        entry_key=data.get("entry"),
    )
    if result.duplicate:
        text = turn._(
            "Receipt {receipt} in {store} is already recorded; nothing was added.",
            receipt=result.receipt_no,
            store=store_name(turn, store),
        )
        return Step([Reply(text)])
    reply = _recorded(turn, member, amount_fen, result)
    if lines:
        named = await products.products_by_code(turn.ctx, [line.product for line in lines])
        bought = format_entries(
            (
                f"{localized(named[line.product].name, named[line.product].name_en, turn.locale)}"
                f" ×{line.quantity}"
                for line in lines
            ),
            turn.locale,
        )
        head, *rest = reply.text.split("\n", 1)
        text = "\n".join([head, turn._("Products: {products}", products=bought), *rest])
        reply = Reply(text, reply.buttons)
    return Step([reply])


def _recorded(turn: Turn, member: MemberView, amount_fen: int, result: loyalty.SaleResult) -> Reply:
    tier = turn.ctx.shop.tier(result.tier)
    lines = [
        turn._(
            "Recorded {amount} for {member}.",
            amount=turn.money(amount_fen),
            member=member_line(turn, member),
        ),
        turn._("Receipt number: {receipt}", receipt=result.receipt_no),
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
    label = turn._("Undo (within {minutes} min)", minutes=minutes)
    undo = Payload(NAME, UNDO, SaleRef(result.sale_id).pack()).button(label)
    return Reply("\n".join(lines), buttons([undo]))


async def undo(turn: Turn) -> Step:
    """The sale the button was shown under, in full; the member is told through the outbox."""
    assert turn.staff is not None
    tapped = turn.payload.read(SaleRef) if turn.payload else None
    if tapped is None:  # a button from before sales were named
        raise UndoTooLate(receipt_no="")
    result = await refunds.undo_sale(turn.ctx, sale_id=tapped.sale_id, staff_id=turn.staff.id)
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
    staff_help=StaffHelp(N_("record a purchase"), order=10),
)
FLOWS = (flow,)
