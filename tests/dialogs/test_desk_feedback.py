"""Staff's /feedback in both languages: the queue urgent first, one feedback in full, the
typed answer queued to the member through the outbox, closing without an answer, and the
store a clerk may see. Members keep their own /feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs
from bot.error_texts import describe
from core.clock import FixedClock
from core.context import Context
from core.errors import UnknownFeedback
from core.people.registration import register_member
from core.people.staff import StaffView, add_staff
from core.service import feedback
from core.service.feedback import TEXT_MAX
from storage.models import AuditRow, OutboxRow
from tests.dialogs.conftest import hinted, press, say, t

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])


async def two_feedbacks(ctx: Context, clock: FixedClock) -> dict[str, feedback.FeedbackView]:
    """Bob is happy (sent first), 王芳 is not (sent an hour later: urgent)."""
    wang = await register_member(
        ctx, name="王芳", phone="13800138000", channel="console", external_id="wang"
    )
    bob = await register_member(
        ctx, name="Bob", phone="13900139000", locale="en", channel="console", external_id="bob"
    )
    happy = await feedback.submit_feedback(ctx, bob.id, 5, "Great coffee, friendly staff")
    clock.advance(timedelta(hours=1))
    sour = await feedback.submit_feedback(ctx, wang.id, 1, "牛奶是酸的,店员也不理我")
    return {"happy": happy, "sour": sour}


async def clerk(ctx: Context, store: str = "main") -> StaffView:
    return await add_staff(ctx, channel="console", external_id="clerk", role="clerk", store=store)


async def outbox(ctx: Context) -> list[OutboxRow]:
    async with ctx.db.read() as s:
        return list(await s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


@LOCALES
async def test_urgent_first_and_the_answer_reaches_the_member(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    items = await two_feedbacks(ctx, clock)
    staff = await clerk(ctx)
    (queue,) = await say(dialogs, "/feedback", user="clerk", lang=locale)
    lines = queue.text.splitlines()
    assert lines[0] == t(locale, "Open feedback, urgent first ({count}):", count=2)
    assert lines[1].startswith("1. ❗ ⭐ 王芳, ")  # newer, but one star: first
    assert lines[2].startswith("2. ⭐⭐⭐⭐⭐ Bob, ")
    assert [b.label for b in queue.choices] == ["#1 王芳", "#2 Bob"]

    (full,) = await say(dialogs, payload=press(queue, "王芳"), user="clerk", lang=locale)
    lines = full.text.splitlines()
    assert lines[0] == t(locale, "Feedback #{id}", id=items["sour"].id)
    assert "138****8000" in lines[1]  # a clerk sees the phone masked
    assert "牛奶是酸的,店员也不理我" in lines
    assert [b.label for b in full.choices] == [
        t(locale, "Close without answering"),
        t(locale, "Open feedback"),
    ]
    assert await outbox(ctx) == []

    (too_long,) = await say(dialogs, "x" * (TEXT_MAX + 1), user="clerk", lang=locale)
    assert too_long.text == hinted(
        locale,
        t(
            locale,
            "That is too long: at most {max} characters, yours has {count}. "
            "Please shorten it and send it again.",
            max=TEXT_MAX,
            count=TEXT_MAX + 1,
        ),
    )
    (shown,) = await say(dialogs, "非常抱歉,我们会给您打电话。", user="clerk", lang=locale)
    assert await outbox(ctx) == []  # shown back first (issue 23): nothing sent yet
    send = press(shown, t(locale, "Send"), exact=True)
    (sent,) = await say(dialogs, payload=send, user="clerk", lang=locale)
    assert sent.text == t(locale, "Your answer was sent to {name}.", name="王芳")
    (push,) = await outbox(ctx)
    assert (push.member_id, push.kind) == (items["sour"].member_id, "feedback_answer")
    assert push.params["answer"] == "非常抱歉,我们会给您打电话。"
    answered = await feedback.get_feedback(ctx, items["sour"].id)
    assert (answered.status, answered.answer) == ("answered", "非常抱歉,我们会给您打电话。")

    # Answered feedback leaves the queue; the next message is not another answer.
    (queue,) = await say(
        dialogs, payload=press(sent, t(locale, "Open feedback")), user="clerk", lang=locale
    )
    assert queue.text.splitlines()[0] == t(
        locale, "Open feedback, urgent first ({count}):", count=1
    )
    assert [b.label for b in queue.choices] == ["#1 Bob"]
    assert len(await outbox(ctx)) == 1
    async with ctx.db.read() as s:
        audit = await s.scalar(select(AuditRow).where(AuditRow.action == "feedback.answered"))
    assert audit is not None and audit.actor == staff.actor


@LOCALES
async def test_closing_without_an_answer_sends_nothing(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    items = await two_feedbacks(ctx, clock)
    await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    (queue,) = await say(dialogs, "/feedback", user="boss", lang=locale)
    (full,) = await say(dialogs, payload=press(queue, "Bob"), user="boss", lang=locale)
    assert "13900139000" in full.text.splitlines()[1]  # the owner sees the whole number
    close = press(full, t(locale, "Close without answering"))
    (closed,) = await say(dialogs, payload=close, user="boss", lang=locale)
    assert closed.text == t(
        locale, "Feedback #{id} from {name} is closed.", id=items["happy"].id, name="Bob"
    )
    assert (await feedback.get_feedback(ctx, items["happy"].id)).status == "closed"
    assert await outbox(ctx) == []
    (again,) = await say(dialogs, payload=close, user="boss", lang=locale)
    assert again.text == closed.text  # a second tap changes nothing
    (queue,) = await say(dialogs, "/feedback", user="boss", lang=locale)
    assert [b.label for b in queue.choices] == ["#1 王芳"]
    await say(dialogs, payload=press(queue, "王芳"), user="boss", lang=locale)
    await say(dialogs, payload=f"desk_feedback|close|{items['sour'].id}", user="boss", lang=locale)
    (empty,) = await say(dialogs, "/feedback", user="boss", lang=locale)
    assert empty.text == t(locale, "There is no open feedback.")
    assert await outbox(ctx) == []


async def test_a_clerk_sees_their_store_and_feedback_about_no_store(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    items = await two_feedbacks(ctx, clock)
    elsewhere = await feedback.submit_feedback(
        ctx, items["happy"].member_id, 2, "Riverside was cold", store="riverside"
    )
    here = await feedback.submit_feedback(
        ctx, items["happy"].member_id, 4, "Nice new shelves", store="main"
    )
    await clerk(ctx)
    (queue,) = await say(dialogs, "/feedback", user="clerk", lang="en")
    assert [b.label for b in queue.choices] == ["#1 王芳", "#2 Bob", "#3 Bob"]
    assert "Riverside was cold" not in queue.text and "Nice new shelves" in queue.text
    for action in ("show", "close"):
        forged = f"desk_feedback|{action}|{elsewhere.id}"
        (refused,) = await say(dialogs, payload=forged, user="clerk", lang="en")
        assert refused.text == describe(UnknownFeedback(feedback=elsewhere.id), "en", None)
    assert (await feedback.get_feedback(ctx, elsewhere.id)).status == "open"
    (full,) = await say(dialogs, payload=f"desk_feedback|show|{here.id}", user="clerk", lang="en")
    assert t("en", "Store: {store}", store="Flagship store") in full.text.splitlines()


async def test_members_keep_their_own_feedback(
    ctx: Context, dialogs: Dialogs, clock: FixedClock
) -> None:
    await two_feedbacks(ctx, clock)
    (ask,) = await say(dialogs, "/feedback", user="bob")
    assert ask.text == hinted(
        "en", t("en", "How was your experience? Please rate us from 1 (poor) to 5 (excellent).")
    )
