"""Every staff command, by command, by its arguments and by its buttons, tried by a member
and by a clerk where a manager is needed: refused politely, audited, and nothing changed.

The commands come from the flows themselves, so a staff command added later is covered
without touching this test."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.dialogs.engine import Dialogs
from bot.dialogs.types import Payload
from bot.i18n import gettext
from bot.messages import NEEDED_ROLES
from core import loyalty
from core.context import Context
from core.members import register_member
from core.staff import Role, add_staff
from storage.models import AuditRow, Base
from tests.dialogs.conftest import say

UNCHANGED_BY_A_REFUSAL = {"audit_log", "channel_identities"}  # the refusal, the arrival
ARGUMENTS = ("", " 13900000001 100 R-1", " M000001 +500 because", " 1", " main 30d")


async def snapshot(ctx: Context) -> dict[str, Any]:
    """Every table's rows, except what a refusal itself writes."""
    tables: dict[str, Any] = {}
    async with ctx.db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in UNCHANGED_BY_A_REFUSAL:
                continue
            rows = (await s.execute(select(table))).all()
            tables[table.name] = sorted(map(repr, rows))
    return tables


def staff_flows(dialogs: Dialogs, above: Role | None) -> list[Any]:
    """Flows only staff may use, and (with ``above``) only those above that role."""
    return [
        flow
        for flow in dialogs.flows.values()
        if flow.role is not None and (above is None or flow.role.rank > above.rank)
    ]


def attempts(flow: Any, dialogs: Dialogs) -> list[dict[str, str]]:
    """Each command with each kind of argument, and the flow's buttons that act on their
    own (its start and its stateless ones, e.g. an alert's Approve); a button of a step the
    sender's conversation is not in is a stale button, answered with the menu. A command
    a member flow shares (``/bookings``: one's own) is the member's, so not tried here."""
    members_own = {c for f in dialogs.flows.values() if f.role is None for c in f.commands}
    tries: list[dict[str, str]] = [
        {"text": command + args}
        for command in flow.commands
        if command not in members_own
        for args in ARGUMENTS
    ]
    for action in ("start", *flow.stateless):
        tries.append({"payload": Payload(flow.name, action, "1").pack()})
    return tries


@pytest.mark.parametrize("who", ["member", "clerk"])
async def test_staff_commands_are_refused_audited_and_change_nothing(
    ctx: Context, dialogs: Dialogs, who: str
) -> None:
    member = await register_member(
        ctx, name="Mallory", phone="13900000001", channel="console", external_id="mallory"
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-1", member_id=member.id, amount_fen=100_000
    )
    await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store="main")
    user = "mallory" if who == "member" else "clerk"
    flows = staff_flows(dialogs, None if who == "member" else Role.CLERK)
    assert flows, "there are staff flows to try"
    before = await snapshot(ctx)
    async with ctx.db.read() as s:
        audited = int(await s.scalar(select(func.count()).select_from(AuditRow)) or 0)

    tried = 0
    for flow in flows:
        refusal = gettext("zh_CN", "Sorry, this is only for {needed}.").format(
            needed=gettext("zh_CN", NEEDED_ROLES[flow.role.value])
        )
        for attempt in attempts(flow, dialogs):
            replies = await say(dialogs, user=user, **attempt)
            assert [r.text for r in replies] == [refusal], (flow.name, attempt)
            tried += 1
        for action in (*flow.steps, *flow.once):  # stale buttons: the menu, nothing done
            payload = Payload(flow.name, action, "1").pack()
            assert await say(dialogs, user=user, payload=payload)
    assert tried >= len(flows)
    assert await snapshot(ctx) == before
    async with ctx.db.read() as s:
        refusals = int(
            await s.scalar(
                select(func.count()).select_from(AuditRow).where(AuditRow.action == "staff.refused")
            )
            or 0
        )
        everything = int(await s.scalar(select(func.count()).select_from(AuditRow)) or 0)
    assert refusals >= tried  # each refused command, and stale buttons that were refused too
    assert everything == audited + refusals  # the refusals, and nothing else
