"""/campaign, measured, in both languages: a big enough campaign shows its holdout, lets staff
add a second message and change the holdout, and sends to A and B but never to the
holdout; the results in /stats and `memberbot stats` show each group, the uplift and ROI."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs, Turn
from bot.dialogs.engine.types import Event, Payload, Sender
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.staff import campaign
from bot.error_texts import STAGE_NAMES
from bot.i18n import LOCALES, format_money, gettext
from bot.reports import campaign_group_rows
from core.clock import FixedClock
from core.context import Context
from core.insights.campaign_results import campaign_results
from core.insights.campaigns import HOLDOUT, A, B, create_and_send
from core.insights.segments import Segment
from core.people import conversations
from storage.models import CampaignMemberRow, OutboxRow
from tests.cli import invoke
from tests.core.test_measured_campaigns import many_members
from tests.dialogs.conftest import hinted, say, unstamped
from tests.factories import owner, sale
from tests.test_cli_stats import parse

NO_COUPON = Payload(campaign.NAME, campaign.REWARD, campaign.NONE).pack()
SEND = Payload(campaign.NAME, campaign.CONFIRM, campaign.YES).pack()
ADD_B = Payload(campaign.NAME, campaign.CONFIRM, campaign.ADD_B).pack()
DROP_B = Payload(campaign.NAME, campaign.CONFIRM, campaign.DROP_B).pack()
HOLDOUT_BUTTON = Payload(campaign.NAME, campaign.CONFIRM, campaign.HOLDOUT).pack()


async def variants(ctx: Context) -> Counter[str]:
    async with ctx.db.read() as s:
        return Counter(await s.scalars(select(CampaignMemberRow.variant)))


async def outbox_messages(ctx: Context) -> Counter[str]:
    async with ctx.db.read() as s:
        rows = await s.scalars(select(OutboxRow.params).where(OutboxRow.kind == "campaign"))
        return Counter(params["message"] for params in rows)


@pytest.mark.parametrize("locale", LOCALES)
async def test_staff_add_a_second_message_and_set_the_holdout(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    await many_members(ctx, 25)  # never bought: potential
    await owner(ctx)

    async def boss(text: str = "", payload: str | None = None) -> tuple[str, list[str]]:
        (reply,) = await say(dialogs, text, payload=payload, user="boss", lang=locale)
        return reply.text, [unstamped(b.payload) for b in reply.choices]

    await boss("/campaign potential main 第一版")
    text, choices = await boss(payload=NO_COUPON)
    lines = text.splitlines()
    assert lines[0] == t(
        "Campaign to: {stage}, {store}",
        stage=t(STAGE_NAMES["potential"]),
        store=t("Flagship store") if locale == "en" else "旗舰店",
    )
    assert lines[3:] == [
        t("This reaches {count} members (members who declined marketing are left out).", count=25),
        t(
            "Holdout: {percent}%: {count} of them, drawn at random, get nothing, to "
            "measure what the campaign brings.",
            percent=10,
            count=2,
        ),
        t(HINT),
    ]
    assert choices == [SEND, campaign_payload_no(), ADD_B, HOLDOUT_BUTTON]

    text, _ = await boss(payload=ADD_B)
    assert text == hinted(
        locale,
        t(
            "Write the second message (B), at most {max} characters; half of the members "
            "get it instead of the first:",
            max=500,
        ),
    )
    text, _ = await boss("x" * 501)
    assert text == hinted(
        locale, t("A message has 1 to {max} characters; please write it again.", max=500)
    )
    text, choices = await boss("第二版")
    assert t("Second message (B): {text}", text="第二版") in text.splitlines()
    assert text.splitlines()[-2:] == [
        t("The others get message A or B, half each, drawn at random."),
        t(HINT),
    ]
    assert DROP_B in choices

    text, choices = await boss(payload=HOLDOUT_BUTTON)
    assert text == hinted(
        locale,
        t(
            "What share of the members should get nothing, to compare with (the holdout)? "
            "Choose or type a whole percent from 0 to 50."
        ),
    )
    assert len(choices) == len(campaign.HOLDOUT_CHOICES)
    text, _ = await boss("70")
    assert text.splitlines()[0] == t("That is not a share from 0 to 50 percent.")
    text, _ = await boss("20%")
    assert (
        t(
            "Holdout: {percent}%: {count} of them, drawn at random, get nothing, to "
            "measure what the campaign brings.",
            percent=20,
            count=5,
        )
        in text.splitlines()
    )
    text, _ = await boss(payload=SEND)
    assert text.splitlines() == [
        t("Sent to {count} members.", count=20),
        t("{a} got message A, {b} message B.", a=10, b=10),
        t("{count} members kept aside as the holdout got nothing.", count=5),
    ]
    assert await variants(ctx) == {A: 10, B: 10, HOLDOUT: 5}
    assert await outbox_messages(ctx) == {"第一版": 10, "第二版": 10}


def campaign_payload_no() -> str:
    return Payload(campaign.NAME, campaign.CONFIRM, campaign.NO).pack()


@pytest.mark.parametrize("locale", LOCALES)
async def test_no_holdout_and_message_b_removed(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await many_members(ctx, 20)
    await owner(ctx)

    async def boss(text: str = "", payload: str | None = None) -> str:
        (reply,) = await say(dialogs, text, payload=payload, user="boss", lang=locale)
        return reply.text

    await boss("/campaign potential all 大家好")
    await boss(payload=NO_COUPON)
    await boss(payload=ADD_B)
    await boss("另一版")
    await boss(payload=HOLDOUT_BUTTON)
    summary = await boss(payload=Payload(campaign.NAME, campaign.HOLDOUT, "0").pack())
    assert (
        gettext(locale, "No holdout: every one of them gets the message, nothing is measured.")
        in summary.splitlines()
    )
    summary = await boss(payload=DROP_B)
    assert "另一版" not in summary
    done = await boss(payload=SEND)
    assert done == gettext(locale, "Sent to {count} members.", count=20)
    assert await variants(ctx) == {A: 20}


async def measured_campaign(ctx: Context, clock: FixedClock) -> None:
    """20 members, a quarter held out, A and B; then 2 of A and 1 of the holdout buy ¥100."""
    await many_members(ctx, 20)
    boss = await owner(ctx)
    sent = await create_and_send(
        ctx,
        staff=boss,
        segment=Segment(),
        message="A",
        message_b="B",
        reward=None,
        store=None,
        holdout_percent=25,
    )
    async with ctx.db.read() as s:
        drawn = {
            variant: sorted(ids)
            for variant in (A, B, HOLDOUT)
            for ids in [
                list(
                    await s.scalars(
                        select(CampaignMemberRow.member_id).where(
                            CampaignMemberRow.campaign_id == sent.campaign_id,
                            CampaignMemberRow.variant == variant,
                        )
                    )
                )
            ]
        }
    clock.advance(timedelta(days=1))
    for member_id in (*drawn[A][:2], drawn[HOLDOUT][0]):
        await sale(ctx, member_id, yuan=100)
    clock.advance(timedelta(days=-1))


@pytest.mark.parametrize("locale", LOCALES)
async def test_campaign_lines_show_groups_uplift_and_roi(
    ctx: Context, clock: FixedClock, locale: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    await measured_campaign(ctx, clock)
    day = clock.now().astimezone(ctx.zone).date()
    results = await campaign_results(ctx, store=None, start=day, end=day)
    turn = Turn(
        ctx=ctx,
        event=Event(Sender("console", "boss")),
        identity=await conversations.arrive(ctx, "console", "boss"),
        member=None,
        locale=locale,
    )
    lines = campaign.campaign_lines(turn, results)
    money = {fen: format_money(fen, locale) for fen in (0, 5_000, 10_000, 15_000, 20_000, 200)}

    def group(name: str, members: int, came_back: int, rate: str, fen: int) -> str:
        return t(
            "{label}: {value}",
            label="  " + t(name),
            value=t(
                "{members} members, {came_back} bought ({rate}), {amount}",
                members=members,
                came_back=came_back,
                rate=rate,
                amount=money[fen],
            ),
        )

    percent = {"en": "{}%", "zh_CN": "{}%"}[locale].format
    assert lines[2:5] == [
        group("Message A", 8, 2, percent("25.0"), 20_000),
        group("Message B", 7, 0, percent("0.0"), 0),
        group("Holdout", 5, 1, percent("20.0"), 10_000),
    ]
    # A: expected 10 000 / 5 × 8 = 16 000, incremental 4 000; cost 20 points × 10 fen.
    uplift_a = t(
        "uplift {uplift}; incremental sales {incremental}; cost {cost}; ROI {roi}",
        uplift=t("{value} percentage points", value="+5.0"),
        incremental=format_money(4_000, locale),
        cost=money[200],
        roi=percent("1,900.0"),
    )
    assert lines[5] == t(
        "{label}: {value}",
        label="  " + t("{group} against the holdout", group=t("Message A")),
        value=uplift_a,
    )
    # B: nobody bought, so no points were given: no cost, no ROI.
    uplift_b = t(
        "uplift {uplift}; incremental sales {incremental}; cost {cost}; ROI {roi}",
        uplift=t("{value} percentage points", value="-20.0"),
        incremental=format_money(-14_000, locale),
        cost=money[0],
        roi=t("none (no cost)"),
    )
    label_b = "  " + t("{group} against the holdout", group=t("Message B"))
    assert lines[6] == t("{label}: {value}", label=label_b, value=uplift_b)
    assert lines[7].startswith(
        t("{label}: {value}", label="  " + t("A and B against the holdout"), value="")
    )
    # Together: 15 members against an expected 30 000: −10 000, cost ¥2.00.
    roi = (-10_000 - 200) / 200
    assert lines[-1] == t(
        "{label}: {value}",
        label=t("Campaign ROI"),
        value=t(
            "{roi} (incremental sales {incremental}, cost {cost}; {count} measured campaigns)",
            roi=percent(f"{roi * 100:,.1f}"),
            incremental=format_money(-10_000, locale),
            cost=money[200],
            count=1,
        ),
    )
    assert len(campaign_group_rows(results[0], ctx.shop, locale)) == 6


async def test_memberbot_stats_shows_the_campaign_figures(
    cli_env: Context, clock: FixedClock
) -> None:
    await measured_campaign(cli_env, clock)
    result = await invoke("stats", "--from", "2026-01-05", "--to", "2026-01-05")
    assert result.exit_code == 0, result.output
    table = parse(result.output.splitlines()[1:])
    assert table["Campaign of Jan 5, 2026"] == (
        "reached 15, 2 bought within 30 days (" + format_money(20_000, "en") + ")"
    )
    assert table["Message A"] == "8 members, 2 bought (25.0%), " + format_money(20_000, "en")
    assert table["Holdout"] == "5 members, 1 bought (20.0%), " + format_money(10_000, "en")
    assert table["Campaign ROI"] == (
        "-5,100.0% (incremental sales "
        + format_money(-10_000, "en")
        + ", cost "
        + format_money(200, "en")
        + "; 1 measured campaigns)"
    )
    assert table["Retained from the previous period"] == "0.0% (0 of 0)"
