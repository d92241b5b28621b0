"""The weekly digest in chat, both languages: pushed to the owner with a line per thing that
moved and a button per action; the win-back button, days later, goes through the campaign
confirmation to exactly the members counted; the feedback button opens /feedback; a line
of someone else's digest is refused, and clerks get no digest commands."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs, Turn
from bot.dialogs.engine.types import Event, Payload, Reply, Sender
from bot.dialogs.staff import campaign
from bot.dialogs.staff.digest import digest_reply
from bot.error_texts import describe
from bot.i18n import LOCALES, format_day, gettext
from bot.pushes.texts import render
from core.clock import FixedClock
from core.context import Context
from core.errors import NotAllowed, UnknownDigest
from core.insights import digests
from core.pushes import work_queue
from storage.models import OutboxRow
from tests.core.test_digests import Shop, fixture
from tests.dialogs.conftest import hinted, say

NAMES = {
    "zh_CN": {"main": "旗舰店", "riverside": "滨江店", "gold": "金卡", "silver": "银卡"},
    "en": {
        "main": "Flagship store",
        "riverside": "Riverside store",
        "gold": "Gold",
        "silver": "Silver",
    },
}
NAMES["zh_CN"]["member"], NAMES["en"]["member"] = "普通", "Member"
NO_COUPON = Payload(campaign.NAME, campaign.REWARD, campaign.NONE).pack()
SEND = Payload(campaign.NAME, campaign.CONFIRM, campaign.YES).pack()


def turn_for(ctx: Context, locale: str) -> Turn:
    return Turn(
        ctx=ctx,
        event=Event(Sender("console", "boss")),
        identity=None,  # type: ignore[arg-type]
        member=None,
        locale=locale,
    )


def expected_owner_text(locale: str) -> list[str]:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    n = NAMES[locale]

    def dormant(count: int, tier: str, store: str) -> str:
        return t(
            "{count} {tier} members became dormant at {store}.",
            count=count,
            tier=n[tier],
            store=n[store],
        )

    def rate(percent: str, repeat: int, buyers: int) -> str:
        return t(
            "{rate} ({repeat} of {buyers} buyers bought twice or more in {days} days)",
            rate=percent,
            repeat=repeat,
            buyers=buyers,
            days=30,
        )

    return [
        t(
            "Weekly digest, {first} – {last}",
            first=format_day(date(2025, 12, 29), locale),
            last=format_day(date(2026, 1, 4), locale),
        ),
        "1. " + dormant(3, "gold", "main"),
        "2. " + dormant(1, "member", "main"),
        "3. " + dormant(1, "gold", "riverside"),
        "4. " + dormant(1, "silver", "riverside"),
        "5. "
        + t(
            "{count} {tier} members without a home store became dormant.", count=1, tier=n["member"]
        ),
        "6. " + t("{count} urgent feedback still open.", count=4),
        "7. " + t("Best repeat rate: {store}, {rate}.", store=n["main"], rate=rate("50.0%", 1, 2)),
        "8. "
        + t(
            "Lowest repeat rate: {store}, {rate}.",
            store=n["riverside"],
            rate=rate("25.0%", 1, 4),
        ),
    ]


def win_back_label(locale: str, count: int, tier: str, store: str) -> str:
    n = NAMES[locale]
    where = n[store] if store else gettext(locale, "no home store")
    return gettext(
        locale, "Win back the {count} ({tier}, {store})", count=count, tier=n[tier], store=where
    )


async def owners_digest(ctx: Context, shop: Shop) -> digests.Digest:
    found = await digests.latest_digest(ctx, shop.boss.id)
    assert found is not None
    return found


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_digest_reads_with_a_button_per_action(
    ctx: Context, clock: FixedClock, locale: str
) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    reply = digest_reply(turn_for(ctx, locale), await owners_digest(ctx, shop))
    assert reply.text.splitlines() == expected_owner_text(locale)
    labels = [b.label for b in reply.choices]
    assert labels == [
        win_back_label(locale, 3, "gold", "main"),
        win_back_label(locale, 1, "member", "main"),
        win_back_label(locale, 1, "gold", "riverside"),
        win_back_label(locale, 1, "silver", "riverside"),
        win_back_label(locale, 1, "member", ""),
        gettext(locale, "Open feedback"),
    ]


async def test_the_push_renders_the_stored_digest(ctx: Context, clock: FixedClock) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    pushes = [p for p in await work_queue.claim(ctx, 50) if p.kind == digests.OUTBOX_KIND]
    (push,) = [p for p in pushes if p.staff_id == shop.boss.id]
    message = await render(ctx, push, push.recipients[0])
    (reply,) = message.replies
    assert message.locale == "zh_CN"  # the owner has no member profile: the shop's language
    assert reply.text.splitlines() == expected_owner_text("zh_CN")
    assert len(reply.choices) == 6


async def test_the_digest_is_pushed_in_the_language_the_owner_chats_in(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    """The owner (no member) wrote in English: the digest is English, not the shop's first."""
    shop = await fixture(ctx, clock)
    await say(dialogs, "/help", user="boss", lang="en")
    await digests.weekly_digests(ctx)
    claimed = [p for p in await work_queue.claim(ctx, 50) if p.kind == digests.OUTBOX_KIND]
    (push,) = [p for p in claimed if p.staff_id == shop.boss.id]
    message = await render(ctx, push, push.recipients[0])
    assert message.locale == "en"
    assert message.replies[0].text.splitlines() == expected_owner_text("en")


async def campaign_members_sent(ctx: Context) -> list[int | None]:
    async with ctx.db.read() as s:
        return list(
            await s.scalars(
                select(OutboxRow.member_id)
                .where(OutboxRow.kind == "campaign")
                .order_by(OutboxRow.member_id)
            )
        )


@pytest.mark.parametrize("locale", LOCALES)
async def test_win_back_button_targets_exactly_the_counted_members(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(locale, message, **params)

    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    reply = digest_reply(turn_for(ctx, locale), await owners_digest(ctx, shop))
    clock.advance(timedelta(days=3))  # the button still works days later

    async def boss(text: str = "", payload: str | None = None) -> Reply:
        (answer,) = await say(dialogs, text, payload=payload, user="boss", lang=locale)
        return answer

    ask = await boss(payload=reply.choices[0].payload)
    assert ask.text == hinted(
        locale, t("Write the message to send (at most {max} characters):", max=500)
    )
    await boss("好久不见，回来看看吧")
    summary = await boss(payload=NO_COUPON)
    n = NAMES[locale]
    assert summary.text.splitlines()[0] == t(
        "Win-back campaign to the {count} members the digest counted: {tier}, {store}, "
        "newly dormant.",
        count=3,
        tier=n["gold"],
        store=n["main"],
    )
    assert (
        t("This reaches {count} members (members who declined marketing are left out).", count=2)
        in summary.text.splitlines()
    )
    assert await campaign_members_sent(ctx) == []  # nothing before the confirmation
    done = await boss(payload=SEND)
    assert done.text == t("Sent to {count} members.", count=2)
    assert await campaign_members_sent(ctx) == shop.gold_main[:2]


@pytest.mark.parametrize("locale", LOCALES)
async def test_members_without_a_home_store_are_won_back_by_the_owner(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    reply = digest_reply(turn_for(ctx, locale), await owners_digest(ctx, shop))
    await say(dialogs, payload=reply.choices[4].payload, user="boss", lang=locale)
    await say(dialogs, "我们想你了", user="boss", lang=locale)
    (summary,) = await say(dialogs, payload=NO_COUPON, user="boss", lang=locale)
    assert summary.text.splitlines()[0] == gettext(
        locale,
        "Win-back campaign to the {count} members the digest counted: {tier}, {store}, "
        "newly dormant.",
        count=1,
        tier=NAMES[locale]["member"],
        store=gettext(locale, "no home store"),
    )
    (done,) = await say(dialogs, payload=SEND, user="boss", lang=locale)
    assert done.text == gettext(locale, "Sent to {count} members.", count=1)
    assert await campaign_members_sent(ctx) == [shop.homeless]


@pytest.mark.parametrize("locale", LOCALES)
async def test_feedback_button_opens_the_queue(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    shop = await fixture(ctx, clock)
    await digests.weekly_digests(ctx)
    reply = digest_reply(turn_for(ctx, locale), await owners_digest(ctx, shop))
    (queue,) = await say(dialogs, payload=reply.choices[-1].payload, user="boss", lang=locale)
    assert queue.text.splitlines()[0] == gettext(
        locale, "Open feedback, urgent first ({count}):", count=5
    )


@pytest.mark.parametrize("locale", LOCALES)
async def test_someone_elses_line_is_refused_and_clerks_have_no_digest(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    shop = await fixture(ctx, clock)
    (none_yet,) = await say(dialogs, "/digest", user="mia", lang=locale)
    assert none_yet.text == gettext(locale, "No digest yet: it comes every Monday morning.")
    await digests.weekly_digests(ctx)
    mia = await digests.latest_digest(ctx, shop.mia.id)
    assert mia is not None
    button = Payload(campaign.NAME, campaign.DIGEST, str(mia.items[0].id)).pack()
    (refused,) = await say(dialogs, payload=button, user="rita", lang=locale)
    assert refused.text == describe(UnknownDigest(), locale, None)
    (clerk,) = await say(dialogs, payload=button, user="cleo", lang=locale)
    assert clerk.text == describe(NotAllowed(needed="manager"), locale, None)
    (clerk,) = await say(dialogs, "/digest", user="cleo", lang=locale)
    assert clerk.text == describe(NotAllowed(needed="manager"), locale, None)
    forged = Payload(campaign.NAME, campaign.DIGEST, "x1").pack()
    (bad,) = await say(dialogs, payload=forged, user="mia", lang=locale)
    assert bad.text == describe(UnknownDigest(), locale, None)

    (again,) = await say(dialogs, "/digest", user="mia", lang=locale)
    assert again == digest_reply(turn_for(ctx, locale), mia)
    assert await campaign_members_sent(ctx) == []
