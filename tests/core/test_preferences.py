"""Preference tags and "for you" on a fixture with known answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import FixedClock
from core.context import Context
from core.engagement.preferences import Preferences, member_preferences, recommend, score_tag
from core.engagement.products import SaleLine
from core.ledger import refunds
from core.people.registration import register_member
from core.shop import PreferenceRules
from storage.db import Database
from tests.factories import sale
from tests.shop_with_products import product_context


@pytest.fixture
async def ctx(db: Database, clock: FixedClock, tmp_path: Path) -> Context:
    return await product_context(db, clock, tmp_path)


@pytest.fixture
async def shoppers(ctx: Context, clock: FixedClock) -> dict[str, int]:
    """Ann loves coffee, then cakes; Bob bought a lot once; Cat never bought; Dan drank one
    oolong; Eve's only purchase was refunded in full."""
    ids = {
        name: (await register_member(ctx, name=name, phone=f"1380000000{i}")).id
        for i, name in enumerate(("ann", "bob", "cat", "dan", "eve"), start=1)
    }
    ann, bob, dan, eve = ids["ann"], ids["bob"], ids["dan"], ids["eve"]
    await sale(
        ctx,
        ann,
        days_ago=200,
        fen=10_000,
        lines=[SaleLine("latte", 2, 5_600), SaleLine("cheesecake", 1, 3_000)],
    )
    await sale(
        ctx,
        ann,
        days_ago=30,
        fen=5_000,
        lines=[SaleLine("americano", 1, 2_200), SaleLine("latte", 1, 2_800)],
    )
    await sale(ctx, ann, days_ago=10, fen=1_800, lines=[SaleLine("greentea", 1, 1_800)])
    # outside 12 months
    await sale(ctx, ann, days_ago=400, fen=90_000, lines=[SaleLine("oolong", 30, 60_000)])
    await sale(
        ctx,
        bob,
        days_ago=20,
        fen=30_000,
        lines=[
            SaleLine("mocha", 5, 16_000),
            SaleLine("oolong", 3, 6_000),
            SaleLine("tiramisu", 2, 7_000),
        ],
    )
    await sale(ctx, dan, days_ago=5, fen=2_000, lines=[SaleLine("oolong", 1, 2_000)])
    refunded = (
        await sale(ctx, eve, days_ago=3, fen=9_000, lines=[SaleLine("mocha", 50, 9_000)])
    ).receipt_no
    await refunds.refund_sale(ctx, store="main", receipt_no=refunded, notify=False)
    return ids


def test_scores_read_as_tags() -> None:
    rules = PreferenceRules()  # high from 4, low up to 2
    assert [score_tag(score, rules) for score in range(1, 6)] == [
        "low",
        "low",
        "medium",
        "high",
        "high",
    ]


async def test_preference_tags_have_known_answers(ctx: Context, shoppers: dict[str, int]) -> None:
    # Ann spent ¥106 on coffee, ¥30 on cakes, ¥18 on tea in the last 12 months (the oolong
    # of 400 days ago is too old). Buyers in the window: Ann (F 3, M ¥168), Bob (1, ¥300),
    # Dan (1, ¥20), and Ann's old oolong still counts for recency only; Eve's refunded
    # sale is no purchase. Quintiles over 3: F Ann 4, Bob 1, Dan 1; M Bob 4, Ann 2, Dan 1.
    assert await member_preferences(ctx, shoppers["ann"]) == Preferences(
        ("coffee", "cake"), "high", "low"
    )
    assert await member_preferences(ctx, shoppers["bob"]) == Preferences(
        ("coffee", "cake"), "low", "high"
    )
    assert await member_preferences(ctx, shoppers["dan"]) == Preferences(("tea",), "low", "low")
    assert await member_preferences(ctx, shoppers["cat"]) == Preferences((), None, None)
    assert await member_preferences(ctx, shoppers["eve"]) == Preferences((), None, None)


async def test_for_you_has_known_answers(ctx: Context, shoppers: dict[str, int]) -> None:
    # Pieces sold in the window (purchases only): mocha 5, oolong 4, latte 3, tiramisu 2,
    # cheesecake 1, americano 1, greentea 1.
    ann = await recommend(ctx, shoppers["ann"])
    # Coffee and cakes, without the latte and americano Ann had in the last 90 days.
    assert [p.code for p in ann.products] == ["mocha", "tiramisu", "cheesecake"]
    assert ann.categories == ("coffee", "cake")
    # Dan's tea: the green tea (the oolong is recent), then the shop's best sellers.
    dan = await recommend(ctx, shoppers["dan"])
    assert [p.code for p in dan.products] == ["greentea", "mocha", "latte"]
    # No history: the best sellers.
    cat = await recommend(ctx, shoppers["cat"])
    assert ([p.code for p in cat.products], cat.categories) == (["mocha", "oolong", "latte"], ())
    # Eve's refunded mocha is still "bought lately": not recommended to her.
    eve = await recommend(ctx, shoppers["eve"])
    assert [p.code for p in eve.products] == ["oolong", "latte", "tiramisu"]


async def test_for_you_in_an_empty_catalogue_history(ctx: Context) -> None:
    member_id = (await register_member(ctx, name="新人", phone="13900000000")).id
    found = await recommend(ctx, member_id)
    # Nothing sold yet: the catalogue in code order (the goods reward's mug too).
    assert [p.code for p in found.products] == ["americano", "cheesecake", "greentea"]
