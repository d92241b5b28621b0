"""``/campaign [stage] [store|all] [message]``: a manager or the owner sends a message (and
optionally a coupon) to a segment of members — choose the stage, the store (owners only;
a manager's campaign goes to their own store's members), write the message, choose a
coupon or none — then sees how many members it reaches (those who declined marketing are
left out) and sends it, once, through the outbox.

A campaign that reaches at least ``[campaigns] min_members`` is measured: the summary shows
the holdout (the shop file's share by default) and offers to change it and to add a second
message (B); ``core.insights.campaigns`` draws who gets A, B or nothing. A weekly digest's win-back
button (``DIGEST``, stateless, with the digest line's id) starts the same flow for exactly
the members that line counted: only the message and coupon are asked.

``campaign_lines`` words campaign results for the ``/stats`` report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.dialogs.engine.dialogs import Flow, StaffHelp, Turn
from bot.dialogs.engine.types import ButtonValue, Payload, Reply, Step, buttons
from bot.dialogs.member.rewards import reward_name
from bot.dialogs.staff.references import own_store, store_name
from bot.error_texts import STAGE_NAMES
from bot.i18n import N_, format_time, localized
from bot.names import joined
from bot.reports import campaign_group_rows, campaign_roi_rows
from core.engagement import products
from core.errors import InvalidInput, NotAllowed, UnknownDigest, UnknownReward
from core.insights import campaigns, digests
from core.insights.campaign_results import CampaignStats
from core.insights.campaigns import MESSAGE_MAX, CampaignResult
from core.insights.segments import Segment, Stage
from core.people.staff import Role
from core.shop import Reward

NAME = "campaign"
STAGE, STORE, MESSAGE, REWARD, CONFIRM = "stage", "store", "message", "reward", "confirm"
MESSAGE_B, HOLDOUT, DIGEST = "message_b", "holdout", "digest"
ALL = "all"  # the store value of a campaign to every store's members
NONE = "none"  # the reward value of a campaign without a coupon
YES, NO = "yes", "no"
ADD_B, DROP_B = "add_b", "drop_b"  # the summary's other buttons (values of CONFIRM)
HOLDOUT_CHOICES = (0, 5, 10, 20)  # percent; any whole number 0–50 may be typed
ALL_WORDS = (ALL, "全部")


@dataclass(frozen=True)
class DigestLineRef(ButtonValue):
    """A digest's win-back button's value: the digest line whose members it reaches."""

    item_id: int


def _stage(turn: Turn, text: str) -> str | None:
    """A stage by its code (``dormant``, ``at-risk``) or its name in the reader's language."""
    typed = text.strip().lower().replace("-", "_")
    for stage in Stage:
        names = (stage.value, turn._(STAGE_NAMES[stage.value]).lower(), STAGE_NAMES[stage.value])
        if typed in (name.lower() for name in names):
            return stage.value
    return None


def _store(turn: Turn, text: str) -> str | None:
    """A store code, ``ALL``, or None when ``text`` names neither."""
    typed = text.strip().lower()
    if typed in ALL_WORDS or typed == turn._("All stores").lower():
        return ALL
    for store in turn.ctx.shop.stores:
        if typed in (store.code.lower(), store.name.lower(), store.name_en.lower()):
            return store.code
    return None


def _segment(turn: Turn) -> Segment:
    return replace(_audience(turn), store=_campaign_store(turn))


def _audience(turn: Turn) -> Segment:
    """Who the campaign is for, as the campaign keeps it (the store comes on its own)."""
    tier = turn.data.get("tier")
    tiers = frozenset({tier}) if tier else frozenset[str]()
    return Segment(stages=frozenset({Stage(turn.data["stage"])}), tiers=tiers)


def _digest_item(turn: Turn) -> int | None:
    item = turn.data.get("digest")
    return int(item) if item is not None else None


def _holdout_percent(turn: Turn) -> int:
    return int(turn.data.get("holdout", turn.ctx.shop.campaigns.holdout_percent))


def _campaign_store(turn: Turn) -> str | None:
    store = turn.data["store"]
    return None if store == ALL else str(store)


def _store_label(turn: Turn, store: str | None) -> str:
    return turn._("all stores") if store is None else store_name(turn, store)


def _fits(message: str) -> bool:
    return 1 <= len(message) <= MESSAGE_MAX


async def start(turn: Turn) -> Step:
    """``/campaign`` alone asks for everything; ``/campaign dormant main Hello!`` has it."""
    assert turn.staff is not None
    data = turn.data
    data.clear()
    data["locale"] = turn.locale  # staff who are not members keep their language
    parts = turn.text.split(maxsplit=1)
    rest = parts[1] if len(parts) > 1 else ""
    if rest:
        word, _, rest = rest.partition(" ")
        stage = _stage(turn, word)
        if stage is None:
            raise InvalidInput(field="stages", value=word)
        data["stage"] = stage
        rest = rest.strip()
    if rest:
        word, _, after = rest.partition(" ")
        store = _store(turn, word)
        if store is not None:
            data["store"] = store
            rest = after.strip()
    mine = own_store(turn)
    if turn.staff.role is not Role.OWNER:
        if data.get("store", mine) != mine:
            raise NotAllowed(needed=Role.OWNER.value)
        data["store"] = mine
    elif mine is not None:  # a shop with one store
        data.setdefault("store", mine)
    if rest:
        if not _fits(rest):
            return _ask_message(turn, again=True)
        data["message"] = rest
    return await _next(turn)


async def _next(turn: Turn) -> Step:
    """Ask for what is still missing; with everything known, the summary to confirm."""
    data = turn.data
    if "stage" not in data:
        return _ask_stage(turn)
    if "store" not in data:
        return _ask_store(turn)
    if "message" not in data:
        return _ask_message(turn)
    if "reward" not in data:
        if turn.ctx.shop.rewards:
            return await _ask_reward(turn)
        data["reward"] = NONE
    return await _summary(turn)


def _ask_stage(turn: Turn) -> Step:
    choices = [
        Payload(NAME, STAGE, stage.value).button(turn._(STAGE_NAMES[stage.value]))
        for stage in Stage
    ]
    text = turn._("Which members should the campaign go to?")
    rows = (choices[i : i + 2] for i in range(0, len(choices), 2))
    return Step([Reply(text, buttons(*rows))], next=STAGE)


def _ask_store(turn: Turn) -> Step:
    choices = [
        Payload(NAME, STORE, store.code).button(store_name(turn, store.code))
        for store in turn.ctx.shop.stores
    ]
    every = Payload(NAME, STORE, ALL).button(turn._("All stores"))
    text = turn._("Members of which store?")
    return Step([Reply(text, buttons(choices, [every]))], next=STORE)


def _ask_message(turn: Turn, *, again: bool = False) -> Step:
    if again:
        text = turn._(
            "A message has 1 to {max} characters; please write it again.", max=MESSAGE_MAX
        )
    else:
        text = turn._("Write the message to send (at most {max} characters):", max=MESSAGE_MAX)
    return Step([Reply(text)], next=MESSAGE)


async def _ask_reward(turn: Turn) -> Step:
    values = await products.reward_values(turn.ctx)
    stock = await products.stock_left(turn.ctx)
    choices = []
    for reward in turn.ctx.shop.rewards:
        name, value = reward_name(turn, reward), turn.money(values.get(reward.code, 0))
        label = (
            turn._("{reward} (worth {value})", reward=name, value=value)
            if reward.goods is None
            else turn._(
                "{reward} (worth {value}, {left} left)",
                reward=name,
                value=value,
                left=stock.get(reward.code, 0),
            )
        )
        choices.append(Payload(NAME, REWARD, reward.code).button(label))
    none = Payload(NAME, REWARD, NONE).button(turn._("No coupon"))
    text = turn._("Give each member a coupon with the message?")
    return Step([Reply(text, buttons(*([c] for c in choices), [none]))], next=REWARD)


async def _reward_lines(turn: Turn, reward: Reward, members: int) -> list[str]:
    """The gift as the summary shows it: its value (goods: the product's price) and, for
    goods, a warning when fewer pieces are left than members to get one."""
    value = (await products.reward_values(turn.ctx)).get(reward.code, 0)
    lines = [
        turn._(
            "Coupon for each: {reward}, worth {value}, valid for {days} days.",
            reward=reward_name(turn, reward),
            value=turn.money(value),
            days=reward.valid_days,
        )
    ]
    left = (await products.stock_left(turn.ctx)).get(reward.code)
    if reward.goods is not None and left is not None and left < members:
        lines.append(
            turn._("Only {left} of them are left for {count} members.", left=left, count=members)
        )
    return lines


async def _summary(turn: Turn) -> Step:
    data = turn.data
    reached = await campaigns.preview(turn.ctx, _segment(turn), digest_item=_digest_item(turn))
    if reached == 0:
        return Step([Reply(_nobody(turn))])
    stage = STAGE_NAMES[str(data["stage"])]
    if _digest_item(turn) is None:
        audience = turn._(
            "Campaign to: {stage}, {store}",
            stage=turn._(stage),
            store=_store_label(turn, _campaign_store(turn)),
        )
    else:
        store = _campaign_store(turn)
        audience = turn._(
            "Win-back campaign to the {count} members the digest counted: {tier}, {store}, "
            "newly dormant.",
            count=data["digest_count"],
            tier=_tier_name(turn, str(data.get("tier", ""))),
            store=turn._("no home store") if store is None else store_name(turn, store),
        )
    lines = [audience, turn._("Message: {text}", text=data["message"])]
    measured = reached >= turn.ctx.shop.campaigns.min_members
    if measured and data.get("message_b"):
        lines.append(turn._("Second message (B): {text}", text=data["message_b"]))
    reward = turn.ctx.shop.reward(str(data["reward"]))
    if reward is None:
        lines.append(turn._("No coupon."))
    else:
        held = campaigns.holdout_size(turn.ctx, reached, _holdout_percent(turn))
        lines += await _reward_lines(turn, reward, reached - held)
    lines.append(
        turn._(
            "This reaches {count} members (members who declined marketing are left out).",
            count=reached,
        )
    )
    rows = [
        [
            Payload(NAME, CONFIRM, YES).button(turn._("Send")),
            Payload(NAME, CONFIRM, NO).button(turn._("Cancel")),
        ]
    ]
    if measured:  # big enough to measure: a holdout, and a second message if wanted
        lines += _measure_lines(turn, reached)
        if data.get("message_b"):
            variant = Payload(NAME, CONFIRM, DROP_B).button(turn._("Remove message B"))
        else:
            variant = Payload(NAME, CONFIRM, ADD_B).button(turn._("Add a second message (B)"))
        holdout = Payload(NAME, CONFIRM, HOLDOUT).button(
            turn._("Change the holdout ({percent}%)", percent=_holdout_percent(turn))
        )
        rows += [[variant], [holdout]]
    else:
        data.pop("message_b", None)
    return Step([Reply("\n".join(lines), buttons(*rows))], next=CONFIRM)


def _measure_lines(turn: Turn, reached: int) -> list[str]:
    percent = _holdout_percent(turn)
    held = campaigns.holdout_size(turn.ctx, reached, percent)
    if not held:
        lines = [turn._("No holdout: every one of them gets the message, nothing is measured.")]
    else:
        lines = [
            turn._(
                "Holdout: {percent}%: {count} of them, drawn at random, get nothing, to "
                "measure what the campaign brings.",
                percent=percent,
                count=held,
            )
        ]
    if turn.data.get("message_b"):
        lines.append(turn._("The others get message A or B, half each, drawn at random."))
    return lines


def _tier_name(turn: Turn, code: str) -> str:
    tier = turn.ctx.shop.tier(code)
    return localized(tier.name, tier.name_en, turn.locale)


def _nobody(turn: Turn) -> str:
    return turn._(
        "Nobody would receive this campaign: no member of this segment accepts marketing "
        "messages. Nothing was sent."
    )


async def choose_stage(turn: Turn) -> Step:
    stage = _stage(turn, turn.payload.value if turn.payload else turn.text)
    if stage is None:
        return _ask_stage(turn)
    turn.data["stage"] = stage
    return await _next(turn)


async def choose_store(turn: Turn) -> Step:
    store = _store(turn, turn.payload.value if turn.payload else turn.text)
    if store is None:
        return _ask_store(turn)
    turn.data["store"] = store
    return await _next(turn)


async def write_message(turn: Turn) -> Step:
    if not _fits(turn.text):
        return _ask_message(turn, again=True)
    turn.data["message"] = turn.text
    return await _next(turn)


async def choose_reward(turn: Turn) -> Step:
    if turn.payload is None:
        return await _ask_reward(turn)
    value = turn.payload.value
    if value != NONE and turn.ctx.shop.reward(value) is None:
        raise UnknownReward(reward=value)
    turn.data["reward"] = value
    return await _next(turn)


def _ask_message_b(turn: Turn, *, again: bool = False) -> Step:
    if again:
        text = turn._(
            "A message has 1 to {max} characters; please write it again.", max=MESSAGE_MAX
        )
    else:
        text = turn._(
            "Write the second message (B), at most {max} characters; half of the members "
            "get it instead of the first:",
            max=MESSAGE_MAX,
        )
    return Step([Reply(text)], next=MESSAGE_B)


def _ask_holdout(turn: Turn, *, again: bool = False) -> Step:
    text = turn._(
        "What share of the members should get nothing, to compare with (the holdout)? "
        "Choose or type a whole percent from 0 to 50."
    )
    if again:
        text = turn._("That is not a share from 0 to 50 percent.") + "\n" + text
    choices = [
        Payload(NAME, HOLDOUT, str(percent)).button(f"{percent}%") for percent in HOLDOUT_CHOICES
    ]
    return Step([Reply(text, buttons(choices))], next=HOLDOUT)


async def write_message_b(turn: Turn) -> Step:
    if not _fits(turn.text):
        return _ask_message_b(turn, again=True)
    turn.data["message_b"] = turn.text
    return await _next(turn)


async def choose_holdout(turn: Turn) -> Step:
    typed = (turn.payload.value if turn.payload else turn.text).strip().removesuffix("%")
    if not typed.isdigit() or not 0 <= int(typed) <= 50:
        return _ask_holdout(turn, again=True)
    turn.data["holdout"] = int(typed)
    return await _next(turn)


async def from_digest(turn: Turn) -> Step:
    """A digest's win-back button: a campaign to exactly the members its line counted."""
    assert turn.staff is not None
    tapped = turn.payload.read(DigestLineRef) if turn.payload else None
    if tapped is None:
        raise UnknownDigest(digest=turn.payload.value[:20] if turn.payload else "")
    item = await digests.winback_item(turn.ctx, tapped.item_id, turn.staff)
    data = turn.data
    data.clear()
    data["locale"] = turn.locale
    data.update(
        digest=item.id,
        digest_count=item.count,
        stage=Stage.DORMANT.value,
        tier=item.tier,
        store=item.store or ALL,
    )
    return await _next(turn)


async def confirm(turn: Turn) -> Step:
    """Send (once, however often it is tapped) or cancel; or change the measuring first."""
    assert turn.staff is not None
    if turn.payload is None:  # typed text instead of a button: show the summary again
        return await _next(turn)
    if turn.payload.value == ADD_B:
        return _ask_message_b(turn)
    if turn.payload.value == DROP_B:
        turn.data.pop("message_b", None)
        return await _next(turn)
    if turn.payload.value == HOLDOUT:
        return _ask_holdout(turn)
    if turn.payload.value != YES:
        return Step([Reply(turn._("Cancelled; nothing was sent."))])
    data = turn.data
    result = await campaigns.create_and_send(
        turn.ctx,
        staff=turn.staff,
        segment=_audience(turn),
        message=str(data["message"]),
        reward=None if data["reward"] == NONE else str(data["reward"]),
        store=_campaign_store(turn),
        message_b=str(data["message_b"]) if data.get("message_b") else None,
        holdout_percent=_holdout_percent(turn),
        digest_item=_digest_item(turn),
    )
    if result.campaign_id is None:
        return Step([Reply(_nobody(turn))])
    if result.repeated:
        text = turn._(
            "This campaign was already sent moments ago, to {count} members; "
            "it was not sent again.",
            count=result.reached,
        )
        return Step([Reply(text)])
    lines = [_sent_line(turn, result)]
    if result.variant_b:
        lines.append(
            turn._(
                "{a} got message A, {b} message B.",
                a=result.reached - result.variant_b,
                b=result.variant_b,
            )
        )
    if result.holdout:
        lines.append(
            turn._("{count} members kept aside as the holdout got nothing.", count=result.holdout)
        )
    if result.coupons:
        lines.append(turn._("Each of them got a coupon ({count} in all).", count=result.coupons))
    return Step([Reply("\n".join(lines))])


def _sent_line(turn: Turn, result: CampaignResult) -> str:
    """Sent, or — in the quiet hours — queued, with when it goes (another day's: with it)."""
    if result.waits_until is None:
        return turn._("Sent to {count} members.", count=result.reached)
    goes = format_time(result.waits_until, turn.locale, turn.ctx.zone)
    if turn.day(result.waits_until) != turn.day(turn.ctx.now()):
        goes = turn._("{day} {time}", day=turn.day(result.waits_until), time=goes)
    return turn._(
        "Queued for {count} members: it goes at {time}, after the quiet hours.",
        count=result.reached,
        time=goes,
    )


def campaign_lines(turn: Turn, results: Sequence[CampaignStats]) -> list[str]:
    """Campaign results as lines of the ``/stats`` report: a heading and a line per
    campaign; empty when no campaign was sent in the period, so the section can go."""
    if not results:
        return []
    lines = [turn._("Campaigns:")]
    for result in results:
        stages = joined((turn._(STAGE_NAMES[stage.value]) for stage in result.stages), turn.locale)
        line = turn._(
            "{day} {stages}, {store}: reached {reached}, {came_back} bought within {days} "
            "days ({amount})",
            day=turn.day(result.sent_at),
            stages=stages or turn._("all members"),
            store=_store_label(turn, result.store),
            reached=result.reached,
            came_back=result.came_back,
            days=result.within_days,
            amount=turn.money(result.came_back_fen),
        )
        if result.coupons_issued:
            line += turn._(
                "; coupons used: {used} of {issued}",
                used=result.coupons_used,
                issued=result.coupons_issued,
            )
        lines.append(line)
        lines += _rows_as_lines(turn, campaign_group_rows(result, turn.ctx.shop, turn.locale))
    lines += _rows_as_lines(turn, campaign_roi_rows(results, turn.ctx.shop, turn.locale))
    return lines


def _rows_as_lines(turn: Turn, rows: list[tuple[str, str]]) -> list[str]:
    return [turn._("{label}: {value}", label=label, value=value) for label, value in rows]


flow = Flow(
    name=NAME,
    start=start,
    steps={
        STAGE: choose_stage,
        STORE: choose_store,
        MESSAGE: write_message,
        REWARD: choose_reward,
        CONFIRM: confirm,
        MESSAGE_B: write_message_b,
        HOLDOUT: choose_holdout,
        DIGEST: from_digest,
    },
    commands=("/campaign",),
    once=frozenset({CONFIRM}),
    stateless=frozenset({DIGEST}),
    role=Role.MANAGER,
    staff_help=StaffHelp(N_("send a campaign"), order=110),
)
FLOWS = (flow,)
