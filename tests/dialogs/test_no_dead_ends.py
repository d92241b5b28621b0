"""No dead ends inside a conversation (issue 23, point 5), through the real engine in both
languages: every waiting question saying how to leave it (once; not a finished flow's
answer, nor a chat with staff), the words that leave any step, a refusal that shows the
step's buttons again (typed numbers, labels and yes still pick them), a keyword of another
flow leaving a step that takes no free text, Skip typed at the birthday, a complaint's
words kept, and a staff answer shown back before it goes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.waiting import HINT
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from core.service import bookings, feedback
from storage.models import CheckinRow, MemberRow, OutboxRow
from tests.dialogs.conftest import hinted, press, say, t
from tests.factories import member, shop_time

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
YES = {"zh_CN": "是的", "en": "yes"}
SKIP = {"zh_CN": "跳过", "en": "skip"}


async def cancel_question(ctx: Context, dialogs: Dialogs, locale: str) -> tuple[int, str]:
    """A member with one booking, asked whether to cancel it; the Yes button's payload."""
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    await bookings.book(ctx, member_id, "main", shop_time(5, 15), 2)
    (mine,) = await say(dialogs, "/bookings")
    (ask,) = await say(dialogs, payload=press(mine, t(locale, "Cancel #{number}", number=1)))
    return member_id, press(ask, t(locale, "Yes, cancel it"))


async def checkins(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(CheckinRow)) or 0)


@LOCALES
@pytest.mark.parametrize("then", ["1", "yes", "tap"])
async def test_a_refusal_keeps_the_buttons_and_they_still_work(
    ctx: Context, dialogs: Dialogs, locale: str, then: str
) -> None:
    member_id, yes = await cancel_question(ctx, dialogs, locale)
    (refused,) = await say(dialogs, "hmm")
    assert refused.text.count(t(locale, HINT)) == 1 and refused.text.endswith(t(locale, HINT))
    assert [b.label for b in refused.choices] == [
        t(locale, "Yes, cancel it"),
        t(locale, "No, keep it"),
    ]
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1
    if then == "tap":  # the link of the first question, tapped after the refusal
        (done,) = await say(dialogs, payload=yes)
    else:
        (done,) = await say(dialogs, "1" if then == "1" else YES[locale])
    assert done.text.startswith(t(locale, "Cancelled: {booking}", booking=""))
    assert await bookings.upcoming_bookings(ctx, member_id) == []


@LOCALES
@pytest.mark.parametrize("word", ["取消", "cancel", "Cancel!", "菜单", "menu", "返回", "帮助"])
async def test_the_leave_words_end_any_step(
    ctx: Context, dialogs: Dialogs, locale: str, word: str
) -> None:
    member_id, _ = await cancel_question(ctx, dialogs, locale)
    replies = await say(dialogs, word)
    menu = t(locale, "Hello {name}! What would you like to do?", name="王芳")
    if word.lower().strip("!") in ("取消", "cancel"):
        assert replies[0].text == t(locale, "Cancelled; nothing was changed.")
    assert replies[-1].text.splitlines()[0] == menu
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1
    (after,) = await say(dialogs, "1")  # the question is gone: "1" is no answer to it
    assert len(await bookings.upcoming_bookings(ctx, member_id)) == 1
    assert not after.text.startswith(t(locale, "Cancelled: {booking}", booking=""))


@LOCALES
async def test_a_command_leaves_a_step(ctx: Context, dialogs: Dialogs, locale: str) -> None:
    await cancel_question(ctx, dialogs, locale)
    (feedback_question,) = await say(dialogs, "/feedback")
    assert feedback_question.text == hinted(
        locale, t(locale, "How was your experience? Please rate us from 1 (poor) to 5 (excellent).")
    )


@LOCALES
async def test_the_rating_step_lets_other_flows_and_everyday_words_through(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale)
    await say(dialogs, "/feedback")
    retry = t(
        locale,
        "Please give a rating from {min} to {max}: tap a button or type a digit.",
        min=1,
        max=5,
    )
    checked_in = await say(dialogs, "签到")  # another flow's keyword: that flow
    assert all(retry not in reply.text for reply in checked_in)
    assert await checkins(ctx) == 1
    await say(dialogs, "/feedback")
    for everyday in ("你好", "谢谢"):  # no answer, no flow: asked again, saying how to leave
        (again,) = await say(dialogs, everyday)
        assert again.text.splitlines()[0] == retry
        assert again.text.splitlines()[-1] == t(locale, HINT)
        assert len(again.choices) == 6
    (cancelled, menu) = await say(dialogs, "取消")
    assert cancelled.text == t(locale, "Cancelled; nothing was changed.")
    assert menu.choices


@LOCALES
async def test_a_complaint_in_one_message_keeps_its_words(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    member_id = await member(ctx, name="王芳", user="u1", locale=locale)
    said = {"zh_CN": "投诉：服务太慢了", "en": "complaint: too slow"}[locale]
    (ask,) = await say(dialogs, said)
    assert ask.text.splitlines()[0] == t(locale, "Got it: “{words}”", words=said)
    (thanks,) = await say(dialogs, "2")
    assert thanks.text.startswith(
        t(locale, "Thank you for your feedback! Our staff will read it and answer you here.")
    )
    (sent,) = await feedback.member_feedback(ctx, member_id, 5)
    assert (sent.rating, sent.text) == (2, said)


@LOCALES
async def test_feedback_without_words_still_asks_for_them(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    await member(ctx, name="王芳", user="u1", locale=locale)
    await say(dialogs, {"zh_CN": "我要投诉", "en": "I want to complain"}[locale])
    (write,) = await say(dialogs, "⭐⭐")
    assert write.text == hinted(
        locale,
        t(locale, "Thank you! What would you like to tell us? (at most {max} characters)", max=500),
    )


@LOCALES
@pytest.mark.parametrize("skip", ["skip", "1", "Skip"])
async def test_birthday_skip_typed_also_after_a_bad_birthday(
    ctx: Context, dialogs: Dialogs, locale: str, skip: str
) -> None:
    (welcome,) = await say(dialogs, "hi", lang=locale)
    await say(dialogs, payload=press(welcome, t(locale, "Agree")), lang=locale)
    await say(dialogs, "李雷", lang=locale)
    await say(dialogs, "13800138000", lang=locale)
    (bad,) = await say(dialogs, "someday", lang=locale)
    assert [b.label for b in bad.choices] == [t(locale, "Skip")]
    typed = SKIP[locale] if skip == "skip" else t(locale, "Skip") if skip == "Skip" else "1"
    (summary,) = await say(dialogs, typed, lang=locale)
    birthday = t(locale, "Birthday: {birthday}", birthday=t(locale, "not given"))
    assert birthday in summary.text.splitlines()
    await say(dialogs, payload=press(summary, t(locale, "Confirm")), lang=locale)
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(MemberRow)) == 1


@LOCALES
async def test_a_staff_answer_is_shown_back_before_it_goes(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    wang = await register_member(
        ctx, name="王芳", phone="13800138000", channel="console", external_id="wang"
    )
    item = await feedback.submit_feedback(ctx, wang.id, 2, "太慢了")
    await add_staff(
        ctx, channel="console", external_id="clerk", role="clerk", store="main", locale=locale
    )
    (queue,) = await say(dialogs, "/feedback", user="clerk", lang=locale)
    await say(dialogs, payload=press(queue, "王芳"), user="clerk", lang=locale)
    (shown,) = await say(dialogs, "积分", user="clerk", lang=locale)  # a slip of the keyboard
    assert "积分" in shown.text.splitlines()
    assert [b.label for b in shown.choices] == [
        t(locale, "Send"),
        t(locale, "Edit"),
        t(locale, "Cancel"),
    ]
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxRow)) == 0
    (edit,) = await say(dialogs, payload=press(shown, t(locale, "Edit")), user="clerk", lang=locale)
    assert edit.text == hinted(locale, t(locale, "Type your answer again:"))
    (shown,) = await say(dialogs, "抱歉，我们会改进。", user="clerk", lang=locale)
    (sent,) = await say(dialogs, YES[locale], user="clerk", lang=locale)
    assert sent.text == t(locale, "Your answer was sent to {name}.", name="王芳")
    assert (await feedback.get_feedback(ctx, item.id)).answer == "抱歉，我们会改进。"
    # Cancel drops a typed answer: nothing goes.
    await say(dialogs, payload=press(queue, "王芳"), user="clerk", lang=locale)
    (shown,) = await say(dialogs, "签到", user="clerk", lang=locale)
    (dropped,) = await say(
        dialogs, payload=press(shown, t(locale, "Cancel")), user="clerk", lang=locale
    )
    assert dropped.text == t(locale, "Cancelled; nothing was sent.")
    assert (await feedback.get_feedback(ctx, item.id)).answer == "抱歉，我们会改进。"


@LOCALES
async def test_every_waiting_question_says_how_to_leave_once(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    """The question itself says how to leave (point 5), from the first time it is asked and
    in every flow, once even when asked again; a finished flow's answer and the messages of
    a chat with staff (which says how to end it in its own words) do not."""
    hint = t(locale, HINT)
    await member(ctx, name="王芳", user="u1", locale=locale, points=300)
    await member(ctx, name="李雷", user="wang", locale=locale, home_store="main")
    await register_member(ctx, name="韩梅梅", phone="13800138000")
    await add_staff(
        ctx, channel="console", external_id="clerk", role="clerk", store="main", locale=locale
    )
    (welcome,) = await say(dialogs, "hi", user="new", lang=locale)
    (name,) = await say(dialogs, payload=press(welcome, t(locale, "Agree")), user="new")
    assert name.text == hinted(locale, t(locale, "What is your name?"))
    (again,) = await say(dialogs, "", user="new")
    assert again.text.count(hint) == 1 and again.text.endswith(hint)
    (stores,) = await say(dialogs, "/book")
    assert stores.text == hinted(locale, t(locale, "Which store would you like to visit?"))
    (catalogue,) = await say(dialogs, "/rewards")
    assert catalogue.text.endswith(hinted(locale, t(locale, "Which one would you like?")))
    (which,) = await say(dialogs, "/sale", user="clerk", lang=locale)
    assert which.text == hinted(
        locale, t(locale, "Which member? Type a phone number, member number or name.")
    )
    # Finished: no step waits, nothing to leave.
    (points,) = await say(dialogs, "/points")
    (recorded,) = await say(dialogs, "/sale 13800138000 100 R-1", user="clerk", lang=locale)
    assert t(locale, "Points: {balance}", balance=300) in points.text
    assert recorded.text.splitlines()[1] == t(locale, "Receipt number: {receipt}", receipt="R-1")
    chat = await say(
        dialogs, {"zh_CN": "我要转人工客服", "en": "talk to a human"}[locale], user="wang"
    )
    chat += await say(dialogs, "你好", user="wang")
    assert chat[-1].text == t(locale, "Sent to our staff.")
    assert all(hint not in reply.text for reply in [points, recorded, *chat])
