"""Points, tiers, sales, refunds, rewards and coupons: the loyalty rules.

The ledger is append-only. Every earning (and every positive adjustment) is a *lot* with
an expiry and the points still left in it; spending takes from the lots that expire first.
A member's balance is the sum of what is left in the lots that have not expired. Every
change to a member's points first locks that member, so concurrent redemptions, refunds
and sales of one member happen one after another and the balance never goes below zero.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core import audit
from core.clock import add_months
from core.context import Context
from core.engagement import products, referrals
from core.errors import (
    CouponExpired,
    CouponUsed,
    InvalidAmount,
    InvalidInput,
    NotAllowed,
    NotEnoughPoints,
    ReceiptTaken,
    RefundTooLarge,
    UndoTooLate,
    UnknownCoupon,
    UnknownMember,
    UnknownReward,
    UnknownSale,
)
from core.ledger import receipts
from core.oversight import alerts
from core.people.members import lock_member, store_id
from core.people.staff import Role
from core.pushes import outbox
from core.shop import Shop
from core.text import blank
from storage.db import Session, run
from storage.models import (
    CouponRow,
    LedgerRow,
    MemberRow,
    RefundRow,
    RewardRow,
    SaleRow,
    StoreRow,
    TierChangeRow,
)

COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
COUPON_CODE_LENGTH = 10  # 31**10 ≈ 8·10**14 codes: not guessable at the counter or online
REASON_MAX = 200  # an adjustment's reason
LOT_KINDS = ("earn", "adjust", "checkin")
EXPIRY_BATCH = 200


# --- pure rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EarnRule:
    """How a sale's points were worked out, kept with the ledger row to answer "why?"."""

    amount_fen: int
    step_fen: int
    points_per_step: int
    base_points: int
    tier: str
    multiplier: str
    points: int

    def at(self, amount_fen: int) -> EarnRule:
        """This rule over another amount: what a sale keeps after refunds is what its net
        amount earns at the rule it was sold at, whatever the member's tier is now."""
        return _earn(
            amount_fen, self.step_fen, self.points_per_step, self.tier, Decimal(self.multiplier)
        )


def _earn(
    amount_fen: int, step_fen: int, points_per_step: int, tier: str, multiplier: Decimal
) -> EarnRule:
    base = amount_fen // step_fen * points_per_step
    points = int((Decimal(base) * multiplier).to_integral_value(rounding=ROUND_FLOOR))
    return EarnRule(
        amount_fen=amount_fen,
        step_fen=step_fen,
        points_per_step=points_per_step,
        base_points=base,
        tier=tier,
        multiplier=str(multiplier),
        points=points,
    )


def points_for(shop: Shop, amount_fen: int, tier_code: str) -> EarnRule:
    """``points_per_step`` for every full step spent, times the tier multiplier, rounded down."""
    rules = shop.points
    tier = shop.tier(tier_code)
    return _earn(amount_fen, rules.step_fen, rules.points_per_step, tier.code, tier.multiplier)


def new_coupon_code() -> str:
    """One draw from the system's randomness, written in the alphabet's digits: as
    uniform as a choice per character, and a tenth of the cost (a job gifts thousands)."""
    number = secrets.randbelow(len(COUPON_ALPHABET) ** COUPON_CODE_LENGTH)
    digits = []
    for _ in range(COUPON_CODE_LENGTH):
        number, digit = divmod(number, len(COUPON_ALPHABET))
        digits.append(COUPON_ALPHABET[digit])
    return "".join(digits)


def normalize_coupon_code(text: str) -> str:
    """What staff type or scan: any case, with or without spaces and dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


# --- ledger primitives (inside a transaction, member already locked) ----------------------


def _lot_expiry(ctx: Context, earned_at: datetime) -> datetime:
    local = earned_at.astimezone(ctx.zone)
    return add_months(local, ctx.shop.points.lifetime_months).astimezone(earned_at.tzinfo)


# Values or bind parameters: the queries of the reads members do most are built once.
Param = ColumnElement[Any]


def live_lot(now: datetime | Param) -> ColumnElement[bool]:
    """A ledger row whose points still count at ``now``: a lot with points left, not expired.
    The one rule of the balance, also for queries over many members (expiry reminders)."""
    return and_(LedgerRow.remaining > 0, LedgerRow.expires_at > now)


def _live_lots(member_id: int | Param, now: datetime | Param, *columns: Any) -> Select[Any]:
    """The live lots of a member, the soonest to expire first (whole rows, or ``columns``)."""
    return (
        select(*(columns or (LedgerRow,)))
        .where(LedgerRow.member_id == member_id, live_lot(now))
        .order_by(LedgerRow.expires_at, LedgerRow.id)
    )


def _balance_query(member_id: int | Param, now: datetime | Param) -> Select[tuple[int]]:
    return select(func.coalesce(func.sum(LedgerRow.remaining), 0)).where(
        LedgerRow.member_id == member_id, live_lot(now)
    )


async def _balance(s: Session, member_id: int, now: datetime) -> int:
    return int(await s.scalar(_balance_query(member_id, now)) or 0)


async def _consume(s: Session, member_id: int, points: int, now: datetime) -> int:
    """Take up to ``points`` from the live lots, the soonest to expire first; returns taken."""
    return sum(take for _lot, take in await _consume_lots(s, member_id, points, now))


async def _consume_lots(
    s: Session, member_id: int, points: int, now: datetime
) -> list[tuple[int, int]]:
    """:func:`_consume`, saying which lots gave how many: (lot id, points) pairs."""
    taken: list[tuple[int, int]] = []
    total = 0
    for lot in await s.scalars(_live_lots(member_id, now)):
        if total == points:
            break
        take = min(lot.remaining or 0, points - total)
        lot.remaining = (lot.remaining or 0) - take
        total += take
        if take:
            taken.append((lot.id, take))
    return taken


def _add_lot(
    s: Session, ctx: Context, member_id: int, kind: str, points: int, **columns: object
) -> LedgerRow:
    now = ctx.now()
    row = LedgerRow(
        member_id=member_id,
        kind=kind,
        points=points,
        remaining=points,
        created_at=now,
        expires_at=_lot_expiry(ctx, now),
        **columns,
    )
    s.add(row)
    return row


def _window_start(ctx: Context) -> datetime:
    return add_months(ctx.now().astimezone(ctx.zone), -ctx.shop.tiers.window_months)


def _window_spend_query(member_id: int | Param, since: datetime | Param) -> Select[tuple[int]]:
    return select(func.coalesce(func.sum(SaleRow.amount_fen - SaleRow.refunded_fen), 0)).where(
        SaleRow.member_id == member_id, SaleRow.sold_at > since
    )


async def _window_spend(s: Session, ctx: Context, member_id: int) -> int:
    """Net spending (sales less refunds) inside the tier window."""
    return int(await s.scalar(_window_spend_query(member_id, _window_start(ctx))) or 0)


async def _change_tier(
    s: Session,
    ctx: Context,
    member: MemberRow,
    to: str,
    reason: str,
    spend_fen: int,
    notify: bool = True,
    sale_id: int | None = None,
) -> TierChangeRow:
    now = ctx.now()
    change = TierChangeRow(
        member_id=member.id,
        from_tier=member.tier,
        to_tier=to,
        reason=reason,
        spend_fen=spend_fen,
        created_at=now,
        sale_id=sale_id,
    )
    s.add(change)
    await s.flush()
    if notify:
        await outbox.enqueue(
            s,
            now=now,
            member_id=member.id,
            marketing_consent=member.marketing_consent,
            kind="tier_changed",
            dedup_key=f"tier:{change.id}",
            params={"from": member.tier, "to": to, "spend_fen": spend_fen},
        )
    audit.record(
        s, now, audit.SYSTEM, "tier.changed", member.id, frm=member.tier, to=to, reason=reason
    )
    member.tier = to
    return change


# --- points for other features (inside the caller's transaction, member locked) ---------


async def balance_in(s: Session, member_id: int, now: datetime) -> int:
    """The member's balance inside the caller's transaction."""
    return await _balance(s, member_id, now)


def grant_points(
    s: Session, ctx: Context, member_id: int, kind: str, points: int, **columns: object
) -> LedgerRow:
    """Points the shop gives (a check-in, …) as a lot of their own ``kind`` that expires
    after the shop file's lifetime like earned points. They are not spending, so they never
    count toward a tier."""
    return _add_lot(s, ctx, member_id, kind, points, **columns)


async def spend_points(
    s: Session,
    ctx: Context,
    member_id: int,
    points: int,
    kind: str,
    detail: dict[str, object],
) -> LedgerRow:
    """Spend ``points`` on something other than a reward (an event's sign-up): the lots
    that expire first, written as a ``kind`` row whose detail keeps which lots gave them, so
    :func:`return_points` can give them back. NotEnoughPoints when the balance is short."""
    now = ctx.now()
    balance = await _balance(s, member_id, now)
    if balance < points:
        raise NotEnoughPoints(balance=balance, needed=points)
    lots = await _consume_lots(s, member_id, points, now)
    row = LedgerRow(
        member_id=member_id,
        kind=kind,
        points=-points,
        created_at=now,
        detail={**detail, "lots": [list(lot) for lot in lots]},
    )
    s.add(row)
    await s.flush()
    return row


async def return_points(
    s: Session, ctx: Context, spent: LedgerRow, kind: str, detail: dict[str, object]
) -> LedgerRow:
    """Give back what :func:`spend_points` took, into the lots it came from: they keep their
    expiry (a cancelled sign-up never makes points live longer; a lot that expired meanwhile
    is expired again by the nightly job). One ``kind`` row with the points, not a lot."""
    lots = [(int(lot_id), int(points)) for lot_id, points in spent.detail.get("lots", [])]
    for lot_id, points in lots:
        await s.execute(
            update(LedgerRow)
            .where(LedgerRow.id == lot_id)
            .values(remaining=LedgerRow.remaining + points)
        )
    row = LedgerRow(
        member_id=spent.member_id,
        kind=kind,
        points=sum(points for _lot, points in lots),
        created_at=ctx.now(),
        detail={**detail, "spent": spent.id},
    )
    s.add(row)
    await s.flush()
    return row


# --- sales and refunds --------------------------------------------------------------------


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


_AMOUNT = re.compile(r"^\s*[¥￥]?\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*(元|yuan|rmb)?\s*$", re.I)


def parse_amount(text: str, max_fen: int) -> int:
    """Money typed by staff (``238``, ``238.5``, ``¥238.50``, ``238元``) as fen: positive, at
    most two decimals, at most ``max_fen`` (a guard against a slipped finger)."""
    match = _AMOUNT.match(text)
    if match is None:
        raise InvalidAmount(value=text.strip()[:20])
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if fen <= 0 or fen > max_fen:
        raise InvalidAmount(value=text.strip()[:20])
    return fen


def _check_amount(amount_fen: int) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise InvalidAmount(value=amount_fen)


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
    """
    _check_amount(amount_fen)
    if receipt_no is not None:
        receipt_no = receipts.check(receipt_no)
    items = products.check_lines(lines or (), amount_fen)
    args = (ctx, store, receipt_no, member_id, amount_fen, staff_id, notify, items, entry_key)
    try:
        return await _record_sale(*args)
    except IntegrityError:
        # Another process inserted this receipt (or entry) between our check and our insert
        # (PostgreSQL, different members). Looking again tells whether it is a duplicate.
        return await _record_sale(*args)


async def _record_sale(
    ctx: Context,
    store: str,
    receipt_no: str | None,
    member_id: int,
    amount_fen: int,
    staff_id: int | None,
    notify: bool,
    lines: Sequence[products.SaleLine] = (),
    entry_key: str | None = None,
) -> SaleResult:
    now = ctx.now()
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store)
        entered = None
        if entry_key is not None:
            entered = await s.scalar(select(SaleRow).where(SaleRow.entry_key == entry_key))
        if entered is None and receipt_no is None:
            # Before the member's lock, as every chat sale takes it: none waits on another.
            receipt_no = await receipts.allocate(s, ctx, sid)
        member = await lock_member(s, member_id)
        existing = entered
        if existing is None and receipt_no is not None:
            existing = await s.scalar(select(SaleRow).where(receipts.live(sid, receipt_no)))
        if existing is not None:
            if existing.member_id != member_id:
                raise ReceiptTaken(store=store, receipt_no=existing.receipt_no)
            return SaleResult(
                sale_id=existing.id,
                receipt_no=existing.receipt_no,
                duplicate=True,
                points=existing.points_earned,
                balance=await _balance(s, member_id, now),
                tier=member.tier,
                upgraded_from=None,
                rule=None,
            )
        assert receipt_no is not None
        rule = points_for(ctx.shop, amount_fen, member.tier)
        sale = SaleRow(
            store_id=sid,
            receipt_no=receipt_no,
            member_id=member_id,
            amount_fen=amount_fen,
            points_earned=rule.points,
            sold_at=now,
            staff_id=staff_id,
            entry_key=entry_key,
        )
        s.add(sale)
        await s.flush()
        if rule.points:
            _add_lot(s, ctx, member_id, "earn", rule.points, sale_id=sale.id, detail=asdict(rule))
        if lines:
            await products.add_lines(s, sale.id, lines)
        await referrals.reward_first_purchase(s, ctx, member, sale, notify=notify)
        if notify:  # historical data alerts nobody
            await alerts.check_sales_burst(s, ctx, sale)
        spend = await _window_spend(s, ctx, member_id)
        reached = ctx.shop.tier_for_spend(spend)
        upgraded_from = None
        if ctx.shop.tier_rank(reached.code) > ctx.shop.tier_rank(member.tier):
            upgraded_from = member.tier
            await _change_tier(s, ctx, member, reached.code, "sale", spend, notify, sale.id)
        await s.flush()
        balance = await _balance(s, member_id, now)
        if notify:
            await outbox.enqueue(
                s,
                now=now,
                member_id=member_id,
                marketing_consent=member.marketing_consent,
                kind="receipt",
                dedup_key=f"receipt:{sale.id}",
                params={
                    "store": store,
                    "receipt_no": receipt_no,
                    "amount_fen": amount_fen,
                    "points": rule.points,
                    "balance": balance,
                    "tier": member.tier,
                    "spend_fen": spend,  # for "… more and you reach Gold"
                },
            )
        audit.record(
            s,
            now,
            audit.staff_actor(staff_id),
            "sale.recorded",
            member_id,
            sale_id=sale.id,
            amount_fen=amount_fen,
            points=rule.points,
        )
        return SaleResult(
            sale_id=sale.id,
            receipt_no=receipt_no,
            duplicate=False,
            points=rule.points,
            balance=balance,
            tier=member.tier,
            upgraded_from=upgraded_from,
            rule=rule,
        )


async def _undo_upgrade(s: Session, ctx: Context, member: MemberRow, sale: SaleRow) -> None:
    """An undone sale never happened, so neither did the upgrade it made: the member goes
    back to the tier they had, or the one their spending without it reaches (a tier that
    moved on since is left alone)."""
    change = await s.scalar(select(TierChangeRow).where(TierChangeRow.sale_id == sale.id))
    if change is None or member.tier != change.to_tier:
        return
    await s.flush()  # the refunded amount, for the window spend
    spend = await _window_spend(s, ctx, member.id)
    reached = ctx.shop.tier_for_spend(spend).code
    back = max(change.from_tier, reached, key=ctx.shop.tier_rank)
    if back != member.tier:
        await _change_tier(s, ctx, member, back, "undo", spend)


def points_kept(earned: dict[str, Any] | None, net_fen: int) -> int:
    """The one refund rule: after any refunds a sale keeps exactly the points its net amount
    earns at the rule it was sold at (``earned``: its earn lot's detail, an
    :class:`EarnRule`; none when the sale earned nothing)."""
    if not earned:
        return 0
    return EarnRule(**earned).at(net_fen).points


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    member_id: int
    amount_fen: int
    points_reversed: int
    shortfall: int
    balance: int


async def refund_sale(
    ctx: Context,
    *,
    store: str,
    receipt_no: str,
    amount_fen: int | None = None,
    staff_id: int | None = None,
    notify: bool = True,
) -> RefundResult:
    """Refund a sale in full (no amount) or in part, and take back the points it earned
    beyond what its net amount earns (:func:`points_kept`). Points already spent cannot be
    taken back: the balance stops at zero and the missing points are recorded as a shortfall
    for staff to see. ``notify`` off queues no push (historical data)."""
    if amount_fen is not None:
        _check_amount(amount_fen)
    receipt_no = receipts.check(receipt_no)
    async with ctx.db.transaction() as s:
        sid = await store_id(s, store)
        sale_id = await s.scalar(select(SaleRow.id).where(receipts.live(sid, receipt_no)))
        if sale_id is None:
            raise UnknownSale(store=store, receipt_no=receipt_no)
        member, sale = await _locked_sale(s, sale_id)
        return await _refund(s, ctx, member, sale, store, amount_fen, staff_id, notify)


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
        await _undo_upgrade(s, ctx, member, sale)
    own_lot = await s.scalar(
        select(LedgerRow).where(LedgerRow.sale_id == sale.id, LedgerRow.kind == "earn")
    )
    net = sale.amount_fen - sale.refunded_fen
    kept = points_kept(own_lot.detail if own_lot else None, net)
    owed = max(sale.points_earned - sale.points_reversed - kept, 0)
    sale.points_reversed += owed
    # The sale's own lot first, then the other live lots, soonest to expire first.
    taken = 0
    if own_lot is not None and own_lot.expires_at > now and own_lot.remaining:
        taken = min(own_lot.remaining, owed)
        own_lot.remaining -= taken
    taken += await _consume(s, member.id, owed - taken, now)
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
    balance = await _balance(s, member.id, now)
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
    audit.record(
        s,
        now,
        audit.staff_actor(staff_id),
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


# --- rewards and coupons ------------------------------------------------------------------


@dataclass(frozen=True)
class CouponView:
    code: str
    member_id: int
    reward: str
    value_fen: int
    points: int
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class IssuedCoupon(CouponView):
    """A coupon just written, with its id for the rows that point at it (ledger, audit,
    campaign)."""

    id: int


def _coupon_view(row: CouponRow, reward_code: str) -> CouponView:
    return CouponView(
        code=row.code,
        member_id=row.member_id,
        reward=reward_code,
        value_fen=row.value_fen,
        points=row.points,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


async def _issue_coupons(
    s: Session,
    member_ids: Sequence[int],
    reward: RewardRow,
    now: datetime,
    *,
    points: int,
    codes: Sequence[str] | None = None,
) -> list[IssuedCoupon]:
    """A coupon of ``reward`` for each of ``member_ids`` (in that order), written together —
    a job's batch of gifts costs a few statements, not a few per member (``hand_out``'s)."""
    if codes is None:
        codes = await fresh_coupon_codes(s, len(member_ids))
    expires_at = coupon_expires_at(reward, now)
    rows = [
        {
            "code": code,
            "member_id": member_id,
            "reward_id": reward.id,
            "value_fen": reward.coupon_value_fen,
            "points": points,
            "issued_at": now,
            "expires_at": expires_at,
        }
        for member_id, code in zip(member_ids, codes, strict=True)
    ]
    # The rows as parameters of one statement, then their ids by their unique codes: flushing
    # objects one by one cost ten times more, and RETURNING the ids in the rows' order makes
    # SQLAlchemy send the rows one at a time over aiosqlite.
    await s.execute(insert(CouponRow.__table__), rows)
    issued = await s.execute(select(CouponRow.code, CouponRow.id).where(CouponRow.code.in_(codes)))
    ids = {code: coupon_id for code, coupon_id in issued}
    return [
        IssuedCoupon(
            code=row["code"],
            member_id=row["member_id"],
            reward=reward.code,
            value_fen=reward.coupon_value_fen,
            points=points,
            issued_at=now,
            expires_at=expires_at,
            used_at=None,
            id=ids[row["code"]],
        )
        for row in rows
    ]


def coupon_expires_at(reward: RewardRow, now: datetime) -> datetime:
    """When a coupon of ``reward`` issued ``now`` stops being valid."""
    return now + timedelta(days=reward.valid_days)


async def fresh_coupon_codes(s: Session, count: int) -> list[str]:
    """``count`` new codes that no coupon has, checked in one query per draw."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = {new_coupon_code() for _ in range(count - len(codes))} - codes
        taken = set(await s.scalars(select(CouponRow.code).where(CouponRow.code.in_(wanted))))
        codes |= wanted - taken
    return sorted(codes)


async def hand_out(
    s: Session,
    reward: RewardRow,
    gifts: Sequence[tuple[int, dict[str, object]]],
    now: datetime,
    *,
    actor: str,
    points: int = 0,
    codes: Sequence[str] | None = None,
) -> list[IssuedCoupon]:
    """The one way a reward reaches members (a redemption, a campaign's, a birthday or
    win-back gift), inside the caller's transaction: a goods reward's pieces are taken
    first, all or none (OutOfStock, NotEnoughStock: nothing issued), then a coupon — for
    goods, the pickup code — for each of ``gifts`` (member, audit details), worth the
    reward's value (goods: the product's price), audited as ``coupon.issued``.

    ``points``: what each member paid (0 for a gift); spending them is the caller's.
    ``codes``: drawn beforehand with ``fresh_coupon_codes`` (a job that words its messages
    first), else drawn here."""
    await products.take_stock(s, reward, len(gifts))
    members = [member for member, _ in gifts]
    coupons = await _issue_coupons(s, members, reward, now, points=points, codes=codes)
    await audit.record_many(
        s,
        now,
        actor,
        "coupon.issued",
        [
            (
                coupon.member_id,
                {"coupon_id": coupon.id, "reward": reward.code, "points": points} | details,
            )
            for coupon, (_, details) in zip(coupons, gifts, strict=True)
        ],
    )
    return coupons


async def redeem_reward(ctx: Context, member_id: int, reward_code: str) -> CouponView:
    """Spend points on a reward and issue its coupon. Raises NotEnoughPoints (with the
    balance) when the member cannot afford it; never lets the balance go below zero. A goods
    reward also takes a piece of its stock (OutOfStock when none is left, nothing taken)."""
    now = ctx.now()
    async with ctx.db.transaction() as s:
        reward = await s.scalar(
            select(RewardRow).where(RewardRow.code == reward_code, RewardRow.active)
        )
        if reward is None:
            raise UnknownReward(reward=reward_code)
        await lock_member(s, member_id)
        balance = await _balance(s, member_id, now)
        if balance < reward.points:
            raise NotEnoughPoints(balance=balance, needed=reward.points)
        (coupon,) = await hand_out(
            s,
            reward,
            [(member_id, {})],
            now,
            actor=audit.member_actor(member_id),
            points=reward.points,
        )
        await _consume(s, member_id, reward.points, now)
        s.add(
            LedgerRow(
                member_id=member_id,
                kind="spend",
                points=-reward.points,
                created_at=now,
                coupon_id=coupon.id,
                detail={"reward": reward.code},
            )
        )
        return coupon


async def use_coupon(
    ctx: Context, code: str, *, store: str | None = None, staff_id: int | None = None
) -> CouponView:
    """Mark a coupon used at the counter. Exactly one of any number of concurrent attempts
    succeeds; the others learn when and where it was used (or that it expired)."""
    now = ctx.now()
    code = normalize_coupon_code(code)
    async with ctx.db.transaction() as s:
        used_store = await store_id(s, store) if store else None
        claimed = await s.execute(
            update(CouponRow)
            .where(CouponRow.code == code, CouponRow.used_at.is_(None), CouponRow.expires_at > now)
            .values(used_at=now, used_store_id=used_store, used_by_staff_id=staff_id)
            .returning(CouponRow.id)
        )
        coupon_id = claimed.scalar()
        row = await s.scalar(select(CouponRow).where(CouponRow.code == code))
        if row is None:
            raise UnknownCoupon(code=code)
        if coupon_id is None:
            if row.used_at is not None:
                where = await s.get(StoreRow, row.used_store_id) if row.used_store_id else None
                raise CouponUsed(
                    code=code, used_at=row.used_at, store=where.code if where else None
                )
            raise CouponExpired(code=code, expires_at=row.expires_at)
        reward_code = await s.scalar(select(RewardRow.code).where(RewardRow.id == row.reward_id))
        audit.record(
            s,
            now,
            audit.staff_actor(staff_id),
            "coupon.used",
            row.member_id,
            coupon_id=row.id,
            store=store,
        )
        return _coupon_view(row, reward_code or "")


async def member_coupons(
    ctx: Context, member_id: int, *, include_closed: bool = False
) -> list[CouponView]:
    """Unused, unexpired coupons (soonest to expire first); with ``include_closed`` all."""
    now = ctx.now()
    query = (
        select(CouponRow, RewardRow.code)
        .join(RewardRow, RewardRow.id == CouponRow.reward_id)
        .where(CouponRow.member_id == member_id)
    )
    if not include_closed:
        query = query.where(CouponRow.used_at.is_(None), CouponRow.expires_at > now)
    async with ctx.db.read() as s:
        rows = await s.execute(query.order_by(CouponRow.expires_at, CouponRow.id))
        return [_coupon_view(c, r) for c, r in rows]


# --- balance, expiry, tiers, adjustments ---------------------------------------------------


@dataclass(frozen=True)
class PointsSummary:
    member_id: int
    balance: int
    tier: str
    window_spend_fen: int
    next_tier: str | None
    to_next_tier_fen: int | None


async def points_summary(ctx: Context, member_id: int) -> PointsSummary:
    async with ctx.db.read() as s:
        return await _summary(s, ctx, member_id)


_SUMMARY = select(  # tier, balance and spending in one statement
    MemberRow.tier,
    _balance_query(bindparam("member_id"), bindparam("now")).scalar_subquery(),
    _window_spend_query(bindparam("member_id"), bindparam("since")).scalar_subquery(),
).where(MemberRow.id == bindparam("member_id"))


async def _summary(s: Session, ctx: Context, member_id: int) -> PointsSummary:
    params = {"member_id": member_id, "now": ctx.now(), "since": _window_start(ctx)}
    found = (await run(s, _SUMMARY, params)).first()
    if found is None:
        raise UnknownMember(member=member_id)
    tier, balance, spend = found[0], int(found[1] or 0), int(found[2] or 0)
    following = ctx.shop.next_tier(tier)
    return PointsSummary(
        member_id=member_id,
        balance=balance,
        tier=tier,
        window_spend_fen=spend,
        next_tier=following.code if following else None,
        to_next_tier_fen=max(following.spend_fen - spend, 0) if following else None,
    )


@dataclass(frozen=True)
class ExpiringLot:
    points: int
    expires_at: datetime


async def expiring_points(ctx: Context, member_id: int, days: int = 30) -> list[ExpiringLot]:
    """Points that will expire within ``days``, soonest first."""
    async with ctx.db.read() as s:
        return await _expiring(s, member_id, ctx.now(), days)


_EXPIRING = _live_lots(
    bindparam("member_id"), bindparam("now"), LedgerRow.remaining, LedgerRow.expires_at
).where(LedgerRow.expires_at <= bindparam("until"))


async def _expiring(s: Session, member_id: int, now: datetime, days: int) -> list[ExpiringLot]:
    params = {"member_id": member_id, "now": now, "until": now + timedelta(days=days)}
    lots = await run(s, _EXPIRING, params)
    return [
        ExpiringLot(points=lot.remaining or 0, expires_at=lot.expires_at)
        for lot in lots
        if lot.expires_at is not None
    ]


@dataclass(frozen=True)
class ExpiryReport:
    members: int
    points: int


async def expire_points(ctx: Context) -> ExpiryReport:
    """Write an ``expire`` row for every lot past its expiry that still holds points.
    Safe to run any number of times; members are processed in small locked batches."""
    now = ctx.now()
    async with ctx.db.read() as s:
        member_ids = list(
            await s.scalars(
                select(LedgerRow.member_id)
                .where(LedgerRow.remaining > 0, LedgerRow.expires_at <= now)
                .distinct()
                .order_by(LedgerRow.member_id)
            )
        )
    expired = 0
    for start in range(0, len(member_ids), EXPIRY_BATCH):
        async with ctx.db.transaction() as s:
            for member_id in member_ids[start : start + EXPIRY_BATCH]:
                await lock_member(s, member_id)
                lots = await s.scalars(
                    select(LedgerRow).where(
                        LedgerRow.member_id == member_id,
                        LedgerRow.remaining > 0,
                        LedgerRow.expires_at <= now,
                    )
                )
                for lot in lots:
                    points = lot.remaining or 0
                    lot.remaining = 0
                    expired += points
                    s.add(
                        LedgerRow(
                            member_id=member_id,
                            kind="expire",
                            points=-points,
                            created_at=now,
                            lot_id=lot.id,
                        )
                    )
                    audit.record(
                        s,
                        now,
                        audit.SYSTEM,
                        "points.expired",
                        member_id,
                        lot_id=lot.id,
                        points=points,
                    )
    return ExpiryReport(members=len(member_ids), points=expired)


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_tier: str
    to_tier: str
    spend_fen: int


async def review_tiers(ctx: Context, *, notify: bool = True) -> list[TierChange]:
    """The periodic review: every member gets the tier their window spending earns. This is
    the only place a member moves down. ``notify`` off queues no push (historical data)."""
    now = ctx.now()
    since = add_months(now.astimezone(ctx.zone), -ctx.shop.tiers.window_months)
    async with ctx.db.read() as s:
        spends: dict[int, int] = {
            member_id: int(total)
            for member_id, total in await s.execute(
                select(SaleRow.member_id, func.sum(SaleRow.amount_fen - SaleRow.refunded_fen))
                .where(SaleRow.sold_at > since)
                .group_by(SaleRow.member_id)
            )
        }
        tiers = (await s.execute(select(MemberRow.id, MemberRow.tier))).all()
    due = [
        member_id
        for member_id, tier in tiers
        if ctx.shop.tier_for_spend(spends.get(member_id, 0)).code != tier
    ]
    changes: list[TierChange] = []
    for member_id in due:
        async with ctx.db.transaction() as s:
            member = await lock_member(s, member_id)
            spend = await _window_spend(s, ctx, member_id)  # again, under the lock
            reached = ctx.shop.tier_for_spend(spend).code
            if reached != member.tier:
                changes.append(TierChange(member_id, member.tier, reached, spend))
                await _change_tier(s, ctx, member, reached, "review", spend, notify)
    return changes


def clean_adjustment(points: int, reason: str) -> str:
    """An adjustment needs points other than zero and a reason (at most ``REASON_MAX``
    characters, for the audit log and the member's ledger); returns the reason trimmed."""
    reason = reason.strip()
    if blank(reason) or len(reason) > REASON_MAX:
        raise InvalidInput(field="reason", max=REASON_MAX)
    if points == 0:
        raise InvalidAmount(value=points)
    return reason


async def adjust_points(
    ctx: Context, member_id: int, points: int, reason: str, *, actor: str
) -> int:
    """A manual correction by staff, with a reason; returns the new balance. Added points
    form a lot that expires like earned points; removed points cannot exceed the balance."""
    reason = clean_adjustment(points, reason)
    async with ctx.db.transaction() as s:
        return await apply_adjustment(s, ctx, member_id, points, reason, actor=actor)


async def apply_adjustment(
    s: Session,
    ctx: Context,
    member_id: int,
    points: int,
    reason: str,
    *,
    actor: str,
    **details: object,
) -> int:
    """:func:`adjust_points` inside the caller's transaction, ``details`` added to its audit
    entry: an owner's approval of a held adjustment and the adjustment commit together."""
    reason = clean_adjustment(points, reason)
    now = ctx.now()
    await lock_member(s, member_id)
    if points > 0:
        _add_lot(s, ctx, member_id, "adjust", points, reason=reason)
    else:
        balance = await _balance(s, member_id, now)
        if balance < -points:
            raise NotEnoughPoints(balance=balance, needed=-points)
        await _consume(s, member_id, -points, now)
        s.add(
            LedgerRow(
                member_id=member_id, kind="adjust", points=points, created_at=now, reason=reason
            )
        )
    audit.record(
        s, now, actor, "points.adjusted", member_id, points=points, reason=reason, **details
    )
    await s.flush()
    return await _balance(s, member_id, now)


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    kind: str
    points: int
    at: datetime
    expires_at: datetime | None
    reason: str
    detail: dict[str, object]


async def ledger(
    ctx: Context, member_id: int, limit: int = 10, *, entry_id: int | None = None
) -> list[LedgerEntry]:
    """The newest entries of a member's points ledger (or the one ``entry_id``, if it is
    theirs), with what explains each one."""
    async with ctx.db.read() as s:
        return await _ledger(s, member_id, limit, entry_id)


_LEDGER = (
    select(
        LedgerRow.id,
        LedgerRow.kind,
        LedgerRow.points,
        LedgerRow.created_at,
        LedgerRow.expires_at,
        LedgerRow.reason,
        LedgerRow.detail,
    )
    .where(LedgerRow.member_id == bindparam("member_id"))
    .order_by(LedgerRow.created_at.desc(), LedgerRow.id.desc())
    .limit(bindparam("limit"))
)
_LEDGER_ENTRY = _LEDGER.where(LedgerRow.id == bindparam("entry_id"))


async def _ledger(
    s: Session, member_id: int, limit: int, entry_id: int | None = None
) -> list[LedgerEntry]:
    params = {"member_id": member_id, "limit": limit}
    if entry_id is None:
        rows = await run(s, _LEDGER, params)
    else:
        rows = await run(s, _LEDGER_ENTRY, {**params, "entry_id": entry_id})
    return [
        LedgerEntry(r.id, r.kind, r.points, r.created_at, r.expires_at, r.reason, r.detail)
        for r in rows
    ]


@dataclass(frozen=True)
class PointsOverview:
    """What a member's "my points" shows."""

    summary: PointsSummary
    expiring: list[ExpiringLot]  # soonest first
    latest: list[LedgerEntry]  # newest first


async def points_overview(
    ctx: Context, member_id: int, *, expiring_days: int = 30, entries: int = 10
) -> PointsOverview:
    """Balance and tier, the points expiring within ``expiring_days`` and the newest
    ``entries`` of the ledger, read in one transaction (so they also agree)."""
    async with ctx.db.read() as s:
        return PointsOverview(
            summary=await _summary(s, ctx, member_id),
            expiring=await _expiring(s, member_id, ctx.now(), expiring_days),
            latest=await _ledger(s, member_id, entries),
        )


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
        return await _refund(s, ctx, member, sale, str(store), None, staff_id, True, undo=True)


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


async def erase_member(session: Session, member_id: int) -> list[str]:
    """Erasing a member (``core.people.erasure``): the ledger keeps every points row (its detail
    holds ids, codes and figures), but no adjustment's reason; returns the reasons, to find
    them elsewhere."""
    rows = await session.scalars(
        select(LedgerRow.reason).where(LedgerRow.member_id == member_id, LedgerRow.reason != "")
    )
    reasons = list(rows)
    await session.execute(
        update(LedgerRow).where(LedgerRow.member_id == member_id).values(reason="")
    )
    return reasons
