"""Sales from the till and their refunds. A sale is done once per store and receipt, and
once per Idempotency-Key: a retry gets the first answer again (``Idempotent-Replayed:
true``), also when it arrives on another worker at the same moment."""

from __future__ import annotations

from typing import Any

from bot.api.declare import Call, Reply, Route
from bot.api.members import member_ref, tier_of
from bot.api.models import NewRefund, NewSale, Refund, Sale
from core.engagement.products import SaleLine
from core.errors import IdempotencyKeyReused, InvalidInput, ReceiptDiffers
from core.integrations import till
from core.integrations.once import KEY_MAX, Once, Scope, fingerprint, key_scope, receipt_scope
from core.ledger import receipts
from core.ledger.refunds import refund_sale
from core.loyalty import record_sale
from core.people.members import format_member_no

IDEMPOTENCY_KEY = "Idempotency-Key"
REPLAYED = {"Idempotent-Replayed": "true"}
# The request header a route that keeps its first answer reads, as the document says it.
RETRY_SAFE = {IDEMPOTENCY_KEY: "Makes a retry safe: the first answer is given again."}


def key_scopes(call: Call[Any]) -> tuple[Scope, ...]:
    """The request's own Idempotency-Key, if it sent one."""
    sent = call.headers.get(IDEMPOTENCY_KEY)
    if sent is None:
        return ()
    if not sent.strip() or len(sent) > KEY_MAX or not sent.isascii() or not sent.isprintable():
        raise InvalidInput(field=IDEMPOTENCY_KEY, value=sent[:40])
    return (Scope(key_scope(call.key.id, sent), IdempotencyKeyReused()),)


async def record(call: Call[NewSale]) -> Reply:
    new = call.data
    call.key.act_for(new.store)
    receipt_no = receipts.check(new.receipt_no)
    member_id = await till.member_id(call.ctx, member_ref(new.member))
    receipt = Scope(
        receipt_scope(new.store, receipt_no),
        ReceiptDiffers(store=new.store, receipt_no=receipt_no),
    )
    lines = [SaleLine(line.product, line.quantity, line.amount_fen) for line in new.lines]
    # The same sale is what it records, however the request spelled the member or receipt.
    items = [(line.product, line.quantity, line.amount_fen) for line in lines]
    recorded = ("sale", new.store, receipt_no, member_id, new.amount_fen, items)
    once = Once(fingerprint(*recorded), (*key_scopes(call), receipt))
    result = await record_sale(
        call.ctx,
        store=new.store,
        receipt_no=receipt_no,
        member_id=member_id,
        amount_fen=new.amount_fen,
        lines=lines,
        actor=call.key.actor,
        once=once,
    )
    sale = Sale(
        store=new.store,
        receipt_no=result.receipt_no,
        member_no=format_member_no(member_id),
        amount_fen=new.amount_fen,
        points=result.points,
        balance=result.balance,
        tier=tier_of(call.ctx, result.tier),
        upgraded_from=result.upgraded_from,
    )
    return Reply(sale, status=201, headers=REPLAYED if result.duplicate else {})


async def refund(call: Call[NewRefund]) -> Reply:
    store, receipt_no = call.path["store"], call.path["receipt"]
    call.key.act_for(store)
    scopes = key_scopes(call)
    once = Once(fingerprint("refund", store, receipt_no, call.data.model_dump()), scopes)
    result = await refund_sale(
        call.ctx,
        store=store,
        receipt_no=receipt_no,
        amount_fen=call.data.amount_fen,
        actor=call.key.actor,
        once=once if scopes else None,
    )
    answer = Refund(
        store=store,
        receipt_no=receipts.check(receipt_no),
        amount_fen=result.amount_fen,
        points_reversed=result.points_reversed,
        shortfall=result.shortfall,
        balance=result.balance,
    )
    return Reply(answer, status=201, headers=REPLAYED if result.replayed else {})


ROUTES = (
    Route(
        "POST",
        "/sales",
        "recordSale",
        "Record a sale and award its points; a retry (same store and receipt, or the same "
        "Idempotency-Key) gets the first answer and changes nothing.",
        "sales:write",
        record,
        answer=Sale,
        body=NewSale,
        status=201,
        problems=(404, 409),
        headers=RETRY_SAFE,
    ),
    Route(
        "POST",
        "/sales/{store}/{receipt}/refunds",
        "refundSale",
        "Refund a sale in full (no amount) or in part; points beyond what the rest of the "
        "sale earns are taken back.",
        "sales:write",
        refund,
        answer=Refund,
        body=NewRefund,
        status=201,
        problems=(404, 409),
        headers=RETRY_SAFE,
    ),
)
