"""Test data written once: members and their purchases as the tests need them, moments of
the shop's day, and the few questions tests ask the database (how many rows, how many
points)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.engagement.products import SaleLine
from core.ledger import adjustments, statement
from core.people.members import MemberView
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from storage.models import Base, MemberRow
from tests.conftest import ZONE

_numbers = itertools.count(1)


def next_number() -> int:
    """A number no other call in this run gets: for phones and chat ids that must differ."""
    return next(_numbers)


async def registered(
    ctx: Context,
    *,
    name: str = "测试会员",
    phone: str | None = None,
    user: str | None = None,
    points: int = 0,
    tier: str = "member",
    **details: Any,
) -> MemberView:
    """A member registered through the use case, from the console account ``user`` if one
    is given (``details``: its other fields, e.g. ``locale``, ``home_store``,
    ``marketing_consent``, or ``channel`` and ``external_id``), then given ``points`` by a
    staff adjustment and put in ``tier`` directly."""
    if user is not None:
        details = {"channel": "console", "external_id": user, **details}
    found = await register_member(ctx, name=name, phone=phone, **details)
    if points:
        await give_points(ctx, found.id, points, reason="test")
    if tier != "member":
        async with ctx.db.transaction() as s:
            row = await s.get(MemberRow, found.id)
            assert row is not None
            row.tier = tier
    return found


async def member(ctx: Context, **fields: Any) -> int:
    """The id of a member ``registered`` with ``fields``."""
    return (await registered(ctx, **fields)).id


async def reachable(
    ctx: Context,
    *,
    consent: bool = True,
    chat: bool = True,
    store: str | None = "main",
    phone: str | None = None,
    **fields: Any,
) -> int:
    """A member registered from a chat account (so a push or a campaign can reach them),
    or with ``chat`` off one registered by staff, who never wrote; ``fields`` as for
    ``registered`` (e.g. ``birthday``, ``points``, ``tier``)."""
    n = next_number()
    return await member(
        ctx,
        phone=phone or f"139{n:08d}",
        home_store=store,
        marketing_consent=consent,
        channel="telegram" if chat else None,
        external_id=f"tg-{n}" if chat else None,
        **fields,
    )


async def count(ctx: Context, model: type[Base], *where: ColumnElement[bool]) -> int:
    """How many rows of ``model`` there are (that match ``where``)."""
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def give_points(
    ctx: Context, member_id: int, points: int, reason: str = "test grant"
) -> None:
    """Points added by a staff adjustment."""
    await adjustments.adjust_points(ctx, member_id, points, reason, actor="staff:1")


async def owner(ctx: Context, user: str = "boss", **fields: Any) -> StaffView:
    """The shop's owner, on the console as ``user``."""
    return await add_staff(
        ctx, channel="console", external_id=user, role="owner", store=None, **fields
    )


async def balance(ctx: Context, member_id: int) -> int:
    return (await statement.points_summary(ctx, member_id)).balance


async def sale(
    ctx: Context,
    member_id: int,
    *,
    yuan: int | None = None,
    fen: int | None = None,
    days_ago: float = 0,
    store: str = "main",
    lines: Sequence[SaleLine] = (),
    notify: bool = False,
    receipt: str | None = None,
    staff_id: int | None = None,
) -> loyalty.SaleResult:
    """A sale recorded through the use case: of ``yuan`` or ``fen`` (¥100 if neither),
    ``days_ago`` days before the clock's now (the test's clock, put back after), under
    ``receipt`` or the next number of one counter (so that no two sales of a run share
    one); with ``notify`` off its receipt push is not queued. What it
    recorded: ``.receipt_no`` to refund it."""
    if yuan is not None and fen is not None:
        raise ValueError("a sale's amount in yuan or in fen, not both")
    amount_fen = fen if fen is not None else (100 if yuan is None else yuan) * 100
    now = ctx.now()
    if days_ago:
        _test_clock(ctx).set(now - timedelta(days=days_ago))
    try:
        return await loyalty.record_sale(
            ctx,
            store=store,
            receipt_no=receipt or f"TD-{next_number()}",
            member_id=member_id,
            amount_fen=amount_fen,
            staff_id=staff_id,
            notify=notify,
            lines=lines,
        )
    finally:
        if days_ago:
            _test_clock(ctx).set(now)


def _test_clock(ctx: Context) -> FixedClock:
    """The clock a test can move: only a fixed one."""
    assert isinstance(ctx.clock, FixedClock), "moving in time needs the test's fixed clock"
    return ctx.clock


def shop_time(
    day: int, hour: int, minute: int = 0, *, month: int = 1, year: int = 2026
) -> datetime:
    """A moment of the shop's day, in its zone (January 2026 unless told)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)
