"""The engine: routing, payloads, translated errors, and the points flow's figures."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import pytest

from bot.dialogs.engine.types import Event, Payload, Reply, Sender
from bot.dialogs.registry import create_dialogs
from core import loyalty
from core.context import Context
from core.ledger import refunds
from core.people.registration import register_member
from storage.session import Session


async def member_with_gold_sale(ctx: Context, user: str, locale: str) -> int:
    member = await register_member(
        ctx, name="王芳", phone="13800138000", locale=locale, channel="console", external_id=user
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="G1", member_id=member.id, amount_fen=600_000
    )  # crosses into 金卡 / Gold
    await loyalty.record_sale(
        ctx, store="main", receipt_no="G2", member_id=member.id, amount_fen=23_800
    )
    return member.id


async def say(ctx: Context, user: str, **event: str) -> list[Reply]:
    return await create_dialogs(ctx).handle(Event(Sender("console", user), **event))


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh_CN", "¥238.00 → 20 积分 × 1.2（金卡）= 24"),
        ("en", "CN¥238.00 → 20 points × 1.2 Gold = 24"),
    ],
)
async def test_points_show_balance_and_explain_each_entry(
    ctx: Context, locale: str, expected: str
) -> None:
    await member_with_gold_sale(ctx, "u1", locale)
    (reply,) = await say(ctx, "u1", text="积分" if locale == "zh_CN" else "my points")
    balance = 600 + 24  # ¥6 000 at 普通 (1×) lifts the member to 金卡; then ¥238 at 1.2×
    assert str(balance) in reply.text
    assert ("金卡" if locale == "zh_CN" else "Gold") in reply.text
    latest = reply.choices[0]  # the newest entry: the ¥238.00 sale
    (why,) = await say(ctx, "u1", payload=latest.payload)
    assert why.text == expected


async def test_why_never_shows_another_members_entry(ctx: Context) -> None:
    await member_with_gold_sale(ctx, "u1", "en")
    await register_member(
        ctx, name="Bob", phone="13900139000", locale="en", channel="console", external_id="u2"
    )
    (reply,) = await say(ctx, "u1", text="/points")
    (why,) = await say(ctx, "u2", payload=reply.choices[0].payload)
    assert why.text == "Not found."


async def test_asking_again_soon_after_reads_only(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The arrival was recorded a moment ago and the points flow keeps no conversation:
    nothing to write."""
    await member_with_gold_sale(ctx, "u1", "en")
    await say(ctx, "u1", text="/points")
    writes = []
    transaction = ctx.db.transaction

    def counted() -> AbstractAsyncContextManager[Session]:
        writes.append(1)
        return transaction()

    monkeypatch.setattr(ctx.db, "transaction", counted)
    (reply,) = await say(ctx, "u1", text="/points")
    assert "Points: 624" in reply.text
    assert writes == []


@pytest.mark.parametrize(
    "event",
    [
        {"text": "what is the weather"},
        {"text": "/nosuchcommand"},
        {"text": ""},
        {"payload": "forged"},
        {"payload": "nosuchflow|x|y"},
        {"payload": "points|nosuchstep|1"},
    ],
)
async def test_anything_not_understood_gets_the_menu(ctx: Context, event: dict[str, str]) -> None:
    await member_with_gold_sale(ctx, "u1", "en")
    (reply,) = await say(ctx, "u1", **event)
    assert reply.text.startswith("Hello 王芳! What would you like to do?")
    assert [b.label for b in reply.choices][:2] == ["My points", "Rewards"]


def test_payloads_round_trip_and_reject_strangers() -> None:
    assert Payload.unpack(Payload("points", "why", "42").pack()) == Payload("points", "why", "42")
    assert Payload.unpack("no separators") is None
    with pytest.raises(ValueError, match="512 bytes"):
        Payload("points", "why", "9" * 600).pack()


async def test_why_explains_a_partial_refund_by_what_the_sale_keeps(ctx: Context) -> None:
    """¥238 at Gold earned 24; ¥100 back leaves ¥138, which earns 12 at 1.2×."""
    await member_with_gold_sale(ctx, "u1", "en")
    await refunds.refund_sale(ctx, store="main", receipt_no="G2", amount_fen=10_000)
    (reply,) = await say(ctx, "u1", text="/points")
    assert "Points: 612" in reply.text
    (why,) = await say(ctx, "u1", payload=reply.choices[0].payload)
    assert why.text == (
        "CN¥100.00 of a purchase of CN¥238.00 was refunded: the CN¥138.00 kept earns 12 "
        "points, so 12 points were taken back."
    )
