"""Taking a sale back: a refund (in full or in part) and a clerk's undo, which is a full
refund that never happened.

Apart from recording a sale because a refund has its own rule (a sale keeps what its net
amount earns), its own shortfall when points were already spent, and its own alert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.errors import NotAllowed, RefundTooLarge, UndoTooLate, UnknownSale
from core.integrations import webhooks
from core.integrations.once import Once
from core.ledger import receipts
from core.ledger.points import balance_in, consume
from core.ledger.rules import check_amount, points_kept
from core.ledger.tiers import undo_upgrade
from core.oversight import alerts
from core.people.members import lock_member, store_id
from core.people.staff import Role
from core.pushes import outbox
from storage.models import LedgerRow, MemberRow, RefundRow, SaleRow, StoreRow
from storage.session import Session


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    member_id: int
    amount_fen: int
    points_reversed: int
    shortfall: int
    balance: int
    replayed: bool = False  # the kept first answer to a retried request


async def refund_sale(
    ctx: Context,
    *,
    store: str,
    receipt_no: str,
    amount_fen: int | None = None,
    staff_id: int | None = None,
    notify: bool = True,
    actor: str | None = None,
    once: Once | None = None,
) -> RefundResult:
    """Refund a sale in full (no amount) or in part, and take back the points it earned
    beyond what its net amount earns (:func:`points_kept`). Points already spent cannot be
    taken back: the balance stops at zero and the missing points are recorded as a shortfall
    for staff to see. ``notify`` off queues no push (historical data). ``actor`` is who the
    audit names (by default the staff member); with ``once`` a retry gets the first answer
    (core.integrations.once)."""
    if amount_fen is not None:
        check_amount(amount_fen)
    args = (ctx, store, receipts.check(receipt_no), amount_fen, staff_id, notify, actor, once)
    try:
        return await _refund_sale(*args)
    except IntegrityError:
        if once is None:
            raise
        # A copy of this request on another worker kept its answer between our look and our
        # commit (PostgreSQL): looking again replays it.
        return await _refund_sale(*args)


async def _refund_sale(
    ctx: Context,
    store: str,
    receipt_no: str,
    amount_fen: int | None,
    staff_id: int | None,
    notify: bool,
    actor: str | None,
    once: Once | None,
) -> RefundResult:
    async with ctx.db.transaction() as s:
        if once is not None and (answer := await once.replay(s)) is not None:
            return RefundResult(**(answer | {"replayed": True}))
        sid = await store_id(s, store)
        sale_id = await s.scalar(select(SaleRow.id).where(receipts.live(sid, receipt_no)))
        if sale_id is None:
            raise UnknownSale(store=store, receipt_no=receipt_no)
        member, sale = await _locked_sale(s, sale_id)
        actor = actor or audit.staff_actor(staff_id)
        result = await _refund(
            s, ctx, member, sale, store, amount_fen, staff_id, notify, actor=actor
        )
        if once is not None:
            await once.remember(s, asdict(result), ctx.now())
        return result


async def undo_sale(ctx: Context, *, sale_id: int, staff_id: int) -> RefundResult:
    """A clerk's slip: take back a sale they recorded, in full, within the shop's
    ``staff.undo_minutes``. After that (or once refunded) it is a refund for a manager.
    The sale is named by its id, so an Undo tapped under an older sale (or on another
    counter's screen) never takes back a newer one. An undone sale never happened: its
    receipt number can be entered again, and the figures leave it out."""
    window = timedelta(minutes=ctx.shop.staff.undo_minutes)
    async with ctx.db.transaction() as s:
        member, sale = await _locked_sale(s, sale_id)
        if sale.staff_id != staff_id:  # a colleague's sale: refunding it is a manager's
            raise NotAllowed(needed=Role.MANAGER.value)
        if sale.refunded_fen or ctx.now() - sale.sold_at > window:
            raise UndoTooLate(receipt_no=sale.receipt_no)
        store = await s.scalar(select(StoreRow.code).where(StoreRow.id == sale.store_id))
        actor = audit.staff_actor(staff_id)
        return await _refund(
            s, ctx, member, sale, str(store), None, staff_id, True, actor=actor, undo=True
        )


async def _locked_sale(s: Session, sale_id: int) -> tuple[MemberRow, SaleRow]:
    """The sale, read after its member is locked: what it looks like to this refund only."""
    member_id = await s.scalar(select(SaleRow.member_id).where(SaleRow.id == sale_id))
    if member_id is None:
        raise UnknownSale(store="", receipt_no="")
    member = await lock_member(s, member_id)
    sale = await s.get(SaleRow, sale_id, populate_existing=True)
    assert sale is not None
    return member, sale


def refund_amount(refundable_fen: int, amount_fen: int | None) -> int:
    """What a refund of ``amount_fen`` (None: all that is left) takes from a sale with
    ``refundable_fen`` left: refused above it, and when nothing is left (asked before the
    confirmation, and checked again under the sale's lock)."""
    amount = refundable_fen if amount_fen is None else amount_fen
    if refundable_fen == 0 or amount > refundable_fen:
        raise RefundTooLarge(refundable_fen=refundable_fen)
    return amount


async def _refund(
    s: Session,
    ctx: Context,
    member: MemberRow,
    sale: SaleRow,
    store: str,
    amount_fen: int | None,
    staff_id: int | None,
    notify: bool,
    *,
    actor: str,
    undo: bool = False,
) -> RefundResult:
    """:func:`refund_sale` of a locked sale; ``undo`` marks it undone, which frees its
    receipt number and leaves it out of the figures (it never happened)."""
    now = ctx.now()
    receipt_no = sale.receipt_no
    amount = refund_amount(sale.amount_fen - sale.refunded_fen, amount_fen)
    sale.refunded_fen += amount
    if undo:
        sale.undone_at = now
        await undo_upgrade(s, ctx, member, sale)
    own_lot = await s.scalar(
        select(LedgerRow).where(LedgerRow.sale_id == sale.id, LedgerRow.kind == "earn")
    )
    net = sale.amount_fen - sale.refunded_fen
    kept = points_kept(own_lot.detail if own_lot else None, net)
    owed = max(sale.points_earned - sale.points_reversed - kept, 0)
    sale.points_reversed += owed
    # The sale's own lot first, then the other live lots, soonest to expire first.
    taken = 0
    if own_lot is not None and own_lot.remaining and (own_lot.expires_at or now) > now:
        taken = min(own_lot.remaining, owed)
        own_lot.remaining -= taken
    taken += await consume(s, member.id, owed - taken, now)
    refund = RefundRow(
        sale_id=sale.id,
        amount_fen=amount,
        points_reversed=taken,
        shortfall=owed - taken,
        created_at=now,
        staff_id=staff_id,
    )
    s.add(refund)
    await s.flush()
    s.add(
        LedgerRow(
            member_id=member.id,
            kind="refund",
            points=-taken,
            created_at=now,
            sale_id=sale.id,
            refund_id=refund.id,
            shortfall=owed - taken,
            detail={
                "amount_fen": amount,
                "sale_fen": sale.amount_fen,
                "net_fen": net,
                "kept": kept,
                "owed": owed,
            },
        )
    )
    await s.flush()
    if notify:  # historical data alerts nobody
        await alerts.check_refund(s, ctx, refund, member.id, store, receipt_no)
    balance = await balance_in(s, member.id, now)
    if notify:
        await outbox.enqueue(
            s,
            now=now,
            member_id=member.id,
            marketing_consent=member.marketing_consent,
            kind="refund",
            dedup_key=f"refund:{refund.id}",
            params={
                "store": store,
                "receipt_no": receipt_no,
                "amount_fen": amount,
                "points": taken,
                "balance": balance,
            },
        )
    if notify:
        await webhooks.emit(
            s,
            now,
            "sale.refunded",
            member_id=member.id,
            store=store,
            data={
                "receipt_no": receipt_no,
                **webhooks.money("amount", amount),
                "points_reversed": taken,
                "points_short": owed - taken,
                "balance": balance,
                "undone": undo,  # a clerk's slip taken back: the sale never happened
            },
        )
    audit.record(
        s,
        now,
        actor,
        "sale.undone" if undo else "sale.refunded",
        member.id,
        sale_id=sale.id,
        amount_fen=amount,
        points=taken,
        shortfall=owed - taken,
    )
    return RefundResult(
        refund_id=refund.id,
        member_id=member.id,
        amount_fen=amount,
        points_reversed=taken,
        shortfall=owed - taken,
        balance=balance,
    )


@dataclass(frozen=True)
class Shortfall:
    """Points a refund could not take back because the member had already spent them."""

    member_id: int
    store: str
    receipt_no: str
    refund_amount_fen: int
    points: int
    at: datetime


async def list_shortfalls(ctx: Context, limit: int = 50) -> list[Shortfall]:
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(RefundRow, SaleRow, StoreRow.code)
            .join(SaleRow, SaleRow.id == RefundRow.sale_id)
            .join(StoreRow, StoreRow.id == SaleRow.store_id)
            .where(RefundRow.shortfall > 0)
            .order_by(RefundRow.created_at.desc())
            .limit(limit)
        )
        return [
            Shortfall(
                member_id=sale.member_id,
                store=code,
                receipt_no=sale.receipt_no,
                refund_amount_fen=refund.amount_fen,
                points=refund.shortfall,
                at=refund.created_at,
            )
            for refund, sale, code in rows
        ]
