"""Free text reaches the flow a member meant, by the intents each flow declares: the
misfires of substring keywords route right, a close call asks "Did you mean …?" with
buttons that start those flows, no match gets the menu, and the shop file adds phrases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.dialogs.engine.dialogs import Dialogs, Flow, Turn
from bot.dialogs.registry import create_dialogs
from core.context import Context
from core.people import conversations
from core.shop import ShopFileError
from tests.dialogs.conftest import press, say, t
from tests.factories import member

ROUTES = [
    ("I want an appointment", "booking"),
    ("积分能换什么", "rewards"),
    ("用积分换优惠券", "rewards"),
    ("积分兑换", "rewards"),
    ("推荐朋友有奖励吗", "invite"),
    ("查分", "points"),
    ("我是金卡吗", "points"),
    ("还差多少升级", "points"),
    ("出示会员码", "card"),
    ("订个位", "booking"),
    ("周六还有位置吗", "booking"),
    ("提个建议", "feedback"),
    ("你们的咖啡太难喝了", "feedback"),
    ("修改手机号", "profile"),
    ("改生日", "profile"),
    ("我不想收到广告了", "profile"),
    ("注销会员", "profile"),
    ("英文", "language"),
    ("switch to Chinese", "language"),
    ("what level am I", "points"),
    ("show my vouchers", "coupons"),
    ("make a reservation", "booking"),
    ("refer a friend", "invite"),
    ("change my phone number", "profile"),
    ("stop sending me offers", "profile"),
    ("delete my account", "profile"),
    ("unsubscribe", "profile"),
    # substrings that are no words of a flow: the menu, never another flow
    ("facebook", "help"),
    ("discard this", "help"),
    ("hello", "help"),
]


def recorded(dialogs: Dialogs) -> list[str]:
    """The names of the flows the engine routes each turn to."""
    seen: list[str] = []
    route = dialogs._route

    def recording(turn: Turn, current: conversations.Conversation | None) -> tuple[Flow, str]:
        flow, step = route(turn, current)
        seen.append(flow.name)
        return flow, step

    dialogs._route = recording  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_phrasings_reach_their_flow(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    seen = recorded(dialogs)
    for number, (text, _) in enumerate(ROUTES):
        await member(ctx, user=f"u{number}", locale=lang)
        await say(dialogs, text, user=f"u{number}")
    assert seen == [flow for _, flow in ROUTES]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_typed_deletion_and_unsubscribe_only_ask(
    ctx: Context, dialogs: Dialogs, lang: str
) -> None:
    await member(ctx, user="u1", locale=lang, marketing_consent=True)
    await member(ctx, user="u2", locale=lang)
    (asked,) = await say(dialogs, "注销会员" if lang == "zh_CN" else "delete my account", user="u2")
    assert t(lang, "Yes, delete") in [b.label for b in asked.choices]
    (offers,) = await say(dialogs, "我不想收到广告了" if lang == "zh_CN" else "unsubscribe")
    assert offers.text == t(lang, "You receive our offers and news. Stop them?")
    (profile,) = await say(dialogs, "/profile")
    assert t(lang, "Offers and news: on") in profile.text  # nothing changed yet


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_a_close_call_asks_did_you_mean(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    await member(ctx, user="u1", locale=lang)
    (asked,) = await say(dialogs, "我要用积分" if lang == "zh_CN" else "points or coupons")
    assert asked.text == t(lang, "Did you mean …?")
    labels = [b.label for b in asked.choices]
    assert {t(lang, "My points"), t(lang, "Rewards")} <= set(labels)
    assert labels[-1] == t(lang, "Menu") and len(labels) <= 4
    (points,) = await say(dialogs, payload=press(asked, t(lang, "My points")))
    assert t(lang, "Points: {balance}", balance=0) in points.text


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_no_match_gets_the_menu(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    await member(ctx, user="u1", name="李雷", locale=lang)
    (menu,) = await say(dialogs, "今天天气不错" if lang == "zh_CN" else "the weather is nice")
    assert t(lang, "Hello {name}! What would you like to do?", name="李雷") in menu.text


async def test_the_shop_file_adds_phrases(ctx: Context) -> None:
    shop = ctx.shop.model_copy(update={"intents": {"checkin": ["我来啦", "I'm here"]}})
    dialogs = create_dialogs(replace(ctx, shop=shop))
    seen = recorded(dialogs)
    await member(ctx, user="u1")
    await say(dialogs, "我来啦")
    await say(dialogs, "I'm here!")
    assert seen == ["checkin", "checkin"]


async def test_an_unknown_flow_in_the_shop_files_intents_is_refused(ctx: Context) -> None:
    shop = ctx.shop.model_copy(update={"intents": {"pointz": ["查分"]}})
    with pytest.raises(ShopFileError, match=r"intents\.pointz: no flow named 'pointz'"):
        create_dialogs(replace(ctx, shop=shop))
