"""/campaign in both languages: the guided steps (stage, store, message, coupon, summary),
the slash form, managers kept to their own store, nobody to reach, a double tap on Send
sending once, members and clerks refused (and audited), and campaign lines for /stats."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs, Turn
from bot.dialogs.engine.types import Event, Payload, Sender
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.staff import campaign
from bot.error_texts import STAGE_NAMES, describe
from bot.i18n import LOCALES, format_day, format_money, format_time, gettext
from core.clock import FixedClock
from core.context import Context
from core.errors import NotAllowed
from core.insights.campaign_results import campaign_results
from core.insights.campaigns import create_and_send
from core.insights.segments import Segment, Stage
from core.ledger.coupons import member_coupons, use_coupon
from core.people import conversations
from core.people.registration import register_member
from core.people.staff import add_staff, owners
from storage.models import AuditRow, CampaignRow, OutboxRow
from tests.dialogs.conftest import hinted, say, unstamped
from tests.factories import reachable, sale

STORE_NAMES = {"zh_CN": ("旗舰店", "滨江店"), "en": ("Flagship store", "Riverside store")}
TEN = {"zh_CN": "10 元代金券", "en": "¥10 voucher"}


def button(step: str, value: str) -> str:
    return Payload(campaign.NAME, step, value).pack()


DORMANT = button(campaign.STAGE, "dormant")
SEND = button(campaign.CONFIRM, campaign.YES)
CANCEL = button(campaign.CONFIRM, campaign.NO)
NO_COUPON = button(campaign.REWARD, campaign.NONE)
COUPON10 = button(campaign.REWARD, "coupon10")


async def dormant(
    ctx: Context, clock: FixedClock, phone: str, store: str = "main", consent: bool = True
) -> int:
    """A member whose only purchase was 200 days ago."""
    member_id = await reachable(ctx, phone=phone, store=store, consent=consent)
    await sale(ctx, member_id, yuan=100, days_ago=200)
    return member_id


async def shop(ctx: Context, clock: FixedClock) -> tuple[int, int, int]:
    """Two reachable dormant members of main, one who declined marketing, one of riverside."""
    a = await dormant(ctx, clock, "13800000001")
    b = await dormant(ctx, clock, "13800000002")
    await dormant(ctx, clock, "13800000003", consent=False)
    c = await dormant(ctx, clock, "13800000004", store="riverside")
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    await add_staff(ctx, channel="console", external_id="mia", role="manager", store="main")
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    return a, b, c


async def sent_to(ctx: Context) -> list[int | None]:
    async with ctx.db.read() as s:
        return list(
            await s.scalars(
                select(OutboxRow.member_id)
                .where(OutboxRow.kind == "campaign")
                .order_by(OutboxRow.member_id)
            )
        )


async def campaigns_made(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(CampaignRow)) or 0)


@pytest.mark.parametrize("locale", LOCALES)
async def test_owner_is_guided_to_a_campaign_with_a_coupon(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    a, b, _ = await shop(ctx, clock)

    async def owner_says(text: str = "", payload: str | None = None) -> str:
        (reply,) = await say(dialogs, text, payload=payload, user="boss", lang=locale)
        return reply

    stages = await owner_says("/campaign")
    assert stages.text == hinted(locale, t("Which members should the campaign go to?"))
    assert [(b.label, unstamped(b.payload)) for b in stages.choices] == [
        (t(STAGE_NAMES[stage.value]), button(campaign.STAGE, stage.value)) for stage in Stage
    ]
    stores = await owner_says(payload=DORMANT)
    assert stores.text == hinted(locale, t("Members of which store?"))
    assert [b.label for b in stores.choices] == [*STORE_NAMES[locale], t("All stores")]
    ask = await owner_says(payload=stores.choices[0].payload)
    assert ask.text == hinted(
        locale, t("Write the message to send (at most {max} characters):", max=500)
    )
    again = await owner_says("x" * 501)
    assert again.text == hinted(
        locale, t("A message has 1 to {max} characters; please write it again.", max=500)
    )
    rewards = await owner_says("好久不见,回来看看吧!")
    assert rewards.text == hinted(locale, t("Give each member a coupon with the message?"))
    assert rewards.choices[0].label == t(
        "{reward} (worth {value})", reward=TEN[locale], value=format_money(1_000, locale)
    )
    assert (rewards.choices[-1].label, unstamped(rewards.choices[-1].payload)) == (
        t("No coupon"),
        NO_COUPON,
    )
    summary = await owner_says(payload=COUPON10)
    assert summary.text == "\n".join(
        (
            t(
                "Campaign to: {stage}, {store}",
                stage=t(STAGE_NAMES["dormant"]),
                store=STORE_NAMES[locale][0],
            ),
            t("Message: {text}", text="好久不见,回来看看吧!"),
            t(
                "Coupon for each: {reward}, worth {value}, valid for {days} days.",
                reward=TEN[locale],
                value=format_money(1_000, locale),
                days=30,
            ),
            t(
                "This reaches {count} members (members who declined marketing are left out).",
                count=2,
            ),
            t(HINT),
        )
    )
    assert [(b.label, unstamped(b.payload)) for b in summary.choices] == [
        (t("Send"), SEND),
        (t("Cancel"), CANCEL),
    ]
    assert await campaigns_made(ctx) == 0  # nothing before the confirmation

    done = await owner_says(payload=SEND)
    assert done.text == "\n".join(
        (
            t("Sent to {count} members.", count=2),
            t("Each of them got a coupon ({count} in all).", count=2),
        )
    )
    assert await sent_to(ctx) == [a, b]
    assert len(await member_coupons(ctx, a)) == 1
    async with ctx.db.read() as s:
        entry = await s.scalar(select(AuditRow).where(AuditRow.action == "campaign.sent"))
    assert entry is not None and entry.actor.startswith("staff:")


@pytest.mark.parametrize("locale", LOCALES)
async def test_double_tap_on_send_sends_once(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    a, b, c = await shop(ctx, clock)
    await say(dialogs, "/campaign dormant all 回来吧", user="boss", lang=locale)
    await say(dialogs, payload=NO_COUPON, user="boss")
    replies = await asyncio.gather(*(say(dialogs, payload=SEND, user="boss") for _ in range(3)))
    texts = [reply.text for (reply,) in replies]
    sent = gettext(locale, "Sent to {count} members.", count=3)
    assert texts.count(sent) == 1
    (late,) = await say(dialogs, payload=SEND, user="boss")
    assert late.text != sent
    assert await campaigns_made(ctx) == 1
    assert await sent_to(ctx) == [a, b, c]  # one message per member


@pytest.mark.parametrize("locale", LOCALES)
async def test_manager_campaign_goes_to_their_own_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    a, b, _ = await shop(ctx, clock)
    await say(dialogs, "/campaign", user="mia", lang=locale)
    (ask,) = await say(dialogs, payload=DORMANT, user="mia")  # no store question
    assert ask.text == hinted(
        locale, gettext(locale, "Write the message to send (at most {max} characters):", max=500)
    )
    await say(dialogs, "本周会员日", user="mia")
    (summary,) = await say(dialogs, payload=NO_COUPON, user="mia")
    assert STORE_NAMES[locale][0] in summary.text.splitlines()[0]
    assert summary.text.splitlines()[2] == gettext(locale, "No coupon.")
    (done,) = await say(dialogs, payload=SEND, user="mia")
    assert done.text == gettext(locale, "Sent to {count} members.", count=2)
    assert await sent_to(ctx) == [a, b]

    # Another store's members, or all, are for the owner.
    for text in ("/campaign dormant riverside hi", "/campaign dormant all hi"):
        (refused,) = await say(dialogs, text, user="mia", lang=locale)
        assert refused.text == describe(NotAllowed(needed="owner"), locale, None)
    assert await campaigns_made(ctx) == 1


@pytest.mark.parametrize("locale", LOCALES)
async def test_nobody_to_reach_sends_nothing(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await shop(ctx, clock)
    await say(dialogs, "/campaign lost main 你好", user="boss", lang=locale)
    (reply,) = await say(dialogs, payload=NO_COUPON, user="boss")
    assert reply.text == gettext(
        locale,
        "Nobody would receive this campaign: no member of this segment accepts marketing "
        "messages. Nothing was sent.",
    )
    assert reply.choices == []
    assert await campaigns_made(ctx) == 0


@pytest.mark.parametrize("locale", LOCALES)
async def test_cancel_sends_nothing(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await shop(ctx, clock)
    (rewards,) = await say(dialogs, "/campaign dormant main 你好", user="boss", lang=locale)
    assert rewards.text == hinted(
        locale, gettext(locale, "Give each member a coupon with the message?")
    )
    await say(dialogs, payload=COUPON10, user="boss")
    (reply,) = await say(dialogs, payload=CANCEL, user="boss")
    assert reply.text == gettext(locale, "Cancelled; nothing was sent.")
    await say(dialogs, payload=SEND, user="boss")  # after Cancel: too late
    assert await campaigns_made(ctx) == 0 and await sent_to(ctx) == []


@pytest.mark.parametrize("locale", LOCALES)
async def test_members_and_clerks_are_refused_and_audited(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await shop(ctx, clock)
    member = await register_member(
        ctx, name="王芳", phone=None, locale=locale, channel="console", external_id="u1"
    )
    refusal = describe(NotAllowed(needed="manager"), locale, None)
    (reply,) = await say(dialogs, "/campaign dormant main hi", user="u1")
    assert reply.text == refusal
    (reply,) = await say(dialogs, "/campaign", user="cleo", lang=locale)
    assert reply.text == refusal
    async with ctx.db.read() as s:
        rows = (
            await s.execute(
                select(AuditRow.actor, AuditRow.details).where(AuditRow.action == "staff.refused")
            )
        ).all()
    assert [(actor, details["command"]) for actor, details in rows] == [
        (f"member:{member.id}", "campaign"),
        ("staff:3", "campaign"),
    ]
    assert await campaigns_made(ctx) == 0


@pytest.mark.parametrize("locale", LOCALES)
async def test_campaign_lines_for_stats(ctx: Context, clock: FixedClock, locale: str) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    a, _, _ = await shop(ctx, clock)
    # The lines need only a turn in the reader's language, as the /stats dialog has one.
    turn = Turn(
        ctx=ctx,
        event=Event(Sender("console", "boss")),
        identity=await conversations.arrive(ctx, "console", "boss"),
        member=None,
        locale=locale,
    )
    assert campaign.campaign_lines(turn, []) == []
    owner = (await owners(ctx))[0]
    day = clock.now().astimezone(ctx.zone).date()
    await create_and_send(
        ctx, staff=owner, segment=Segment(stages={"dormant"}), message="m", reward=None, store=None
    )
    await create_and_send(
        ctx,
        staff=owner,
        segment=Segment(stages={"dormant"}),
        message="m2",
        reward="coupon10",
        store="main",
    )
    clock.advance(timedelta(days=2))
    await sale(ctx, a, receipt="back-1", fen=8_800)
    (coupon,) = await member_coupons(ctx, a)
    await use_coupon(ctx, coupon.code)
    results = await campaign_results(ctx, store=None, start=day, end=day)
    line = (
        "{day} {stages}, {store}: reached {reached}, {came_back} bought within {days} "
        "days ({amount})"
    )
    common = {
        "day": format_day(day, locale),
        "stages": t(STAGE_NAMES["dormant"]),
        "came_back": 1,
        "days": 30,
        "amount": format_money(8_800, locale),
    }
    assert campaign.campaign_lines(turn, results) == [
        t("Campaigns:"),
        t(line, store=t("all stores"), reached=3, **common),
        t(line, store=STORE_NAMES[locale][0], reached=2, **common)
        + t("; coupons used: {used} of {issued}", used=1, issued=2),
    ]


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_campaign_held_by_quiet_hours_says_when_it_goes(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    """Seen: "Sent to 21 members" at 06:40, while the messages waited until 09:00."""
    await shop(ctx, clock)
    clock.set(clock.now().astimezone(ctx.zone).replace(hour=6, minute=40))
    await say(dialogs, "/campaign dormant all 早上好", user="boss", lang=locale)
    await say(dialogs, payload=NO_COUPON, user="boss")
    (done,) = await say(dialogs, payload=SEND, user="boss")
    nine = clock.now().astimezone(ctx.zone).replace(hour=9, minute=0)
    assert done.text == gettext(
        locale,
        "Queued for {count} members: it goes at {time}, after the quiet hours.",
        count=3,
        time=format_time(nine, locale, ctx.zone),
    )
