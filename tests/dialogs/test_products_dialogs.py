"""Products through the dialogs, in both languages: "for you" by keyword, command and menu
key; preference tags in /member; goods rewards with their stock, the last piece taken by
someone else meanwhile, and the pickup code at the counter."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.i18n import format_money
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.engagement import products
from core.engagement.preferences import member_preferences
from core.engagement.products import SaleLine
from core.ledger import adjustments, statement
from core.ledger.coupons import member_coupons
from core.people.members import MemberView
from core.people.registration import register_member
from core.people.staff import add_staff
from storage.db import Database
from tests.dialogs.conftest import press, say, t
from tests.factories import sale
from tests.shop_with_products import product_context

LOCALES = pytest.mark.parametrize("lang", ["zh_CN", "en"])


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    return await product_context(db, clock, tmp_path)


async def shopper(ctx: Context, user: str, phone: str, lang: str) -> MemberView:
    return await register_member(
        ctx, name=user, phone=phone, locale=lang, channel="console", external_id=user
    )


@pytest.fixture
async def ann_and_bob(ctx: Context, clock: FixedClock) -> tuple[MemberView, MemberView]:
    """Ann: coffee lover, three visits; Bob: one big basket of mocha and tea; Dan: one small
    purchase without lines."""
    return await _shoppers(ctx, clock, "zh_CN")


async def _shoppers(ctx: Context, clock: FixedClock, lang: str) -> tuple[MemberView, MemberView]:
    ann = await shopper(ctx, "ann", "13800000001", lang)
    bob = await shopper(ctx, "bob", "13800000002", lang)
    await sale(ctx, ann.id, days_ago=200, fen=10_000, lines=[SaleLine("latte", 2, 5_600)])
    await sale(ctx, ann.id, days_ago=100, fen=5_000, lines=[SaleLine("cheesecake", 1, 3_000)])
    await sale(ctx, ann.id, days_ago=20, fen=2_800, lines=[SaleLine("latte", 1, 2_800)])
    await sale(
        ctx,
        bob.id,
        days_ago=10,
        fen=30_000,
        lines=[SaleLine("mocha", 5, 16_000), SaleLine("oolong", 3, 6_000)],
    )
    dan = await shopper(ctx, "dan", "13800000004", lang)
    await sale(ctx, dan.id, days_ago=50, fen=1_000)  # no lines
    return ann, bob


NAMES = {
    "zh_CN": {"coffee": "咖啡", "cake": "甜点", "mocha": "摩卡", "cheesecake": "芝士蛋糕"}
    | {"americano": "美式", "latte": "拿铁", "oolong": "乌龙茶", "tea": "茶饮"},
    "en": {"coffee": "Coffee", "cake": "Cakes", "mocha": "Mocha", "cheesecake": "Cheesecake"}
    | {"americano": "Americano", "latte": "Latte", "oolong": "Oolong", "tea": "Tea"},
}


@LOCALES
async def test_for_you_by_keyword_command_and_menu(
    ctx: Context, clock: FixedClock, dialogs: Dialogs, lang: str
) -> None:
    await _shoppers(ctx, clock, lang)
    name = NAMES[lang]

    def line(number: int, product: str, category: str, fen: int) -> str:
        return f"{number}. {name[product]} ({name[category]}) {format_money(fen, lang)}"

    (reply,) = await say(dialogs, "为你推荐" if lang == "zh_CN" else "for you", user="ann")
    # Ann likes coffee (¥84) and cakes (¥30); her last latte was 20 days ago. Sold in the
    # window: mocha 5, latte 3, oolong 3, cheesecake 1 (100 days ago: not recent for Ann),
    # none of the others (by code: americano first).
    liked = {"zh_CN": "咖啡和甜点", "en": "Coffee and Cakes"}[lang]  # as each language lists
    assert reply.text.splitlines() == [
        t(lang, "For you — you like {categories}; maybe try:", categories=liked),
        line(1, "mocha", "coffee", 3_200),
        line(2, "cheesecake", "cake", 3_000),
        line(3, "americano", "coffee", 2_200),
        t(lang, "Ask for them at the counter."),
    ]
    assert await say(dialogs, "/foryou", user="ann") == [reply]
    assert await say(dialogs, menu="for_you", user="ann") == [reply]
    # A member without purchases: the best sellers.
    await shopper(ctx, "cat", "13800000003", lang)
    (best,) = await say(dialogs, "/recommend", user="cat")
    assert best.text.splitlines()[:4] == [
        t(lang, "For you — our members' favourites:"),
        line(1, "mocha", "coffee", 3_200),
        line(2, "latte", "coffee", 2_800),
        line(3, "oolong", "tea", 2_000),
    ]


@LOCALES
async def test_member_card_shows_preference_tags(
    ctx: Context, dialogs: Dialogs, ann_and_bob: tuple[MemberView, MemberView], lang: str
) -> None:
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    # Three buyers: F Ann 4 (high), Bob and Dan 1; M Bob 4 (high), Ann 2 (low), Dan 1.
    (card,) = await say(dialogs, "/member 13800000001", user="cleo", lang=lang)
    if lang == "zh_CN":
        assert "标签：咖啡、甜点、高频、低消费" in card.text.splitlines()
    else:
        assert "Tags: Coffee, Cakes, frequent buyer, small spender" in card.text.splitlines()
    (card,) = await say(dialogs, "/member 13800000002", user="cleo", lang=lang)
    expected = (
        "标签：咖啡、茶饮、低频、高消费"
        if lang == "zh_CN"
        else "Tags: Coffee, Tea, occasional buyer, big spender"
    )
    assert expected in card.text.splitlines()


async def points_for(ctx: Context, member: MemberView, points: int) -> None:
    await adjustments.adjust_points(ctx, member.id, points, "test grant", actor="staff:1")


@LOCALES
async def test_goods_reward_shows_its_stock_and_the_last_piece_goes_once(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    ann = await shopper(ctx, "ann", "13800000001", lang)
    bob = await shopper(ctx, "bob", "13800000002", lang)
    for member in (ann, bob):
        await points_for(ctx, member, 500)
    mug = "定制马克杯" if lang == "zh_CN" else "Shop mug"
    (ann_list,) = await say(dialogs, "/rewards", user="ann")
    assert (
        t(
            lang,
            "{number}. {reward}: {points} points, {left} left",
            number=2,
            reward=mug,
            points=200,
            left=1,
        )
        in ann_list.text
    )
    label = t(lang, "{reward} ({points} points)", reward=mug, points=200)
    (bob_confirm,) = await say(dialogs, "/rewards", user="bob")
    (bob_confirm,) = await say(dialogs, payload=press(bob_confirm, label), user="bob")
    assert (
        t(lang, "You pick it up at the counter with a code, until {day}.", day="\0").split("\0")[0]
        in bob_confirm.text
    )

    (ann_confirm,) = await say(dialogs, payload=press(ann_list, label), user="ann")
    (done,) = await say(dialogs, payload=press(ann_confirm, t(lang, "Confirm")), user="ann")
    assert done.text.splitlines()[0].startswith(t(lang, "Done! Your pickup code: {code}", code=""))
    # Bob confirms after the last piece went: told, nothing taken.
    (late,) = await say(dialogs, payload=press(bob_confirm, t(lang, "Confirm")), user="bob")
    assert late.text == t(lang, "Sorry, this reward is out of stock; no points were taken.")
    assert (await statement.points_summary(ctx, bob.id)).balance == 500
    assert (await statement.points_summary(ctx, ann.id)).balance == 300
    assert await products.stock_left(ctx) == {"mug": 0}
    # The list now says so and offers only the coupon.
    (bob_list,) = await say(dialogs, "/rewards", user="bob")
    assert (
        t(lang, "{number}. {reward}: {points} points, sold out", number=2, reward=mug, points=200)
        in bob_list.text
    )
    assert [b.label for b in bob_list.choices] == [
        t(
            lang,
            "{reward} ({points} points)",
            reward="10 元代金券" if lang == "zh_CN" else "¥10 voucher",
            points=100,
        )
    ]

    # At the counter, the pickup code says what to hand over.
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    (coupon,) = await member_coupons(ctx, ann.id)
    (used,) = await say(dialogs, f"/use {coupon.code}", user="cleo", lang=lang)
    assert used.text == t(
        lang,
        "Pickup code {code} used: hand over {product} to {member}.",
        code=coupon.code,
        product="马克杯" if lang == "zh_CN" else "Mug",
        member="ann (M000001, +86138****0001)",
    )


@LOCALES
async def test_sale_at_the_counter_may_carry_lines(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    ann = await shopper(ctx, "ann", "13800000001", "zh_CN")
    await add_staff(ctx, channel="console", external_id="cleo", role="clerk", store="main")
    (done,) = await say(
        dialogs, "/sale 13800000001 100 R-7 latte*2=56 cheesecake=30", user="cleo", lang=lang
    )
    name = NAMES[lang]
    listed = {"zh_CN": "、", "en": ", "}[lang].join(
        [f"{name['latte']} ×2", f"{name['cheesecake']} ×1"]
    )
    assert done.text.splitlines()[1] == t(lang, "Products: {products}", products=listed)
    assert (await member_preferences(ctx, ann.id)).categories == ("coffee", "cake")
    # Without a receipt number, lines still count; bad ones are refused and record nothing.
    (refused,) = await say(dialogs, "/sale 13800000001 50 espresso=10", user="cleo", lang=lang)
    assert refused.text == t(
        lang, "There is no product with the code {product}.", product="espresso"
    )
    (too_much,) = await say(dialogs, "/sale 13800000001 50 latte*3=84", user="cleo", lang=lang)
    assert too_much.text == t(
        lang,
        "The products add up to {lines}, more than the sale's {amount}.",
        lines=format_money(8_400, lang),
        amount=format_money(5_000, lang),
    )
    assert len(await loyalty.recent_sales(ctx, ann.id)) == 1


@LOCALES
async def test_a_campaign_gift_of_goods_shows_its_price_and_what_is_left(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    """Seen: the campaign summary showed the mug as worth ¥0.00 and sent 126 pickup codes
    for 5 mugs. Now it shows the product's price and the pieces left, and sending to more
    members than pieces is refused with nothing given."""
    for n, user in enumerate(("ann", "bob")):
        await register_member(
            ctx,
            name=user,
            phone=f"1380000000{n}",
            locale=lang,
            channel="telegram",
            external_id=user,
            marketing_consent=True,
        )
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    mug = "定制马克杯" if lang == "zh_CN" else "Shop mug"
    (ask,) = await say(dialogs, "/campaign potential all Hello", user="boss", lang=lang)
    price = format_money(5_900, lang)
    label = t(lang, "{reward} (worth {value}, {left} left)", reward=mug, value=price, left=1)
    (summary,) = await say(dialogs, payload=press(ask, label), user="boss", lang=lang)
    assert (
        t(
            lang,
            "Coupon for each: {reward}, worth {value}, valid for {days} days.",
            reward=mug,
            value=price,
            days=30,
        )
        in summary.text
    )
    assert (
        t(lang, "Only {left} of them are left for {count} members.", left=1, count=2)
        in summary.text
    )
    (refused,) = await say(dialogs, payload=press(summary, t(lang, "Send")), user="boss")
    assert refused.text == t(
        lang,
        "Only {left} of this reward are left, not enough for {needed} members; nothing was given.",
        left=1,
        needed=2,
    )
    assert await products.stock_left(ctx) == {"mug": 1}
