"""Rewards and coupons, as conversations in both languages: catalogue, choose, confirm,
the coupon; not enough points; a double tap redeems once; the coupon list.

Expected sentences go through the catalogs (``t``), so the tests hold before and after the
texts are translated; names, money and dates are checked as each language writes them."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Payload
from bot.dialogs.engine.waiting import HINT
from bot.dialogs.member import coupons, rewards
from bot.dialogs.member.coupons import format_coupon_code
from bot.error_texts import describe
from core.clock import FixedClock
from core.context import Context
from core.errors import NotEnoughPoints
from core.ledger import adjustments
from core.ledger.coupons import COUPON_CODE_LENGTH, member_coupons, redeem_reward, use_coupon
from tests.dialogs.conftest import hinted, say, t, unstamped
from tests.factories import balance, registered

LOCALES = ("zh_CN", "en")
CODE = re.compile(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b")
# Names, money and dates as each language writes them (the clock starts on 2026-01-05).
TEN = {"zh_CN": "10 元代金券", "en": "¥10 voucher"}
THIRTY = {"zh_CN": "30 元代金券", "en": "¥30 voucher"}
HUNDRED = {"zh_CN": "100 元代金券", "en": "¥100 voucher"}
TEN_YUAN = {"zh_CN": "¥10.00", "en": "CN¥10.00"}
HUNDRED_YUAN = {"zh_CN": "¥100.00", "en": "CN¥100.00"}
IN_30_DAYS = {"zh_CN": "2026年2月4日", "en": "Feb 4, 2026"}
REWARDS_WORD = {"zh_CN": "兑换", "en": "rewards"}


CHOOSE_TEN = Payload(rewards.NAME, rewards.CHOOSE, "coupon10").pack()
CONFIRM = Payload(rewards.NAME, rewards.CONFIRM, rewards.YES).pack()
CANCEL = Payload(rewards.NAME, rewards.CONFIRM, rewards.NO).pack()


@pytest.mark.parametrize("locale", LOCALES)
async def test_catalogue_shows_costs_balance_and_what_can_be_afforded(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await registered(ctx, name="王芳", user="u1", locale=locale, points=300)
    (reply,) = await say(dialogs, REWARDS_WORD[locale])
    lines = reply.text.split("\n")
    assert lines[0] == t(locale, "Rewards — you have {balance} points:", balance=300)
    line = "{number}. {reward}: {points} points, worth {value}, valid for {days} days"
    assert lines[1] == t(
        locale, line, number=1, reward=TEN[locale], points=100, value=TEN_YUAN[locale], days=30
    )
    assert lines[3] == t(
        locale,
        line,
        number=3,
        reward=HUNDRED[locale],
        points=900,
        value=HUNDRED_YUAN[locale],
        days=60,
    )
    # 100 and 280 points are within reach, 900 is not.
    assert [unstamped(b.payload) for b in reply.choices] == [
        "rewards|choose|coupon10",
        "rewards|choose|coupon30",
    ]
    assert reply.choices[1].label == t(
        locale, "{reward} ({points} points)", reward=THIRTY[locale], points=280
    )
    (same,) = await say(dialogs, "/rewards")
    assert same.text == reply.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_choose_confirm_and_get_a_coupon(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale=locale, points=300)
    await say(dialogs, "/rewards")
    (screen,) = await say(dialogs, payload=CHOOSE_TEN)
    assert screen.text == "\n".join(
        (
            t(locale, "Redeem {points} points for {reward}?", points=100, reward=TEN[locale]),
            t(locale, "Points left afterwards: {balance}", balance=200),
            t(
                locale,
                "The coupon is worth {value} and valid until {day}.",
                value=TEN_YUAN[locale],
                day=IN_30_DAYS[locale],
            ),
            t(locale, HINT),
        )
    )
    assert [(b.label, unstamped(b.payload)) for b in screen.choices] == [
        (t(locale, "Confirm"), CONFIRM),
        (t(locale, "Cancel"), CANCEL),
    ]
    assert await balance(ctx, found.id) == 300  # nothing spent before the confirmation

    (done,) = await say(dialogs, payload=CONFIRM)
    (coupon,) = await member_coupons(ctx, found.id)
    shown = format_coupon_code(coupon.code)
    assert CODE.fullmatch(shown)
    assert done.text == "\n".join(
        (
            t(locale, "Done! Your coupon code: {code}", code=shown),
            t(
                locale,
                "{reward}, worth {value}, valid until {day}.",
                reward=TEN[locale],
                value=TEN_YUAN[locale],
                day=IN_30_DAYS[locale],
            ),
            t(locale, "Show the code at the counter. Points left: {balance}", balance=200),
        )
    )
    assert [b.payload for b in done.choices] == ["coupons|start|"]
    assert await balance(ctx, found.id) == 200
    # The code as shown is the code the counter accepts.
    used = await use_coupon(ctx, shown.lower(), store="main")
    assert used.code == coupon.code


@pytest.mark.parametrize("locale", LOCALES)
async def test_too_few_points_get_a_clear_answer(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale=locale, points=50)
    (reply,) = await say(dialogs, "/rewards")
    assert reply.choices == []
    assert reply.text.split("\n")[-1] == t(
        locale, "Collect {missing} more points for {reward}.", missing=50, reward=TEN[locale]
    )
    # A button for a reward out of reach (an old message, a forged payload) is refused.
    await adjustments.adjust_points(ctx, found.id, 250, "test", actor="staff:1")
    await say(dialogs, "/rewards")
    (refused,) = await say(dialogs, payload="rewards|choose|coupon100")
    assert refused.text == hinted(
        locale, describe(NotEnoughPoints(balance=300, needed=900), locale, None)
    )
    # The points went elsewhere between the confirmation screen and the tap on Confirm.
    await say(dialogs, "/rewards")
    await say(dialogs, payload=CHOOSE_TEN)
    await adjustments.adjust_points(ctx, found.id, -250, "test", actor="staff:1")
    (late,) = await say(dialogs, payload=CONFIRM)
    assert late.text == describe(NotEnoughPoints(balance=50, needed=100), locale, None)
    assert await member_coupons(ctx, found.id, include_closed=True) == []
    assert await balance(ctx, found.id) == 50


def test_not_enough_points_reads_naturally() -> None:
    error = NotEnoughPoints(balance=50, needed=100)
    assert describe(error, "zh_CN", None) == "积分不足：您有 50 积分，需要 100 积分。"
    assert describe(error, "en", None) == "Not enough points: you have 50, this needs 100."


@pytest.mark.parametrize("locale", LOCALES)
async def test_double_tap_on_confirm_issues_one_coupon(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale=locale, points=300)
    await say(dialogs, "/rewards")
    await say(dialogs, payload=CHOOSE_TEN)
    (first,) = await say(dialogs, payload=CONFIRM)
    (second,) = await say(dialogs, payload=CONFIRM)
    assert CODE.search(first.text)
    # The second tap is shown the same coupon code again, never the menu over it.
    assert second == first
    assert len(await member_coupons(ctx, found.id)) == 1
    assert await balance(ctx, found.id) == 200


async def test_concurrent_taps_on_confirm_issue_one_coupon(ctx: Context, dialogs: Dialogs) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale="en", points=1000)
    for _ in range(3):
        await say(dialogs, "/rewards")
        await say(dialogs, payload=CHOOSE_TEN)
        replies = await asyncio.gather(*(say(dialogs, payload=CONFIRM) for _ in range(4)))
        texts = [reply.text for (reply,) in replies]
        # The others lost the claim ("already done") or came after the end (the code again).
        codes = {code.group() for text in texts if (code := CODE.search(text))}
        assert len(codes) == 1
        assert all(text == "This was already done." for text in texts if not CODE.search(text))
    assert len(await member_coupons(ctx, found.id)) == 3
    assert await balance(ctx, found.id) == 700


@pytest.mark.parametrize("locale", LOCALES)
async def test_cancel_spends_nothing_and_a_later_confirm_does_nothing(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale=locale, points=300)
    await say(dialogs, "/rewards")
    await say(dialogs, payload=CHOOSE_TEN)
    (cancelled,) = await say(dialogs, payload=CANCEL)
    assert cancelled.text == t(locale, "Cancelled; no points were spent.")
    (late,) = await say(dialogs, payload=CONFIRM)
    assert not CODE.search(late.text)
    assert await member_coupons(ctx, found.id, include_closed=True) == []
    assert await balance(ctx, found.id) == 300


async def test_typing_instead_of_tapping_shows_the_choices_again(
    ctx: Context, dialogs: Dialogs
) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale="en", points=300)
    (catalogue,) = await say(dialogs, "/rewards")
    assert catalogue.text.endswith(hinted("en", "Which one would you like?"))
    (again,) = await say(dialogs, "hm")
    assert again == catalogue  # the same question and buttons, saying how to leave once
    (screen,) = await say(dialogs, payload=CHOOSE_TEN)
    (asked,) = await say(dialogs, "yes?")
    assert asked == screen and screen.text.count(t("en", HINT)) == 1
    (done,) = await say(dialogs, payload=CONFIRM)
    assert CODE.search(done.text)
    assert len(await member_coupons(ctx, found.id)) == 1


@pytest.mark.parametrize("locale", LOCALES)
async def test_coupons_soonest_to_expire_first_and_the_closed_ones_on_request(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    found = await registered(ctx, name="王芳", user="u1", locale=locale, points=2000)
    expired = await redeem_reward(ctx, found.id, "coupon10")
    clock.advance(timedelta(days=31))  # 2026-02-05
    hundred = await redeem_reward(ctx, found.id, "coupon100")  # until 2026-04-06
    ten = await redeem_reward(ctx, found.id, "coupon10")  # until 2026-03-07
    used = await redeem_reward(ctx, found.id, "coupon10")
    await use_coupon(ctx, used.code, store="main")

    (reply,) = await say(dialogs, "优惠券" if locale == "zh_CN" else "my coupons")
    line = "{number}. {code} — {reward}, worth {value}, valid until {day}"
    march_7, april_6 = {
        "zh_CN": ("2026年3月7日", "2026年4月6日"),
        "en": ("Mar 7, 2026", "Apr 6, 2026"),
    }[locale]
    assert reply.text.split("\n") == [
        t(locale, "Your coupons (show the code at the counter):"),
        t(
            locale,
            line,
            number=1,
            code=format_coupon_code(ten.code),
            reward=TEN[locale],
            value=TEN_YUAN[locale],
            day=march_7,
        ),
        t(
            locale,
            line,
            number=2,
            code=format_coupon_code(hundred.code),
            reward=HUNDRED[locale],
            value=HUNDRED_YUAN[locale],
            day=april_6,
        ),
    ]
    (closed_button,) = reply.choices
    assert closed_button.label == t(locale, "Show used and expired")
    assert closed_button.payload == "coupons|closed|"

    (closed,) = await say(dialogs, payload=closed_button.payload)
    february_4, february_5 = {
        "zh_CN": ("2026年2月4日", "2026年2月5日"),
        "en": ("Feb 4, 2026", "Feb 5, 2026"),
    }[locale]
    assert closed.text.split("\n") == [
        t(locale, "Used and expired coupons:"),
        t(
            locale,
            "{code} — {reward}, used on {day}",
            code=format_coupon_code(used.code),
            reward=TEN[locale],
            day=february_5,
        ),
        t(
            locale,
            "{code} — {reward}, expired on {day}",
            code=format_coupon_code(expired.code),
            reward=TEN[locale],
            day=february_4,
        ),
    ]
    # The list is a stateless button: it still works after the person moved on.
    await say(dialogs, "/points")
    (later,) = await say(dialogs, payload=closed_button.payload)
    assert later.text == closed.text


@pytest.mark.parametrize("locale", LOCALES)
async def test_no_coupons_points_to_the_rewards(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await registered(ctx, name="王芳", user="u1", locale=locale)
    (reply,) = await say(dialogs, "/coupons")
    assert reply.text == t(locale, "You have no coupons to use right now. Redeem points for one:")
    assert [unstamped(b.payload) for b in reply.choices] == ["rewards|start|", "coupons|closed|"]
    (closed,) = await say(dialogs, payload="coupons|closed|")
    assert closed.text == t(locale, "You have no used or expired coupons.")


async def test_nobody_sees_another_members_coupons(ctx: Context, dialogs: Dialogs) -> None:
    owner = await registered(ctx, name="王芳", user="u1", locale="en", points=300)
    coupon = await redeem_reward(ctx, owner.id, "coupon10")
    await registered(ctx, name="王芳", locale="en", user="u2")
    (reply,) = await say(dialogs, "/coupons", user="u2")
    assert format_coupon_code(coupon.code) not in reply.text
    (closed,) = await say(dialogs, payload="coupons|closed|", user="u2")
    assert closed.text == "You have no used or expired coupons."


def test_coupon_codes_are_shown_in_two_groups() -> None:
    assert format_coupon_code("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert coupons.CODE_GROUP * 2 == COUPON_CODE_LENGTH
