"""Anomalies the owner should look at: raising them, and reading them.

An alert is raised inside the transaction of the change it is about (so there is never a
change without its alert, nor an alert about a change that rolled back), written to the
audit log, and queued in the outbox for every owner. Kinds:

- ``adjustment``: a manual points adjustment larger than ``staff.adjust_alert_points``
  asked for by a manager. It is *held*: approving applies it (exactly once, in the same
  transaction as the decision), rejecting discards it. An owner's own adjustments are
  applied at once — nobody approves their own request.
- ``refund_shortfall``: a refund took back fewer points than the sale earned, because the
  member had already spent them.
- ``sales_burst``: one member got ``staff.burst_sales`` sales within ``staff.burst_minutes``
  (one alert per burst, not one per further sale).
- ``phone_elsewhere``: a registration at one store with a phone that already belongs to a
  member of another store.

For the last three the change has already happened. Approving means "checked, fine";
rejecting flags it for follow-up. Neither reverses anything: a wrong refund or sale is
corrected with the usual staff commands by someone who knows what happened at the counter.

The ledger and registration raise alerts, so this module needs neither; the owner's
decisions, which apply held adjustments to the ledger, are ``core.oversight.approvals``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from core import audit
from core.context import Context
from core.errors import UnknownAlert
from core.insights.segments import happened
from core.people.members import format_member_no, mask_phone
from core.people.staff import Role
from core.pushes import outbox
from storage.db import run
from storage.erasure import figures
from storage.models import AlertRow, MemberRow, RefundRow, SaleRow, StaffRow, StoreRow
from storage.session import Session

ADJUSTMENT = "adjustment"
REFUND_SHORTFALL = "refund_shortfall"
SALES_BURST = "sales_burst"
PHONE_ELSEWHERE = "phone_elsewhere"
KINDS = (ADJUSTMENT, REFUND_SHORTFALL, SALES_BURST, PHONE_ELSEWHERE)
OPEN, APPROVED, REJECTED = "open", "approved", "rejected"
OUTBOX_KIND = "staff_alert"


@dataclass(frozen=True)
class AlertView:
    """An alert with what it takes to show it: the member's and the staff member's names."""

    id: int
    kind: str
    member_id: int | None
    member_no: str | None
    member_name: str | None
    staff_id: int | None
    staff_name: str | None
    details: dict[str, Any]
    status: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


# --- raising (inside the caller's transaction) --------------------------------------------


async def raise_alert(
    session: Session,
    ctx: Context,
    *,
    kind: str,
    member_id: int | None,
    staff_id: int | None,
    details: dict[str, Any],
) -> int:
    """Record an alert and queue it for every owner, in the caller's transaction; returns
    its id. The staff member whose action caused it is the audit actor."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = ctx.now()
    row = AlertRow(
        kind=kind,
        member_id=member_id,
        staff_id=staff_id,
        details=details,
        status=OPEN,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    owner_ids = list(
        await session.scalars(
            select(StaffRow.id)
            .where(StaffRow.role == Role.OWNER.value, StaffRow.removed_at.is_(None))
            .order_by(StaffRow.id)
        )
    )
    for owner_id in owner_ids:
        await outbox.enqueue_for_staff(
            session,
            now=now,
            staff_id=owner_id,
            kind=OUTBOX_KIND,
            dedup_key=f"alert:{row.id}:{owner_id}",
            params={"alert_id": row.id, "kind": kind},
        )
    audit.record(
        session,
        now,
        audit.staff_actor(staff_id),
        "alert.raised",
        member_id,
        alert_id=row.id,
        kind=kind,
        details=details,
    )
    return row.id


# Every sale counts the member's recent ones: built once, run prebuilt.
_RECENT_SALES = select(func.count(SaleRow.id)).where(
    SaleRow.member_id == bindparam("member_id"), SaleRow.sold_at > bindparam("since"), happened()
)


async def check_sales_burst(
    session: Session,
    ctx: Context,
    sale_id: int,
    member_id: int,
    staff_id: int | None,
    sold_at: datetime,
) -> int | None:
    """After sale ``sale_id`` (written, member locked): alert when the member now has
    ``burst_sales`` sales within ``burst_minutes`` (a slip undone and typed again is one).
    A burst alerts once: no new alert while the member already had one within the window,
    so the next sales of the same burst are quiet. Returns the alert's id, if one was
    raised."""
    rules = ctx.shop.staff
    since = sold_at - timedelta(minutes=rules.burst_minutes)
    params = {"member_id": member_id, "since": since}
    count = (await run(session, _RECENT_SALES, params)).scalar()
    if (count or 0) < rules.burst_sales:
        return None
    if await session.scalar(
        select(AlertRow.id)
        .where(
            AlertRow.kind == SALES_BURST,
            AlertRow.member_id == member_id,
            AlertRow.created_at > since,
        )
        .limit(1)
    ):
        return None
    return await raise_alert(
        session,
        ctx,
        kind=SALES_BURST,
        member_id=member_id,
        staff_id=staff_id,
        details={"sales": int(count or 0), "minutes": rules.burst_minutes, "sale_id": sale_id},
    )


async def check_refund(
    session: Session,
    ctx: Context,
    refund: RefundRow,
    member_id: int,
    store: str,
    receipt_no: str,
) -> int | None:
    """After a refund (flushed): alert when it could not take back all the points the sale
    earned, because the member had spent them. Returns the alert's id, if one was raised."""
    if not refund.shortfall:
        return None
    return await raise_alert(
        session,
        ctx,
        kind=REFUND_SHORTFALL,
        member_id=member_id,
        staff_id=refund.staff_id,
        details={
            "store": store,
            "receipt_no": receipt_no,
            "refund_id": refund.id,
            "amount_fen": refund.amount_fen,
            "shortfall": refund.shortfall,
        },
    )


async def check_phone_elsewhere(
    ctx: Context, *, phone: str | None, store: str | None, actor: str
) -> int | None:
    """A registration at ``store`` was refused because ``phone`` (normalised) belongs to a
    member: alert when that member's home store is another one. The refused registration
    rolled back, so this is a transaction of its own. While such an alert about the member
    is open, further attempts add none. Returns the alert's id, if one was raised."""
    if not phone or not store:
        return None
    async with ctx.db.transaction() as s:
        found = (
            await s.execute(
                select(MemberRow.id, StoreRow.code)
                .join(StoreRow, StoreRow.id == MemberRow.home_store_id)
                .where(MemberRow.phone == phone)
            )
        ).first()
        if found is None or found.code == store:
            return None
        if await s.scalar(select(StoreRow.id).where(StoreRow.code == store)) is None:
            return None
        member_id, home_store = found
        if await s.scalar(
            select(AlertRow.id)
            .where(
                AlertRow.kind == PHONE_ELSEWHERE,
                AlertRow.member_id == member_id,
                AlertRow.status == OPEN,
            )
            .limit(1)
        ):
            return None
        return await raise_alert(
            s,
            ctx,
            kind=PHONE_ELSEWHERE,
            member_id=member_id,
            staff_id=await _staff_of(s, actor),
            details={"phone": mask_phone(phone), "store": store, "home_store": home_store},
        )


async def _staff_of(session: Session, actor: str) -> int | None:
    """The staff id behind an audit actor (``staff:7``), if it names current staff."""
    prefix, _, number = actor.partition(":")
    if prefix != "staff" or not number.isdigit():
        return None
    return await session.scalar(select(StaffRow.id).where(StaffRow.id == int(number)))


# --- reading ------------------------------------------------------------------------------


async def get_alert(ctx: Context, alert_id: int) -> AlertView:
    """One alert (e.g. to render a ``staff_alert`` outbox row when it is sent)."""
    async with ctx.db.read() as s:
        views = await alert_views(s, AlertRow.id == alert_id)
    if not views:
        raise UnknownAlert(alert=alert_id)
    return views[0]


async def open_alerts(ctx: Context, limit: int = 50) -> list[AlertView]:
    """Alerts waiting for an owner, oldest first."""
    async with ctx.db.read() as s:
        return await alert_views(s, AlertRow.status == OPEN, limit=limit)


async def alert_views(
    session: Session, condition: Any, limit: int | None = None
) -> list[AlertView]:
    """Alerts matching ``condition``, oldest first, with the names it takes to show them."""
    query = (
        select(AlertRow, MemberRow.name, StaffRow.name)
        .outerjoin(MemberRow, MemberRow.id == AlertRow.member_id)
        .outerjoin(StaffRow, StaffRow.id == AlertRow.staff_id)
        .where(condition)
        .order_by(AlertRow.created_at, AlertRow.id)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return [
        AlertView(
            id=row.id,
            kind=row.kind,
            member_id=row.member_id,
            member_no=format_member_no(row.member_id) if row.member_id else None,
            member_name=member_name,
            staff_id=row.staff_id,
            staff_name=staff_name,
            details=dict(row.details),
            status=row.status,
            created_at=row.created_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
        )
        for row, member_name, staff_name in await session.execute(query)
    ]


async def erase_member(session: Session, member_id: int) -> None:
    """Erasing a member (``core.people.erasure``): alerts about them keep their kind and figures
    (points, amounts), not a reason typed or a phone."""
    rows = await session.execute(
        select(AlertRow.id, AlertRow.details).where(AlertRow.member_id == member_id)
    )
    for row_id, details in rows.all():
        await session.execute(
            update(AlertRow).where(AlertRow.id == row_id).values(details=figures(details))
        )
