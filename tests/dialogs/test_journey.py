"""One member's whole journey, in each language: first contact, registration, a sale
recorded by staff, points, a redemption, a booking and feedback — texts and buttons."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.i18n import LOCALES, format_money, gettext
from core import loyalty
from core.context import Context
from core.ledger import statement
from core.ledger.coupons import member_coupons
from core.people.members import member_for_identity
from core.service import bookings
from storage.models import FeedbackRow
from tests.dialogs.conftest import hinted, press, say


@pytest.mark.parametrize("lang", LOCALES)
async def test_a_members_journey(ctx: Context, dialogs: Dialogs, lang: str) -> None:
    def t(message: str, **params: object) -> str:
        return gettext(lang, message, **params)

    async def chat(text: str = "", payload: str | None = None) -> list[Reply]:
        return await say(dialogs, text, payload=payload, user="journey", lang=lang)

    # First contact and registration.
    (welcome,) = await chat("你好" if lang == "zh_CN" else "hello")
    assert t("Do you agree?") in welcome.text
    assert [b.label for b in welcome.choices][:2] == [t("Agree"), t("Decline")]
    (ask_name,) = await chat(payload=press(welcome, t("Agree")))
    assert ask_name.text == hinted(lang, t("What is your name?"))
    await chat("李雷")
    await chat("138 0013 8000")
    (summary,) = await chat("1990-05-01")
    assert t("Name: {name}", name="李雷") in summary.text
    (joined,) = await chat(payload=press(summary, t("Confirm")))
    member = await member_for_identity(ctx, "console", "journey")
    assert member is not None and member.locale == lang
    assert (
        t(
            "Welcome, {name}! You are now a member; your member number is {member_no}.",
            name="李雷",
            member_no=member.member_no,
        )
        in joined.text
    )
    assert joined.choices[0].label == t("My points")

    # Staff record two purchases at the counter (through core, as the staff command will).
    await loyalty.record_sale(
        ctx, store="main", receipt_no="J-1", member_id=member.id, amount_fen=23_800
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="J-2", member_id=member.id, amount_fen=120_000
    )
    (points,) = await chat("/points")
    assert t("Points: {balance}", balance=140) in points.text
    silver = "银卡" if lang == "zh_CN" else "Silver"
    assert silver in points.text
    gold = "金卡" if lang == "zh_CN" else "Gold"
    assert (
        t(
            "Spend {amount} more within {months} months to reach {tier}.",
            amount=format_money(500_000 - 143_800, lang),
            months=12,
            tier=gold,
        )
        in points.text
    )

    # Redeem 100 points for a ¥10 coupon.
    (catalogue,) = await chat("/rewards")
    assert t("Rewards — you have {balance} points:", balance=140) in catalogue.text
    (confirm,) = await chat(payload=catalogue.choices[0].payload)
    (done,) = await chat(payload=press(confirm, t("Confirm")))
    (coupon,) = await member_coupons(ctx, member.id)
    assert coupon.value_fen == 1_000
    assert coupon.code[:5] in done.text
    assert (await statement.points_summary(ctx, member.id)).balance == 40

    # Book a visit: store → day → time → party size → confirm.
    (stores,) = await chat("/book")
    assert stores.text == hinted(lang, t("Which store would you like to visit?"))
    (days,) = await chat(payload=stores.choices[0].payload)
    (times,) = await chat(payload=days.choices[0].payload)
    (party,) = await chat(payload=times.choices[0].payload)
    (check,) = await chat(payload=press(party, "2"))
    assert t("People: {people}", people=2) in check.text
    (booked, *_) = await chat(payload=press(check, t("Confirm")))
    assert t("Booked! See you soon.") in booked.text
    (visit,) = await bookings.upcoming_bookings(ctx, member.id)
    assert (visit.store, visit.party_size) == ("main", 2)

    # Feedback: rating, then words.
    (rate,) = await chat("/feedback")
    (ask_text,) = await chat(payload=rate.choices[1].payload)  # two stars
    assert t("Thank you! What would you like to tell us? (at most {max} characters)", max=500) in (
        ask_text.text
    )
    words = "排队太久了" if lang == "zh_CN" else "we had to wait in the queue for ages"
    (thanks, *_) = await chat(words)
    assert t("Thank you for your feedback! Our staff will read it and answer you here.") in (
        thanks.text
    )
    async with ctx.db.read() as s:
        feedback = (await s.scalars(select(FeedbackRow))).one()
    assert (feedback.rating, feedback.text, feedback.category, feedback.urgent) == (
        2,
        words,
        "waiting",
        True,
    )
