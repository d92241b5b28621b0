"""Feedback through the chat, in both languages: bad ratings and texts are answered clearly
and the question stays; the text is stored exactly as typed."""

from __future__ import annotations

import pytest

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.waiting import HINT
from core.context import Context
from core.people.staff import add_staff
from core.service.feedback import TEXT_MAX, answer_feedback, member_feedback
from tests.dialogs.conftest import hinted, say, t
from tests.factories import member

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
ASK = {"zh_CN": "我想提个意见", "en": "I want to give feedback"}
STARS = ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]


@LOCALES
async def test_bad_input_is_answered_and_the_question_stays(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    question = t(locale, "How was your experience? Please rate us from 1 (poor) to 5 (excellent).")
    (ask,) = await say(dialogs, ASK[locale])
    assert ask.text == hinted(locale, question)
    assert [b.label for b in ask.choices] == [*STARS, t(locale, "My feedback")]
    retry = t(
        locale,
        "Please give a rating from {min} to {max}: tap a button or type a digit.",
        min=1,
        max=5,
    )
    for bad in ("7", "abc", "0"):
        (again,) = await say(dialogs, bad)
        assert again.text.splitlines() == [retry, question, t(locale, HINT)]
        assert [b.label for b in again.choices][:5] == STARS
    (write,) = await say(dialogs, "4")  # a typed digit
    prompt = t(
        locale,
        "Thank you! What would you like to tell us? (at most {max} characters)",
        max=TEXT_MAX,
    )
    assert write.text == hinted(locale, prompt)
    for nothing in ("   ", "\u200b", " \u200d\ufeff "):  # spaces; zero-width characters
        (empty,) = await say(dialogs, nothing)
        assert empty.text == hinted(
            locale, t(locale, "Please write a few words about your experience.")
        )
    (long,) = await say(dialogs, "很" * 10_000)
    assert long.text == hinted(
        locale,
        t(
            locale,
            "That is too long: at most {max} characters, yours has {count}. "
            "Please shorten it and send it again.",
            max=TEXT_MAX,
            count=10_000,
        ),
    )
    typed = '咖啡 <b>太凉</b> *了* _真的_ 😡☕ & "quotes" {braces}'
    (thanks,) = await say(dialogs, typed)
    assert thanks.text == t(
        locale, "Thank you for your feedback! Our staff will read it and answer you here."
    )
    (sent,) = await member_feedback(ctx, member_id)
    assert (sent.rating, sent.text) == (4, typed)


@LOCALES
async def test_a_low_rating_by_button_and_the_answer_in_my_feedback(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    (ask,) = await say(dialogs, "/feedback")
    await say(dialogs, payload=ask.choices[0].payload)  # ⭐
    typed = "x" * TEXT_MAX  # exactly the limit is fine
    (thanks,) = await say(dialogs, typed)
    assert thanks.text.splitlines()[1] == t(
        locale, "We are sorry it was not better; someone will be in touch soon."
    )
    (sent,) = await member_feedback(ctx, member_id)
    assert (sent.rating, sent.text, sent.urgent) == (1, typed, True)
    (mine,) = await say(dialogs, payload=thanks.choices[0].payload)
    assert t(locale, "No answer yet.") in mine.text
    staff = await add_staff(
        ctx, channel="console", external_id="clerk", role="clerk", store="main", name="Li"
    )
    await answer_feedback(ctx, sent.id, "抱歉!<i>下次</i>", staff_id=staff.id)
    (mine,) = await say(dialogs, payload=thanks.choices[0].payload)
    assert mine.text.splitlines()[0] == t(locale, "Your feedback:")
    assert t(locale, "Answer: {answer}", answer="抱歉!<i>下次</i>") in mine.text


async def test_my_feedback_when_there_is_none(ctx: Context, dialogs: Dialogs) -> None:
    await member(ctx, name="王芳", user="u1", locale="en")
    (reply,) = await say(dialogs, "my feedback")
    assert reply.text == "You have not sent any feedback yet."
