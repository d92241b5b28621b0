"""``/staff``: the team. Owners list, invite, change roles and remove; managers invite clerks
of their store. A new colleague joins by sending ``/join CODE`` with the invite code."""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.staff.references import store_name
from bot.i18n import N_
from bot.names import ROLE_NAMES, channel_name
from core.people import staff as team
from core.people.erasure import remove_staff
from core.people.staff import Role, StaffView

NAME = "staff"
INVITE, INVITE_STORE, PICK, SET_ROLE, REMOVE = "invite", "invite_store", "pick", "role", "remove"


@dataclass(frozen=True)
class ColleagueRef(ButtonValue):
    """A colleague button's value (for a role change or removal): who."""

    staff_id: int


def _me(turn: Turn) -> StaffView:
    assert turn.staff is not None
    return turn.staff


def _describe(turn: Turn, person: StaffView) -> str:
    where = store_name(turn, person.store) if person.store else turn._("all stores")
    name = person.name or person.external_id
    role, channel = turn._(ROLE_NAMES[person.role]), channel_name(turn._, person.channel)
    return f"#{person.id} {name} — {role}, {where} ({channel})"


async def start(turn: Turn) -> Step:
    me = _me(turn)
    people = [
        p for p in await team.list_staff(turn.ctx) if me.role is Role.OWNER or p.store == me.store
    ]
    lines = [turn._("Staff:")] + [_describe(turn, p) for p in people]
    actions = [Payload(NAME, INVITE).button(turn._("Invite"))]
    if me.role is Role.OWNER:
        actions += [
            Payload(NAME, PICK, SET_ROLE).button(turn._("Change a role")),
            Payload(NAME, PICK, REMOVE).button(turn._("Remove")),
        ]
    return Step([Reply("\n".join(lines), buttons(actions))])


async def invite(turn: Turn) -> Step:
    """Pick the new colleague's role (managers invite clerks only)."""
    me = _me(turn)
    roles = list(Role) if me.role is Role.OWNER else [Role.CLERK]
    choices = [Payload(NAME, INVITE_STORE, r.value).button(turn._(ROLE_NAMES[r])) for r in roles]
    return Step([Reply(turn._("Invite as:"), buttons(choices))], next=INVITE_STORE)


async def invite_store(turn: Turn) -> Step:
    """The store (owners choose; a new owner needs none), then the code."""
    me = _me(turn)
    value = turn.payload.value if turn.payload else ""
    if value in {r.value for r in Role}:
        if me.role is Role.OWNER and value != Role.OWNER.value:
            turn.data["role"] = value  # kept only once allowed: a refusal leaves nothing behind
            choices = [
                Payload(NAME, INVITE_STORE, s.code).button(store_name(turn, s.code))
                for s in turn.ctx.shop.stores
            ]
            return Step([Reply(turn._("For which store?"), buttons(choices))], next=INVITE_STORE)
        role, store = value, me.store
    else:
        role = str(turn.data.get("role", ""))
        store = value if turn.ctx.shop.store(value) else None
    created = await team.create_invite(turn.ctx, me, role, store)
    text = turn._(
        "Invite code {code} ({role}), valid until {until}. Your colleague sends "
        "/join {code} to this bot (WeChat or Telegram).",
        code=created.code,
        role=turn._(ROLE_NAMES[created.role]),
        until=turn.moment(created.expires_at),
    )
    return Step([Reply(text)])


async def pick(turn: Turn) -> Step:
    """Which colleague: for a role change or removal (owners only)."""
    me = _me(turn)
    me.require(Role.OWNER)
    action = turn.payload.value if turn.payload else ""
    if action not in (SET_ROLE, REMOVE):
        return await start(turn)
    people = [p for p in await team.list_staff(turn.ctx) if p.id != me.id]
    if not people:
        return Step([Reply(turn._("There is nobody else on the staff yet."))])
    choices = [
        Payload(NAME, action, ColleagueRef(p.id).pack()).button(_describe(turn, p)) for p in people
    ]
    return Step([Reply(turn._("Who?"), buttons(*([c] for c in choices)))], next=action)


async def set_role(turn: Turn) -> Step:
    me = _me(turn)
    me.require(Role.OWNER)
    value = turn.payload.value if turn.payload else ""
    picked = turn.payload.read(ColleagueRef) if turn.payload else None
    if picked is not None:
        turn.data["who"] = picked.staff_id
    if "who" not in turn.data:  # text typed instead of picking a colleague
        return await start(turn)
    if value not in {r.value for r in Role}:  # the colleague just picked, or text typed
        choices = [Payload(NAME, SET_ROLE, r.value).button(turn._(ROLE_NAMES[r])) for r in Role]
        return Step([Reply(turn._("New role:"), buttons(choices))], next=SET_ROLE)
    person = await team.get_staff(turn.ctx, int(turn.data["who"]))
    role = Role(value)
    store = person.store or (turn.ctx.shop.stores[0].code if role is not Role.OWNER else None)
    changed = await team.add_staff(
        turn.ctx,
        channel=person.channel,
        external_id=person.external_id,
        role=role.value,
        store=store,
        name=person.name,
        actor=me.actor,
    )
    return Step([Reply(turn._("Changed: {who}", who=_describe(turn, changed)))])


async def remove(turn: Turn) -> Step:
    me = _me(turn)
    picked = turn.payload.read(ColleagueRef) if turn.payload else None
    if picked is None:
        return await start(turn)
    person = await team.get_staff(turn.ctx, picked.staff_id)
    await remove_staff(turn.ctx, me, person.id)
    return Step([Reply(turn._("Removed: {who}", who=_describe(turn, person)))])


async def join(turn: Turn) -> Step:
    """``/join CODE``: become staff with an invite code."""
    code = turn.text.partition(" ")[2].strip()
    if not code:
        return Step([Reply(turn._("Send /join followed by your invite code."))])
    joined = await team.accept_invite(
        turn.ctx, code, turn.identity.channel, turn.identity.external_id, turn.locale
    )
    text = turn._("Welcome to the team! You are now {who}.", who=_describe(turn, joined))
    return Step([Reply(text + "\n" + turn._("Send /help to see your commands."))])


flow = Flow(
    name=NAME,
    start=start,
    steps={
        INVITE: invite,
        INVITE_STORE: invite_store,
        PICK: pick,
        SET_ROLE: set_role,
        REMOVE: remove,
    },
    commands=("/staff",),
    once=frozenset({REMOVE}),
    stateless=frozenset({INVITE, PICK}),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("the team and invites"), order=120),
)

join_flow = Flow(name="join", start=join, commands=("/join",), needs_member=False)
FLOWS = (flow, join_flow)
