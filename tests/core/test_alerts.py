"""Anomaly alerts: each kind is raised when (and only when) it should be, every owner gets it
in the outbox, and an owner's decision is taken once — a held adjustment is applied exactly
once on approval and never on rejection."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from core.context import Context
from core.errors import AlertDecided, NotAllowed, NotEnoughPoints, PhoneTaken, UnknownAlert
from core.ledger import adjustments, refunds
from core.oversight import alerts, approvals
from core.people.erasure import remove_staff
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from storage.models import AlertRow, AuditRow, LedgerRow, OutboxRow
from tests.factories import balance, count, sale


class Team:
    def __init__(self, owner: StaffView, manager: StaffView, clerk: StaffView) -> None:
        self.owner, self.manager, self.clerk = owner, manager, clerk


@pytest.fixture
async def team(ctx: Context) -> Team:
    return Team(
        await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None),
        await add_staff(ctx, channel="console", external_id="mia", role="manager", store="main"),
        await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main"),
    )


@pytest.fixture
async def member_id(ctx: Context) -> int:
    member = await register_member(ctx, name="李雷", phone="13800138000", home_store="main")
    return member.id


async def alert_rows(ctx: Context, kind: str | None = None) -> list[AlertRow]:
    query = select(AlertRow).order_by(AlertRow.id)
    if kind is not None:
        query = query.where(AlertRow.kind == kind)
    async with ctx.db.read() as s:
        return list(await s.scalars(query))


async def audit_rows(ctx: Context, action: str) -> list[AuditRow]:
    async with ctx.db.read() as s:
        return list(
            await s.scalars(select(AuditRow).where(AuditRow.action == action).order_by(AuditRow.id))
        )


# --- adjustments --------------------------------------------------------------------------


async def test_manager_adjustment_over_the_cap_is_held_for_every_owner(
    ctx: Context, team: Team, member_id: int
) -> None:
    second = await add_staff(ctx, channel="telegram", external_id="42", role="owner", store=None)
    gone = await add_staff(ctx, channel="telegram", external_id="43", role="owner", store=None)
    await remove_staff(ctx, team.owner, gone.id)
    cap = ctx.shop.staff.adjust_alert_points

    held = await approvals.request_adjustment(ctx, team.manager, member_id, cap + 1, "lost receipt")

    assert (held.applied, held.balance) == (False, None)
    assert await balance(ctx, member_id) == 0
    (row,) = await alert_rows(ctx)
    assert (row.id, row.kind, row.status) == (held.alert_id, "adjustment", "open")
    assert (row.member_id, row.staff_id) == (member_id, team.manager.id)
    assert row.details == {
        "points": cap + 1,
        "reason": "lost receipt",
        "requested_by": team.manager.actor,
    }
    async with ctx.db.read() as s:
        pushed = list(await s.scalars(select(OutboxRow).order_by(OutboxRow.staff_id)))
    assert [(p.staff_id, p.member_id, p.kind) for p in pushed] == [
        (team.owner.id, None, "staff_alert"),
        (second.id, None, "staff_alert"),
    ]  # the removed owner is not told
    assert pushed[0].dedup_key == f"alert:{row.id}:{team.owner.id}"
    assert pushed[0].params == {"alert_id": row.id, "kind": "adjustment"}
    (raised,) = await audit_rows(ctx, "alert.raised")
    assert (raised.actor, raised.member_id) == (team.manager.actor, member_id)
    assert raised.details["kind"] == "adjustment"


async def test_adjustments_within_the_cap_or_by_an_owner_apply_at_once(
    ctx: Context, team: Team, member_id: int
) -> None:
    cap = ctx.shop.staff.adjust_alert_points

    within = await approvals.request_adjustment(ctx, team.manager, member_id, cap, "goodwill")
    by_owner = await approvals.request_adjustment(ctx, team.owner, member_id, cap * 3, "promo")

    assert (within.applied, within.balance) == (True, cap)
    assert (by_owner.applied, by_owner.balance) == (True, cap * 4)
    assert await alert_rows(ctx) == []
    assert await count(ctx, OutboxRow) == 0
    actors = [row.actor for row in await audit_rows(ctx, "points.adjusted")]
    assert actors == [team.manager.actor, team.owner.actor]


async def test_clerk_cannot_adjust(ctx: Context, team: Team, member_id: int) -> None:
    with pytest.raises(NotAllowed):
        await approvals.request_adjustment(ctx, team.clerk, member_id, 10, "nice customer")
    assert await balance(ctx, member_id) == 0


async def test_approval_applies_a_held_adjustment_exactly_once(
    ctx: Context, team: Team, member_id: int
) -> None:
    held = await approvals.request_adjustment(ctx, team.manager, member_id, 800, "lost receipt")
    assert held.alert_id is not None

    results = await asyncio.gather(
        *(approvals.decide(ctx, held.alert_id, owner=team.owner, approve=True) for _ in range(5)),
        return_exceptions=True,
    )

    decided = [r for r in results if isinstance(r, alerts.AlertView)]
    assert len(decided) == 1
    assert all(isinstance(r, AlertDecided) for r in results if r not in decided)
    assert (decided[0].status, decided[0].decided_by) == ("approved", team.owner.id)
    assert await balance(ctx, member_id) == 800
    assert await count(ctx, LedgerRow, LedgerRow.kind == "adjust") == 1
    (adjusted,) = await audit_rows(ctx, "points.adjusted")
    assert adjusted.actor == team.owner.actor
    assert adjusted.details == {
        "points": 800,
        "reason": "lost receipt",
        "requested_by": team.manager.actor,
        "alert_id": held.alert_id,
    }
    (approved,) = await audit_rows(ctx, "alert.approved")
    assert (approved.actor, approved.details["alert_id"]) == (team.owner.actor, held.alert_id)
    assert await alerts.open_alerts(ctx) == []

    with pytest.raises(AlertDecided):
        await approvals.decide(ctx, held.alert_id, owner=team.owner, approve=False)
    assert await balance(ctx, member_id) == 800


async def test_rejection_discards_a_held_adjustment(
    ctx: Context, team: Team, member_id: int
) -> None:
    held = await approvals.request_adjustment(ctx, team.manager, member_id, 900, "typo?")
    assert held.alert_id is not None

    view = await approvals.decide(ctx, held.alert_id, owner=team.owner, approve=False)

    assert (view.status, view.decided_by, view.decided_at) == ("rejected", team.owner.id, ctx.now())
    assert await balance(ctx, member_id) == 0
    assert await audit_rows(ctx, "points.adjusted") == []
    assert len(await audit_rows(ctx, "alert.rejected")) == 1
    with pytest.raises(AlertDecided):
        await approvals.decide(ctx, held.alert_id, owner=team.owner, approve=True)
    assert await balance(ctx, member_id) == 0


async def test_only_an_owner_decides(ctx: Context, team: Team, member_id: int) -> None:
    held = await approvals.request_adjustment(ctx, team.manager, member_id, 900, "lost receipt")
    assert held.alert_id is not None

    for someone in (team.manager, team.clerk):
        with pytest.raises(NotAllowed):
            await approvals.decide(ctx, held.alert_id, owner=someone, approve=True)

    assert await balance(ctx, member_id) == 0
    assert [a.id for a in await alerts.open_alerts(ctx)] == [held.alert_id]
    with pytest.raises(UnknownAlert):
        await approvals.decide(ctx, held.alert_id + 100, owner=team.owner, approve=True)


async def test_a_held_deduction_checks_the_balance_when_asked_and_when_approved(
    ctx: Context, team: Team, member_id: int
) -> None:
    with pytest.raises(NotEnoughPoints):
        await approvals.request_adjustment(ctx, team.manager, member_id, -600, "abuse")
    assert await alert_rows(ctx) == []

    await adjustments.adjust_points(ctx, member_id, 1000, "grant", actor=team.owner.actor)
    held = await approvals.request_adjustment(ctx, team.manager, member_id, -600, "abuse")
    assert held.alert_id is not None
    await adjustments.adjust_points(ctx, member_id, -500, "spent meanwhile", actor=team.owner.actor)

    with pytest.raises(NotEnoughPoints):
        await approvals.decide(ctx, held.alert_id, owner=team.owner, approve=True)

    # Nothing was decided: the owner can still reject it.
    assert [a.id for a in await alerts.open_alerts(ctx)] == [held.alert_id]
    assert await balance(ctx, member_id) == 500
    assert await audit_rows(ctx, "alert.approved") == []


# --- refunds of spent points --------------------------------------------------------------


async def test_refund_of_spent_points_alerts_the_owner(
    ctx: Context, team: Team, member_id: int
) -> None:
    # +50 points
    await sale(ctx, member_id, receipt="R-1", fen=50_000, staff_id=team.clerk.id, notify=True)
    await sale(ctx, member_id, receipt="R-2", fen=50_000, staff_id=team.clerk.id, notify=False)
    await refunds.refund_sale(ctx, store="main", receipt_no="R-2", staff_id=team.manager.id)
    assert await alert_rows(ctx) == []  # all points could be taken back

    await adjustments.adjust_points(ctx, member_id, -40, "spent", actor=team.owner.actor)
    refund = await refunds.refund_sale(
        ctx, store="main", receipt_no="R-1", staff_id=team.manager.id
    )

    assert refund.shortfall == 40
    (row,) = await alert_rows(ctx)
    assert (row.kind, row.member_id, row.staff_id) == (
        "refund_shortfall",
        member_id,
        team.manager.id,
    )
    assert row.details == {
        "store": "main",
        "receipt_no": "R-1",
        "refund_id": refund.refund_id,
        "amount_fen": 50_000,
        "shortfall": 40,
    }
    assert await count(ctx, OutboxRow, OutboxRow.staff_id == team.owner.id) == 1


async def test_historical_refund_alerts_nobody(ctx: Context, team: Team, member_id: int) -> None:
    await sale(ctx, member_id, receipt="R-1", fen=50_000, staff_id=team.clerk.id, notify=False)
    await adjustments.adjust_points(ctx, member_id, -50, "spent", actor=team.owner.actor)
    refund = await refunds.refund_sale(ctx, store="main", receipt_no="R-1", notify=False)
    assert refund.shortfall == 50
    assert await alert_rows(ctx) == []


# --- bursts of sales ----------------------------------------------------------------------


async def test_sales_burst_alerts_once_per_burst(
    ctx: Context, clock: FixedClock, team: Team, member_id: int
) -> None:
    rules = ctx.shop.staff
    assert (rules.burst_sales, rules.burst_minutes) == (3, 30)
    other = await register_member(ctx, name="韩梅梅", phone="13900139000")

    await sale(ctx, member_id, receipt="R-1", fen=50_000, staff_id=team.clerk.id, notify=True)
    await sale(ctx, other.id, receipt="O-1", fen=50_000, staff_id=team.clerk.id, notify=True)
    clock.advance(timedelta(minutes=10))
    await sale(ctx, member_id, receipt="R-2", fen=50_000, staff_id=team.clerk.id, notify=True)
    await sale(ctx, other.id, receipt="O-2", fen=50_000, staff_id=team.clerk.id, notify=True)
    assert await alert_rows(ctx) == []
    clock.advance(timedelta(minutes=10))
    # third within 30 minutes
    await sale(ctx, member_id, receipt="R-3", fen=50_000, staff_id=team.clerk.id, notify=True)

    (row,) = await alert_rows(ctx)
    assert (row.kind, row.member_id, row.staff_id) == ("sales_burst", member_id, team.clerk.id)
    assert (row.details["sales"], row.details["minutes"]) == (3, 30)

    clock.advance(timedelta(minutes=5))
    # the same burst goes on: quiet
    await sale(ctx, member_id, receipt="R-4", fen=50_000, staff_id=team.clerk.id, notify=True)
    await sale(ctx, member_id, receipt="R-5", fen=50_000, staff_id=team.clerk.id, notify=True)
    # a repeated receipt is no sale
    await sale(ctx, member_id, receipt="R-5", fen=50_000, staff_id=team.clerk.id, notify=True)
    assert len(await alert_rows(ctx)) == 1

    clock.advance(timedelta(hours=2))
    for receipt in ("R-6", "R-7", "R-8"):  # a new burst, long after
        await sale(ctx, member_id, receipt=receipt, fen=50_000, staff_id=team.clerk.id, notify=True)
    assert [a.kind for a in await alert_rows(ctx)] == ["sales_burst", "sales_burst"]
    assert await count(ctx, OutboxRow, OutboxRow.kind == "staff_alert") == 2


async def test_sales_spread_out_or_historical_do_not_alert(
    ctx: Context, clock: FixedClock, team: Team, member_id: int
) -> None:
    for receipt in ("R-1", "R-2", "R-3", "R-4"):
        await sale(ctx, member_id, receipt=receipt, fen=50_000, staff_id=team.clerk.id, notify=True)
        clock.advance(timedelta(minutes=16))  # never three within 30 minutes
    for receipt in ("H-1", "H-2", "H-3"):
        await sale(
            ctx, member_id, receipt=receipt, fen=50_000, staff_id=team.clerk.id, notify=False
        )
    assert await alert_rows(ctx) == []


# --- a phone registered at several stores -------------------------------------------------


async def test_phone_of_another_stores_member_alerts_the_owner(
    ctx: Context, team: Team, member_id: int
) -> None:
    with pytest.raises(PhoneTaken):
        await register_member(
            ctx, name="Li", phone="138 0013 8000", home_store="riverside", actor=team.clerk.actor
        )

    (row,) = await alert_rows(ctx)
    assert (row.kind, row.member_id, row.staff_id) == ("phone_elsewhere", member_id, team.clerk.id)
    assert row.details == {"phone": "+86138****8000", "store": "riverside", "home_store": "main"}
    assert await count(ctx, OutboxRow, OutboxRow.staff_id == team.owner.id) == 1

    with pytest.raises(PhoneTaken):  # again while the alert is open: no second alert
        await register_member(ctx, name="Li", phone="13800138000", home_store="riverside")
    assert len(await alert_rows(ctx)) == 1


async def test_phone_taken_in_the_same_or_an_unknown_store_does_not_alert(
    ctx: Context, team: Team, member_id: int
) -> None:
    for store in ("main", None):
        with pytest.raises(PhoneTaken):
            await register_member(ctx, name="Li", phone="13800138000", home_store=store)
    await register_member(ctx, name="Han", phone="13900139000")  # no home store
    with pytest.raises(PhoneTaken):
        await register_member(ctx, name="Han", phone="13900139000", home_store="riverside")
    assert await alert_rows(ctx) == []


# --- the other kinds, decided -------------------------------------------------------------


async def test_deciding_a_past_change_reverses_nothing(
    ctx: Context, clock: FixedClock, team: Team, member_id: int
) -> None:
    for receipt in ("R-1", "R-2", "R-3"):
        await sale(ctx, member_id, receipt=receipt, fen=50_000, staff_id=team.clerk.id, notify=True)
    with pytest.raises(PhoneTaken):
        await register_member(ctx, name="Li", phone="13800138000", home_store="riverside")
    before = await balance(ctx, member_id)
    burst, elsewhere = await alerts.open_alerts(ctx)  # oldest first
    assert (burst.kind, elsewhere.kind) == ("sales_burst", "phone_elsewhere")
    assert (burst.member_name, burst.member_no, burst.staff_name) == ("李雷", "M000001", "")

    checked = await approvals.decide(ctx, burst.id, owner=team.owner, approve=True)
    flagged = await approvals.decide(ctx, elsewhere.id, owner=team.owner, approve=False)

    assert (checked.status, flagged.status) == ("approved", "rejected")
    assert await balance(ctx, member_id) == before  # the sales stand
    assert await count(ctx, LedgerRow, LedgerRow.kind == "refund") == 0
    assert await alerts.open_alerts(ctx) == []
    assert (await alerts.get_alert(ctx, burst.id)).status == "approved"
    with pytest.raises(UnknownAlert):
        await alerts.get_alert(ctx, 999)
