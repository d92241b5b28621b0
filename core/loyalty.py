"""Sales: recording a purchase and what it sets off (points, an upgrade, a referral's
reward, a burst alert, the receipt push), and the sales staff look up.

The entry point the counter calls for a sale; the rules it applies live in ``core.ledger``
(points, rules, tiers), where refunds, coupons, adjustments and the statement are too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.context import Context
from core.engagement import products, referrals
from core.errors import ReceiptTaken, UnknownSale
from core.integrations import webhooks
from core.integrations.once import Once
from core.ledger import receipts
from core.ledger.points import balance_in, write_lot
from core.ledger.rules import EarnRule, check_amount, points_for
from core.ledger.statement import summary_in
from core.ledger.tiers import change_tier
from core.oversight import alerts
from core.people.members import lock_member, lock_standing, store_id
from core.pushes import outbox
from storage.db import run
from storage.models import SaleRow, StoreRow


@dataclass(frozen=True)
class SaleResult:
    sale_id: int
    receipt_no: str
    duplicate: bool
    points: int
    balance: int
    tier: str
    upgraded_from: str | None
    rule: EarnRule | None

    def answer(self) -> dict[str, Any]:
        """What a request done once keeps (core.integrations.once)."""
        return asdict(self) | {"duplicate": False}

    @classmethod
    def replayed(cls, answer: dict[str, Any]) -> SaleResult:
        """The kept answer, given again: a duplicate of the first."""
        rule = EarnRule(**answer["rule"]) if answer.get("rule") else None
        return cls(**(answer | {"duplicate": True, "rule": rule}))


async def record_sale(
    ctx: Context,
    *,
    store: str,
    receipt_no: str | None,
    member_id: int,
    amount_fen: int,
    staff_id: int | None = None,
    notify: bool = True,
    lines: Sequence[products.SaleLine] | None = None,
    entry_key: str | None = None,
    actor: str | None = None,
    once: Once | None = None,
) -> SaleResult:
    """Record a purchase and award its points; the same (store, receipt) earns only once.

    Without a receipt number the sale gets the store's next chat number of the shop day
    (core.ledger.receipts). ``entry_key`` (at most 32 characters) names what entered it, a chat
    conversation: the same key twice, even at once, is one sale — a double tap — while
    identical sales entered apart are as many sales. A sale that lifts the member's window
    spending over a threshold upgrades them at once. The receipt push (and an upgrade's
    push) is queued in the same transaction, unless ``notify`` is off, e.g. for historical
    data. ``lines`` optionally say which products were bought
    (:func:`core.engagement.products.check_lines`: they add up to the amount or less).
    A member's first
    purchase earns their inviter's reward (core.engagement.referrals), once.
    ``actor`` is who the audit names (by default the staff member); with ``once`` the first
    answer is kept, and a retry gets it again (core.integrations.once).
    """
    check_amount(amount_fen)
    if receipt_no is not None:
        receipt_no = receipts.check(receipt_no)
    items = products.check_lines(lines or (), amount_fen)
    actor = actor or audit.staff_actor(staff_id)
    args = (ctx, store, receipt_no, member_id, amount_fen, staff_id, notify, items, entry_key)
    try:
        return await _record_sale(*args, actor, once)
    except IntegrityError:
        # Another process inserted this receipt (or entry, or first answer) between our check
        # and our insert (PostgreSQL). Looking again tells whether it is a duplicate.
        return await _record_sale(*args, actor, once)


# What a sale looks up before it is recorded: built once, run prebuilt (storage.db.run).
_ENTERED = select(SaleRow.id, SaleRow.member_id, SaleRow.receipt_no, SaleRow.points_earned)
_BY_ENTRY = _ENTERED.where(SaleRow.entry_key == bindparam("entry_key"))
_BY_RECEIPT = _ENTERED.where(receipts.live(bindparam("store_id"), bindparam("receipt_no")))
# And what it writes (the sale, its lot, the audit, the kept answer): no ORM unit of work.
_INSERT_SALE = insert(SaleRow.__table__).returning(SaleRow.id)


async def _record_sale(
    ctx: Context,
    store: str,
    receipt_no: str | None,
    member_id: int,
    amount_fen: int,
    staff_id: int | None,
    notify: bool,
    lines: Sequence[products.SaleLine],
    entry_key: str | None,
    actor: str,
    once: Once | None,
) -> SaleResult:
    now = ctx.now()
    async with ctx.db.transaction() as s:
        if once is not None and (answer := await once.replay(s)) is not None:
            return SaleResult.replayed(answer)
        sid = await store_id(s, store)
        entered = None
        if entry_key is not None:
            entered = (await run(s, _BY_ENTRY, {"entry_key": entry_key})).first()
        if entered is None and receipt_no is None:
            # Before the member's lock, as every chat sale takes it: none waits on another.
            receipt_no = await receipts.allocate(s, ctx, sid)
        member = await lock_standing(s, member_id)
        existing = entered
        if existing is None and receipt_no is not None:
            params = {"store_id": sid, "receipt_no": receipt_no}
            existing = (await run(s, _BY_RECEIPT, params)).first()
        if existing is not None:
            if existing.member_id != member_id:
                raise ReceiptTaken(store=store, receipt_no=existing.receipt_no)
            duplicate = SaleResult(
                sale_id=existing.id,
                receipt_no=existing.receipt_no,
                duplicate=True,
                points=existing.points_earned,
                balance=await balance_in(s, member_id, now),
                tier=member.tier,
                upgraded_from=None,
                rule=None,
            )
            if once is not None:  # entered before in the chat: this is the first answer
                await once.remember(s, duplicate.answer(), now)
            return duplicate
        assert receipt_no is not None
        rule = points_for(ctx.shop, amount_fen, member.tier)
        values = {
            "store_id": sid,
            "receipt_no": receipt_no,
            "member_id": member_id,
            "amount_fen": amount_fen,
            "points_earned": rule.points,
            "sold_at": now,
            "staff_id": staff_id,
            "entry_key": entry_key,
        }
        sale_id = (await run(s, _INSERT_SALE, values)).scalar()
        assert sale_id is not None
        if rule.points:
            await write_lot(
                s, ctx, member_id, "earn", rule.points, sale_id=sale_id, detail=asdict(rule)
            )
        if lines:
            await products.add_lines(s, sale_id, lines)
        await referrals.reward_first_purchase(s, ctx, member, sale_id, amount_fen, notify=notify)
        if notify:  # historical data alerts nobody
            await alerts.check_sales_burst(s, ctx, sale_id, member_id, staff_id, now)
        standing = await summary_in(s, ctx, member_id)  # with the sale and its lot
        spend, balance = standing.window_spend_fen, standing.balance
        reached = ctx.shop.tier_for_spend(spend)
        upgrade = ctx.shop.tier_rank(reached.code) > ctx.shop.tier_rank(member.tier)
        if notify:  # before the upgrade's event, which the sale caused
            await webhooks.emit(
                s,
                now,
                "sale.recorded",
                member_id=member_id,
                store=store,
                data={
                    "receipt_no": receipt_no,
                    **webhooks.money("amount", amount_fen),
                    "points": rule.points,
                    "balance": balance,
                    "tier": reached.code if upgrade else member.tier,
                },
            )
        upgraded_from, tier = None, member.tier
        if upgrade:
            upgraded_from = member.tier
            row = await lock_member(s, member_id)  # the ORM row, whose tier changes
            await change_tier(s, ctx, row, reached.code, "sale", spend, notify, sale_id)
            tier = row.tier
        if notify:
            await outbox.enqueue(
                s,
                now=now,
                member_id=member_id,
                marketing_consent=member.marketing_consent,
                kind="receipt",
                dedup_key=f"receipt:{sale_id}",
                params={
                    "store": store,
                    "receipt_no": receipt_no,
                    "amount_fen": amount_fen,
                    "points": rule.points,
                    "balance": balance,
                    "tier": tier,
                    "spend_fen": spend,  # for "… more and you reach Gold"
                },
            )
        await audit.write(
            s,
            now,
            actor,
            "sale.recorded",
            member_id,
            sale_id=sale_id,
            amount_fen=amount_fen,
            points=rule.points,
        )
        result = SaleResult(
            sale_id=sale_id,
            receipt_no=receipt_no,
            duplicate=False,
            points=rule.points,
            balance=balance,
            tier=tier,
            upgraded_from=upgraded_from,
            rule=rule,
        )
        if once is not None:
            await once.remember(s, result.answer(), now)
        return result


@dataclass(frozen=True)
class SaleView:
    id: int
    store: str
    receipt_no: str
    member_id: int
    amount_fen: int
    refunded_fen: int
    points_earned: int
    points_reversed: int
    sold_at: datetime
    undone: bool  # a clerk's slip taken back with Undo: it never happened

    @property
    def points_held(self) -> int:
        """What the sale still gives the member, after its refunds."""
        return self.points_earned - self.points_reversed


def _sale_view(row: SaleRow, store: str) -> SaleView:
    return SaleView(
        row.id,
        store,
        row.receipt_no,
        row.member_id,
        row.amount_fen,
        row.refunded_fen,
        row.points_earned,
        row.points_reversed,
        row.sold_at,
        row.undone_at is not None,
    )


async def find_sale(ctx: Context, *, store: str, receipt_no: str) -> SaleView:
    """A sale by its store and receipt number (what staff see before a refund)."""
    receipt_no = receipts.check(receipt_no)
    async with ctx.db.read() as s:
        sid = await store_id(s, store)
        row = await s.scalar(select(SaleRow).where(receipts.live(sid, receipt_no)))
        if row is None:
            raise UnknownSale(store=store, receipt_no=receipt_no)
        return _sale_view(row, store)


async def recent_sales(ctx: Context, member_id: int, limit: int = 5) -> list[SaleView]:
    """The member's last sales, newest first, refunded and undone ones too (marked)."""
    async with ctx.db.read() as s:
        rows = await s.execute(
            select(SaleRow, StoreRow.code)
            .join(StoreRow, StoreRow.id == SaleRow.store_id)
            .where(SaleRow.member_id == member_id)
            .order_by(SaleRow.sold_at.desc(), SaleRow.id.desc())
            .limit(limit)
        )
        return [_sale_view(r, code) for r, code in rows]
