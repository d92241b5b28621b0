"""Rewards and coupons: redeeming points for a reward, the one way a reward reaches a
member (``hand_out``, also for gifts and campaigns), and using a coupon at the counter.

Apart from sales because coupons change with rewards and stock, not with how points are
earned; they only spend points through :mod:`core.ledger.points`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from core import audit
from core.context import Context
from core.engagement import products
from core.errors import CouponExpired, CouponUsed, NotEnoughPoints, UnknownCoupon, UnknownReward
from core.integrations import webhooks
from core.integrations.once import Once
from core.ledger.points import balance_in, consume
from core.people.members import lock_member, store_id
from storage.models import CouponRow, LedgerRow, RewardRow, StoreRow
from storage.session import Session

COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


COUPON_CODE_LENGTH = 10  # 31**10 ≈ 8·10**14 codes: not guessable at the counter or online


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
            code=code,
            member_id=member_id,
            reward=reward.code,
            value_fen=reward.coupon_value_fen,
            points=points,
            issued_at=now,
            expires_at=expires_at,
            used_at=None,
            id=ids[code],
        )
        for member_id, code in zip(member_ids, codes, strict=True)
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
    await webhooks.emit_many(
        s,
        now,
        "coupon.issued",
        [
            webhooks.Happening(
                coupon.member_id,
                None,
                {
                    "coupon": coupon.code,
                    "reward": reward.code,
                    **webhooks.money("value", coupon.value_fen),
                    "points": points,
                    "expires": webhooks.moment(coupon.expires_at),
                },
            )
            for coupon in coupons
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
        balance = await balance_in(s, member_id, now)
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
        await consume(s, member_id, reward.points, now)
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


@dataclass(frozen=True)
class UsedCoupon(CouponView):
    replayed: bool = False  # the kept first answer to a retried request

    def answer(self) -> dict[str, Any]:
        """What a request done once keeps (core.integrations.once): JSON's types."""
        times = {"issued_at": self.issued_at, "expires_at": self.expires_at}
        kept = asdict(self) | {k: v.isoformat() for k, v in times.items()}
        return kept | {"used_at": self.used_at.isoformat() if self.used_at else None}

    @classmethod
    def replay(cls, answer: dict[str, Any]) -> UsedCoupon:
        times = ("issued_at", "expires_at", "used_at")
        read = {k: datetime.fromisoformat(answer[k]) if answer[k] else None for k in times}
        return cls(**(answer | read | {"replayed": True}))


async def use_coupon(
    ctx: Context,
    code: str,
    *,
    store: str | None = None,
    staff_id: int | None = None,
    actor: str | None = None,
    once: Once | None = None,
) -> UsedCoupon:
    """Mark a coupon used at the counter. Exactly one of any number of concurrent attempts
    succeeds; the others learn when and where it was used (or that it expired). ``actor``
    is who the audit names (by default the staff member); with ``once`` a retry gets the
    first answer again (core.integrations.once), also one that lost the race to its copy."""
    try:
        return await _use_coupon(ctx, normalize_coupon_code(code), store, staff_id, actor, once)
    except CouponUsed:
        if once is None:
            raise
        async with ctx.db.read() as s:  # a copy of this request, on another worker, used it
            answer = await once.replay(s)
        if answer is None:
            raise
        return UsedCoupon.replay(answer)


async def _use_coupon(
    ctx: Context,
    code: str,
    store: str | None,
    staff_id: int | None,
    actor: str | None,
    once: Once | None,
) -> UsedCoupon:
    now = ctx.now()
    async with ctx.db.transaction() as s:
        if once is not None and (answer := await once.replay(s)) is not None:
            return UsedCoupon.replay(answer)
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
            actor or audit.staff_actor(staff_id),
            "coupon.used",
            row.member_id,
            coupon_id=row.id,
            store=store,
        )
        await webhooks.emit(
            s,
            now,
            "coupon.redeemed",
            member_id=row.member_id,
            store=store,
            data={
                "coupon": row.code,
                "reward": reward_code,
                **webhooks.money("value", row.value_fen),
            },
        )
        used = UsedCoupon(**asdict(_coupon_view(row, reward_code or "")))
        if once is not None:
            await once.remember(s, used.answer(), now)
        return used


@dataclass(frozen=True)
class CouponCheck:
    coupon: CouponView
    refused: str | None  # the code of the error using it would raise (None: usable now)


async def check_coupon(ctx: Context, code: str, *, actor: str) -> CouponCheck:
    """A coupon as the counter sees it before using it, and why it cannot be used if so
    (audited: who looked it up)."""
    now = ctx.now()
    code = normalize_coupon_code(code)
    async with ctx.db.transaction() as s:
        found = (
            await s.execute(
                select(CouponRow, RewardRow.code)
                .join(RewardRow, RewardRow.id == CouponRow.reward_id)
                .where(CouponRow.code == code)
            )
        ).first()
        if found is None:
            raise UnknownCoupon(code=code)
        row, reward_code = found
        reason = None
        if row.used_at is not None:
            reason = CouponUsed.code
        elif row.expires_at <= now:
            reason = CouponExpired.code
        audit.record(s, now, actor, "coupon.checked", row.member_id, coupon_id=row.id)
        return CouponCheck(_coupon_view(row, reward_code), reason)


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
