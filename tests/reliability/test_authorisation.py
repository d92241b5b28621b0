"""Every staff command, by command, by its arguments, by its menu entry and by its buttons,
tried by a member and by a clerk where a manager is needed: refused politely, audited (one
row per attempt, naming who tried what) and nothing changed. The same for what a staff
flow refuses inside itself: a manager's campaign to another store, a manager at the
owner's steps of ``/staff``.

The commands come from the flows themselves, so a staff command added later is covered
without touching this test."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Payload
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.staff import campaign
from bot.dialogs.staff import team as staff_admin
from bot.error_texts import NEEDED_ROLES, describe
from bot.i18n import LOCALES, gettext
from core import loyalty
from core.audit import member_actor
from core.context import Context
from core.errors import NotAllowed
from core.people.registration import register_member
from core.people.staff import Role, StaffView, add_staff
from storage.models import AuditRow, Base, IdentityRow, StaffRow
from tests.dialogs.conftest import hinted, say, unstamped

ARGUMENTS = ("", " 13900000001 100 R-1", " M000001 +500 because", " 1", " main 30d")
# Every message records its arrival on the chat account (WeChat's reply windows, reachable
# again): these columns change whatever the message does, so they alone are left out.
ARRIVAL = {IdentityRow.last_inbound_at.key, IdentityRow.last_message_at.key}
ARRIVAL |= {IdentityRow.last_event_at.key, IdentityRow.reachable.key}
# So does a staff member's language, kept for their pushes (the tests write in both).
WRITER = {IdentityRow.__tablename__: ARRIVAL, StaffRow.__tablename__: {StaffRow.locale.key}}
Snapshot = dict[str, list[str]]


async def snapshot(ctx: Context) -> tuple[Snapshot, int]:
    """Every table's rows (of the chat accounts and staff, all but the columns a message
    writes), and the last audit row's id: the audit rows a refusal adds are checked one by
    one after it."""
    tables: Snapshot = {}
    async with ctx.db.read() as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.key not in WRITER.get(table.name, ())]
            rows = (await s.execute(select(*columns))).all()
            tables[table.name] = sorted(map(repr, rows))
        last = await s.scalar(select(AuditRow.id).order_by(AuditRow.id.desc()).limit(1))
    return tables, int(last or 0)


async def unchanged_but_audited(ctx: Context, before: tuple[Snapshot, int]) -> list[AuditRow]:
    """The audit rows written since ``before``; every other row of every table as it was."""
    (tables, last), (now, _) = before, await snapshot(ctx)
    audit_log = AuditRow.__tablename__
    async with ctx.db.read() as s:
        earlier = (await s.execute(select(AuditRow.__table__).where(AuditRow.id <= last))).all()
        added = await s.scalars(select(AuditRow).where(AuditRow.id > last).order_by(AuditRow.id))
        added_rows = list(added)
    assert sorted(map(repr, earlier)) == tables.pop(audit_log)  # none changed or gone
    now.pop(audit_log)
    assert now == tables
    return added_rows


def refusal_of(actor: str, flow: str, member_id: int | None) -> tuple[object, ...]:
    return ("staff.refused", actor, member_id, {"command": flow, "channel": "console"})


def as_refusal(row: AuditRow) -> tuple[object, ...]:
    return (row.action, row.actor, row.member_id, row.details)


def staff_flows(dialogs: Dialogs, above: Role | None) -> list[Any]:
    """Flows only staff may use, and (with ``above``) only those above that role."""
    return [
        flow
        for flow in dialogs.flows.values()
        if flow.role is not None and (above is None or flow.role.rank > above.rank)
    ]


def attempts(flow: Any, dialogs: Dialogs) -> list[dict[str, str]]:
    """Each command with each kind of argument, the flow's menu entry, and the flow's
    buttons that act on their own (its start and its stateless ones, e.g. an alert's
    Approve); a button of a step the sender's conversation is not in is a stale button,
    answered with the menu. A command a member flow shares (``/bookings``: one's own) is
    the member's, so not tried here."""
    members_own = {c for f in dialogs.flows.values() if f.role is None for c in f.commands}
    tries: list[dict[str, str]] = [
        {"text": command + args}
        for command in flow.commands
        if command not in members_own
        for args in ARGUMENTS
    ]
    tries.append({"menu": flow.name})
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
    clerk = await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store="main")
    if who == "member":
        user, actor, member_id = "mallory", member_actor(member.id), member.id
    else:
        user, actor, member_id = "clerk", clerk.actor, None
    flows = staff_flows(dialogs, None if who == "member" else Role.CLERK)
    assert flows, "there are staff flows to try"

    for flow in flows:
        refusal = gettext("zh_CN", "Sorry, this is only for {needed}.").format(
            needed=gettext("zh_CN", NEEDED_ROLES[flow.role.value])
        )
        for attempt in attempts(flow, dialogs):
            before = await snapshot(ctx)
            replies = await say(dialogs, user=user, **attempt)
            assert [r.text for r in replies] == [refusal], (flow.name, attempt)
            audited = await unchanged_but_audited(ctx, before)
            assert [as_refusal(row) for row in audited] == [
                refusal_of(actor, flow.name, member_id)
            ], (flow.name, attempt)
        stale = sorted((set(flow.steps) | flow.once) - flow.stateless)
        for action in stale:  # a step the sender is not in: the menu, nothing done
            before = await snapshot(ctx)
            payload = Payload(flow.name, action, "1").pack()
            replies = await say(dialogs, user=user, payload=payload)
            assert replies and refusal not in [r.text for r in replies], (flow.name, action)
            assert await unchanged_but_audited(ctx, before) == [], (flow.name, action)


async def team(ctx: Context) -> dict[str, StaffView]:
    """Two owners of every store, a manager and a clerk of ``main``."""
    people = (("boss", "owner", None), ("vic", "owner", None))
    people += (("mia", "manager", "main"), ("cleo", "clerk", "main"))
    return {
        name: await add_staff(ctx, channel="console", external_id=name, role=role, store=store)
        for name, role, store in people
    }


async def refused_in_flow(
    ctx: Context, dialogs: Dialogs, locale: str, user: str, actor: str, flow: str, **attempt: str
) -> None:
    """``attempt`` by ``user`` is answered with the owner-only refusal in ``locale``,
    audited once with who tried which flow, and changes nothing else."""
    before = await snapshot(ctx)
    replies = await say(dialogs, user=user, lang=locale, **attempt)
    # A step refused inside a conversation says how to leave it, under the refusal.
    hint = "\n" + gettext(locale, HINT)
    texts = [r.text.removesuffix(hint) for r in replies]
    assert texts == [describe(NotAllowed(needed="owner"), locale, None)], attempt
    audited = await unchanged_but_audited(ctx, before)
    assert [as_refusal(row) for row in audited] == [refusal_of(actor, flow, None)], attempt


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_managers_campaign_to_another_store_is_refused_and_audited(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    staff = await team(ctx)
    await register_member(ctx, name="会员", phone="13800000001", home_store="riverside")
    for text in ("/campaign dormant riverside hi", "/campaign dormant all hi"):
        await refused_in_flow(
            ctx, dialogs, locale, "mia", staff["mia"].actor, campaign.NAME, text=text
        )


@pytest.mark.parametrize("locale", LOCALES)
async def test_owner_steps_of_staff_are_refused_to_a_manager_and_audited(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    staff = await team(ctx)
    mia, actor = "mia", staff["mia"].actor
    (listing,) = await say(dialogs, "/staff", user=mia, lang=locale)
    # A manager sees only Invite; the owner's buttons, tapped anyway (an old or forged one):
    for action in (staff_admin.SET_ROLE, staff_admin.REMOVE):
        payload = Payload(staff_admin.NAME, staff_admin.PICK, action).pack()
        assert payload not in [choice.payload for choice in listing.choices]
        await refused_in_flow(ctx, dialogs, locale, mia, actor, staff_admin.NAME, payload=payload)

    # Inviting: a manager is offered clerks only; a manager or an owner, asked for anyway.
    invite = Payload(staff_admin.NAME, staff_admin.INVITE).pack()
    (roles,) = await say(dialogs, payload=invite, user=mia, lang=locale)
    offered = [unstamped(choice.payload) for choice in roles.choices]
    assert offered == [Payload(staff_admin.NAME, staff_admin.INVITE_STORE, "clerk").pack()]
    for role in ("manager", "owner"):
        payload = Payload(staff_admin.NAME, staff_admin.INVITE_STORE, role).pack()
        await refused_in_flow(ctx, dialogs, locale, mia, actor, staff_admin.NAME, payload=payload)
    # The refusals left the invitation waiting where it was: a clerk can still be invited.
    (invited,) = await say(dialogs, payload=offered[0], user=mia, lang=locale)
    assert "/join" in invited.text

    # Changing a role: an owner demoted half-way (by the other owner) cannot finish.
    boss, boss_actor = "boss", staff["boss"].actor
    pick = Payload(staff_admin.NAME, staff_admin.PICK, staff_admin.SET_ROLE).pack()
    await say(dialogs, payload=pick, user=boss, lang=locale)
    who = Payload(staff_admin.NAME, staff_admin.SET_ROLE, str(staff["cleo"].id)).pack()
    (new_role,) = await say(dialogs, payload=who, user=boss, lang=locale)
    assert new_role.text == hinted(locale, gettext(locale, "New role:"))
    await add_staff(
        ctx,
        channel="console",
        external_id="boss",
        role="manager",
        store="main",
        actor=staff["vic"].actor,
    )
    manager = Payload(staff_admin.NAME, staff_admin.SET_ROLE, "manager").pack()
    await refused_in_flow(ctx, dialogs, locale, boss, boss_actor, staff_admin.NAME, payload=manager)
