"""The weekly digest (``core.insights.digests``) as staff read it: each line of what moved, with the
button that starts what to do about it — a win-back campaign to exactly the members a line
counted (``campaign``'s stateless ``DIGEST`` step), or the feedback queue (``/feedback``).

``digest_reply`` renders a pushed ``staff_digest`` and ``/digest`` alike; ``/digest``
shows the staff member's latest digest again (managers and up).
"""

from __future__ import annotations

from babel.numbers import format_percent

from bot.dialogs.engine.dialogs import START, Flow, StaffHelp, Turn
from bot.dialogs.engine.types import Button, Payload, Reply, Step, buttons
from bot.dialogs.staff import campaign
from bot.dialogs.staff import feedback as desk_feedback
from bot.dialogs.staff.references import store_name
from bot.i18n import N_, localized
from core.insights import digests
from core.insights.digests import Digest, DigestItem
from core.people.staff import Role

NAME = "digest"


def _tier(turn: Turn, code: str | None) -> str:
    tier = turn.ctx.shop.tier(code or "")
    return localized(tier.name, tier.name_en, turn.locale)


def _rate(turn: Turn, item: DigestItem) -> str:
    return turn._(
        "{rate} ({repeat} of {buyers} buyers bought twice or more in {days} days)",
        rate=format_percent(item.repeat_rate, "#,##0.0%", locale=turn.locale),
        repeat=item.details.get("repeat_buyers", 0),
        buyers=item.count,
        days=item.details.get("days", ""),
    )


def item_text(turn: Turn, item: DigestItem) -> str:
    """One line of the digest, in the reader's language."""
    store = store_name(turn, item.store) if item.store else ""
    if item.kind == digests.DORMANT:
        if not item.store:
            return turn._(
                "{count} {tier} members without a home store became dormant.",
                count=item.count,
                tier=_tier(turn, item.tier),
            )
        return turn._(
            "{count} {tier} members became dormant at {store}.",
            count=item.count,
            tier=_tier(turn, item.tier),
            store=store,
        )
    if item.kind == digests.URGENT_FEEDBACK:
        return turn._("{count} urgent feedback still open.", count=item.count)
    if item.kind == digests.BEST_STORE:
        return turn._("Best repeat rate: {store}, {rate}.", store=store, rate=_rate(turn, item))
    if item.kind == digests.WORST_STORE:
        return turn._("Lowest repeat rate: {store}, {rate}.", store=store, rate=_rate(turn, item))
    if item.kind == digests.STORE_REPEAT:
        return turn._("Repeat rate at {store}: {rate}.", store=store, rate=_rate(turn, item))
    return item.kind


def item_button(turn: Turn, item: DigestItem) -> Button | None:
    """What the line's button starts, if it has one."""
    if item.kind == digests.DORMANT:
        where = store_name(turn, item.store) if item.store else turn._("no home store")
        label = turn._(
            "Win back the {count} ({tier}, {store})",
            count=item.count,
            tier=_tier(turn, item.tier),
            store=where,
        )
        return Payload(
            campaign.NAME, campaign.DIGEST, campaign.DigestLineRef(item.id).pack()
        ).button(label)
    if item.kind == digests.URGENT_FEEDBACK:
        return Payload(desk_feedback.NAME, START).button(turn._("Open feedback"))
    return None


def digest_reply(turn: Turn, digest: Digest) -> Reply:
    """The digest with a button per line that has an action."""
    head = turn._(
        "Weekly digest, {first} – {last}",
        first=turn.day(digest.first_day),
        last=turn.day(digest.last_day),
    )
    if digest.store:
        head += turn._(" ({store})", store=store_name(turn, digest.store))
    lines = [head]
    rows = []
    for number, item in enumerate(digest.items, start=1):
        lines.append(f"{number}. {item_text(turn, item)}")
        button = item_button(turn, item)
        if button is not None:
            rows.append([button])
    return Reply("\n".join(lines), buttons(*rows))


async def show(turn: Turn) -> Step:
    """The staff member's latest digest, buttons and all."""
    assert turn.staff is not None
    latest = await digests.latest_digest(turn.ctx, turn.staff.id)
    if latest is None:
        return Step([Reply(turn._("No digest yet: it comes every Monday morning."))])
    return Step([digest_reply(turn, latest)])


flow = Flow(
    name=NAME,
    start=show,
    commands=("/digest",),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("the weekly digest"), order=100),
)
FLOWS = (flow,)
