"""Feedback: topic classification, submission rules, the staff queue, answers and closing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.errors import FeedbackClosed, InvalidInput, UnknownFeedback, UnknownSale, UnknownStore
from core.people.staff import add_staff
from core.service import feedback
from storage.models import AuditRow, FeedbackRow, OutboxRow
from tests.factories import count, member

# --- classifier ---------------------------------------------------------------------------


def test_acceptance_classifications() -> None:
    assert feedback.classify("排队太久了") == "waiting"
    assert feedback.classify("the coffee was cold") == "product"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("服务员态度很差", "service"),
        ("The barista was rude to me", "service"),
        ("拿铁味道怪怪的,质量不行", "product"),
        ("My croissant was stale", "product"),
        ("太贵了,价格不合理", "price"),
        ("Way too expensive for what you get", "price"),
        ("桌子很脏,卫生不好", "environment"),
        ("Very noisy and the toilets were dirty", "environment"),
        ("排队排了二十分钟", "waiting"),
        ("We waited in the queue for ages", "waiting"),
        ("谢谢,明天见", "other"),
        ("Thanks, see you tomorrow!", "other"),
        ("", "other"),
    ],
)
def test_one_example_per_category_and_language(text: str, category: str) -> None:
    assert feedback.classify(text) == category


def test_english_matches_whole_words_in_any_case() -> None:
    assert feedback.classify("THE COFFEE WAS COLD") == "product"
    assert feedback.classify("ｃｏｌｄ") == "product"  # full-width letters from a Chinese IME
    assert feedback.classify("咖啡是cold的") == "product"  # English touching Chinese
    assert feedback.classify("they served it slowly") == "waiting"  # listed inflection
    assert feedback.classify("the chocolate cake was lovely") == "other"  # not "late"
    assert feedback.classify("I like it colder") == "other"  # whole words only
    assert feedback.classify("it   took\nforever") == "waiting"  # a phrase across whitespace


def test_most_keywords_win_and_ties_follow_the_priority() -> None:
    # service: rude + staff; price: expensive → service.
    assert feedback.classify("rude staff, and expensive") == "service"
    # One keyword each: waiting comes before service in the priority list.
    assert feedback.classify("slow service") == "waiting"
    assert feedback.classify("服务慢") == "waiting"
    # A repeated keyword counts once: price (贵, 价格) beats product (难喝 ×3).
    assert feedback.classify("难喝难喝难喝,价格太贵") == "price"


def test_shipped_keyword_file_is_complete() -> None:
    kw = feedback.keywords()
    assert sorted(kw.priority) == sorted(set(feedback.CATEGORIES) - {feedback.OTHER})
    assert all(len(c) <= 16 for c in feedback.CATEGORIES)  # the column's width
    for category in kw.priority:
        assert 10 <= len(kw.zh[category]) <= 25, category
        assert 10 <= len(kw.en[category]) <= 25, category
    assert feedback.keywords() is kw  # read once


def test_broken_keyword_file_fails_loudly(tmp_path: Path) -> None:
    bad = tmp_path / "kw.toml"
    bad.write_text('priority = ["waiting"]\n[categories.waiting]\nzh = ["慢"]\n', "utf-8")
    with pytest.raises(ValueError, match="categories"):
        feedback.load_keywords(bad)


# --- helpers ------------------------------------------------------------------------------


async def new_staff(ctx: Context, external_id: str = "9001") -> int:
    staff = await add_staff(
        ctx, channel="telegram", external_id=external_id, role="clerk", store="main"
    )
    return staff.id


async def answers_queued(ctx: Context, feedback_id: int | None = None) -> list[OutboxRow]:
    query = select(OutboxRow).where(OutboxRow.kind == "feedback_answer").order_by(OutboxRow.id)
    if feedback_id is not None:
        query = query.where(OutboxRow.dedup_key.like(f"feedback:{feedback_id}:%"))
    async with ctx.db.read() as s:
        return list(await s.scalars(query))


# --- submitting ---------------------------------------------------------------------------


async def test_submit_classifies_and_records(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")

    view = await feedback.submit_feedback(ctx, member_id, 4, "  排队太久了  ", store="main")

    assert (view.member_id, view.member_name, view.store) == (member_id, "王小明", "main")
    assert (view.rating, view.text, view.category) == (4, "排队太久了", "waiting")
    assert (view.urgent, view.status, view.answer) == (False, "open", None)
    assert view.created_at == ctx.now()
    assert await count(ctx, AuditRow, AuditRow.action == "feedback.submitted") == 1


@pytest.mark.parametrize("rating", [0, 6, -1, True, 3.0, "5", None])
async def test_rating_must_be_one_to_five(ctx: Context, rating: object) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    with pytest.raises(InvalidInput) as caught:
        await feedback.submit_feedback(ctx, member_id, rating, "ok")  # type: ignore[arg-type]
    assert caught.value.params["field"] == "rating"
    assert await count(ctx, FeedbackRow) == 0


@pytest.mark.parametrize("rating", [1, 5])
async def test_rating_bounds_are_accepted(ctx: Context, rating: int) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    assert (await feedback.submit_feedback(ctx, member_id, rating, "ok")).rating == rating


async def test_text_is_one_to_500_characters(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    longest = "好" * feedback.TEXT_MAX

    assert (await feedback.submit_feedback(ctx, member_id, 3, longest)).text == longest
    for text in ["", "   \n ", "\u200b", longest + "好", "a\x00b"]:
        with pytest.raises(InvalidInput) as caught:
            await feedback.submit_feedback(ctx, member_id, 3, text)
        assert caught.value.params["field"] == "text"
    assert await count(ctx, FeedbackRow) == 1


@pytest.mark.parametrize(
    "text",
    [
        "<b>*_</script>",
        "'; DROP TABLE feedback; --",
        "Robert'); DELETE FROM members WHERE ('1'='1",
        "100% _wild_ \\ 'quotes' \"double\" `tick` &amp; {field} ${x}",
    ],
)
async def test_hostile_text_is_stored_exactly_as_typed(ctx: Context, text: str) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")

    view = await feedback.submit_feedback(ctx, member_id, 3, text)

    async with ctx.db.read() as s:
        assert await s.scalar(select(FeedbackRow.text).where(FeedbackRow.id == view.id)) == text
    assert view.text == text
    assert [f.text for f in await feedback.member_feedback(ctx, member_id)] == [text]
    assert await count(ctx, FeedbackRow) == 1  # and the table is still there


async def test_about_own_sale(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    await loyalty.record_sale(
        ctx, store="riverside", receipt_no="R-77", member_id=member_id, amount_fen=3_800
    )

    view = await feedback.submit_feedback(
        ctx, member_id, 2, "the coffee was cold", store="riverside", receipt_no=" R-77 "
    )

    assert (view.store, view.receipt_no, view.category) == ("riverside", "R-77", "product")


async def test_a_sale_of_another_member_is_refused(ctx: Context) -> None:
    alice = await member(ctx, name="王小明", phone="13800000001")
    bob = await member(ctx, name="王小明", phone="13800000002")
    await loyalty.record_sale(ctx, store="main", receipt_no="R1", member_id=alice, amount_fen=100)

    # Refused exactly like a receipt that does not exist: Bob learns nothing about Alice.
    with pytest.raises(UnknownSale):
        await feedback.submit_feedback(ctx, bob, 1, "bad", store="main", receipt_no="R1")
    with pytest.raises(UnknownSale):
        await feedback.submit_feedback(ctx, bob, 1, "bad", store="main", receipt_no="R404")
    # The same receipt number in another store is not Alice's sale either.
    with pytest.raises(UnknownSale):
        await feedback.submit_feedback(ctx, alice, 1, "bad", store="riverside", receipt_no="R1")
    assert await count(ctx, FeedbackRow) == 0


async def test_receipt_needs_a_store_and_the_store_must_exist(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    with pytest.raises(InvalidInput) as caught:
        await feedback.submit_feedback(ctx, member_id, 3, "ok", receipt_no="R1")
    assert caught.value.params["field"] == "store"
    with pytest.raises(UnknownStore):
        await feedback.submit_feedback(ctx, member_id, 3, "ok", store="nowhere")


async def test_the_same_feedback_sent_twice_opens_one_case(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    first = await feedback.submit_feedback(ctx, member_id, 1, "太慢了", store="main")

    again = await feedback.submit_feedback(ctx, member_id, 1, "太慢了 ", store="main")
    assert again == first
    assert await count(ctx, FeedbackRow) == 1

    # Also without a store (NULL compares equal here).
    plain = await feedback.submit_feedback(ctx, member_id, 3, "ok")
    assert (await feedback.submit_feedback(ctx, member_id, 3, "ok")).id == plain.id
    assert await count(ctx, FeedbackRow) == 2

    # Another store, another rating, or much later: a new case.
    await feedback.submit_feedback(ctx, member_id, 1, "太慢了", store="riverside")
    await feedback.submit_feedback(ctx, member_id, 2, "太慢了", store="main")
    clock.advance(feedback.DUPLICATE_WINDOW + timedelta(seconds=1))
    await feedback.submit_feedback(ctx, member_id, 1, "太慢了", store="main")
    assert await count(ctx, FeedbackRow) == 5


# --- the staff queue ----------------------------------------------------------------------


async def test_low_ratings_are_urgent_and_come_first(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    texts = {}
    for rating, text in [(5, "great"), (2, "meh"), (4, "nice"), (1, "awful"), (3, "fine")]:
        view = await feedback.submit_feedback(ctx, member_id, rating, text, store="main")
        texts[text] = view
        clock.advance(timedelta(minutes=5))

    assert [texts[t].urgent for t in ("great", "meh", "nice", "awful", "fine")] == [
        False,
        True,
        False,
        True,
        False,
    ]
    queue = await feedback.open_feedback(ctx)
    assert [f.text for f in queue] == ["meh", "awful", "great", "nice", "fine"]
    assert [f.text for f in await feedback.open_feedback(ctx, limit=3)] == ["meh", "awful", "great"]


async def test_queue_by_store_and_without_answered_or_closed(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    staff_id = await new_staff(ctx)
    main = await feedback.submit_feedback(ctx, member_id, 3, "main one", store="main")
    river = await feedback.submit_feedback(ctx, member_id, 3, "river", store="riverside")
    nowhere = await feedback.submit_feedback(ctx, member_id, 3, "no store")
    answered = await feedback.submit_feedback(ctx, member_id, 3, "answered", store="main")
    closed = await feedback.submit_feedback(ctx, member_id, 3, "closed", store="main")
    await feedback.answer_feedback(ctx, answered.id, "thanks", staff_id=staff_id)
    await feedback.close_feedback(ctx, closed.id, staff_id=staff_id)

    assert [f.id for f in await feedback.open_feedback(ctx, "main")] == [main.id]
    assert [f.id for f in await feedback.open_feedback(ctx, "riverside")] == [river.id]
    assert [f.id for f in await feedback.open_feedback(ctx)] == [main.id, river.id, nowhere.id]
    assert [f.id for f in await feedback.open_feedback(ctx, "main", include_answered=True)] == [
        main.id,
        answered.id,
    ]
    with pytest.raises(UnknownStore):
        await feedback.open_feedback(ctx, "nowhere")
    with pytest.raises(ValueError):
        await feedback.open_feedback(ctx, limit=0)


# --- answering and closing ----------------------------------------------------------------


async def test_answer_queues_one_push_even_without_marketing_consent(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001", marketing_consent=False)
    staff_id = await new_staff(ctx)
    submitted = await feedback.submit_feedback(ctx, member_id, 1, "<b>cold</b> coffee")

    view = await feedback.answer_feedback(
        ctx, submitted.id, "  Sorry! Next one is on us.  ", staff_id=staff_id
    )

    assert (view.status, view.answer, view.answered_at) == (
        "answered",
        "Sorry! Next one is on us.",
        ctx.now(),
    )
    [push] = await answers_queued(ctx)
    assert (push.member_id, push.dedup_key, push.status) == (
        member_id,
        f"feedback:{submitted.id}:1",
        "pending",
    )
    assert push.params["answer"] == "Sorry! Next one is on us."
    assert push.params["excerpt"] == "<b>cold</b> coffee"
    async with ctx.db.read() as s:
        row = await s.get(FeedbackRow, submitted.id)
        assert row is not None and row.answered_by_staff_id == staff_id
    assert await count(ctx, AuditRow, AuditRow.action == "feedback.answered") == 1
    # The member sees the answer with their feedback.
    [mine] = await feedback.member_feedback(ctx, member_id)
    assert (mine.text, mine.answer) == ("<b>cold</b> coffee", "Sorry! Next one is on us.")


async def test_the_same_answer_twice_pushes_once_also_concurrently(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    staff_id = await new_staff(ctx)
    first = await feedback.submit_feedback(ctx, member_id, 2, "slow")
    second = await feedback.submit_feedback(ctx, member_id, 2, "noisy")

    await feedback.answer_feedback(ctx, first.id, "Sorry!", staff_id=staff_id)
    again = await feedback.answer_feedback(ctx, first.id, "Sorry! ", staff_id=staff_id)
    assert again.answer == "Sorry!"
    assert len(await answers_queued(ctx, first.id)) == 1

    views = await asyncio.gather(
        *(
            feedback.answer_feedback(ctx, second.id, "We'll fix it", staff_id=staff_id)
            for _ in range(8)
        )
    )
    assert {v.status for v in views} == {"answered"}
    assert [p.dedup_key for p in await answers_queued(ctx, second.id)] == [
        f"feedback:{second.id}:1"
    ]
    assert await count(ctx, AuditRow, AuditRow.action == "feedback.answered") == 2


async def test_a_follow_up_answer_is_pushed_and_replaces_the_shown_one(
    ctx: Context, clock: FixedClock
) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    staff_id = await new_staff(ctx)
    other_staff = await new_staff(ctx, "9002")
    submitted = await feedback.submit_feedback(ctx, member_id, 2, "stale bread")
    await feedback.answer_feedback(ctx, submitted.id, "Sorry, checking", staff_id=staff_id)
    clock.advance(timedelta(hours=1))

    view = await feedback.answer_feedback(
        ctx, submitted.id, "We changed our supplier", staff_id=other_staff
    )

    assert (view.answer, view.answered_at) == ("We changed our supplier", clock.now())
    pushes = await answers_queued(ctx, submitted.id)
    assert [(p.dedup_key, p.params["answer"]) for p in pushes] == [
        (f"feedback:{submitted.id}:1", "Sorry, checking"),
        (f"feedback:{submitted.id}:2", "We changed our supplier"),
    ]


async def test_answer_is_checked(ctx: Context) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    staff_id = await new_staff(ctx)
    submitted = await feedback.submit_feedback(ctx, member_id, 3, "ok")
    for answer in ["", "  ", "x" * (feedback.TEXT_MAX + 1)]:
        with pytest.raises(InvalidInput) as caught:
            await feedback.answer_feedback(ctx, submitted.id, answer, staff_id=staff_id)
        assert caught.value.params["field"] == "answer"
    with pytest.raises(InvalidInput) as caught:
        await feedback.answer_feedback(ctx, submitted.id, "hi", staff_id=staff_id + 100)
    assert caught.value.params["field"] == "staff_id"
    with pytest.raises(UnknownFeedback):
        await feedback.answer_feedback(ctx, submitted.id + 100, "hi", staff_id=staff_id)
    assert await answers_queued(ctx) == []
    assert (await feedback.get_feedback(ctx, submitted.id)).status == "open"


async def test_close_once_then_no_more_answers(ctx: Context, clock: FixedClock) -> None:
    member_id = await member(ctx, name="王小明", phone="13800000001")
    staff_id = await new_staff(ctx)
    submitted = await feedback.submit_feedback(ctx, member_id, 1, "rude cashier")
    await feedback.answer_feedback(ctx, submitted.id, "We are sorry", staff_id=staff_id)
    closed_at = clock.now() + timedelta(minutes=3)
    clock.set(closed_at)

    closed = await feedback.close_feedback(ctx, submitted.id, staff_id=staff_id)
    assert (closed.status, closed.closed_at, closed.answer) == ("closed", closed_at, "We are sorry")

    # Closing again (a double-pressed button) is a no-op keeping the first close.
    clock.advance(timedelta(minutes=1))
    again = await feedback.close_feedback(ctx, submitted.id, staff_id=staff_id)
    assert again == closed
    assert await count(ctx, AuditRow, AuditRow.action == "feedback.closed") == 1

    with pytest.raises(FeedbackClosed):
        await feedback.answer_feedback(ctx, submitted.id, "One more thing", staff_id=staff_id)
    assert len(await answers_queued(ctx)) == 1
    assert await feedback.open_feedback(ctx, include_answered=True) == []
    with pytest.raises(UnknownFeedback):
        await feedback.close_feedback(ctx, submitted.id + 1, staff_id=staff_id)


async def test_member_sees_own_feedback_newest_first(ctx: Context, clock: FixedClock) -> None:
    alice = await member(ctx, name="王小明", phone="13800000001")
    bob = await member(ctx, name="王小明", phone="13800000002")
    await feedback.submit_feedback(ctx, alice, 5, "first")
    clock.advance(timedelta(days=1))
    await feedback.submit_feedback(ctx, alice, 4, "second")
    await feedback.submit_feedback(ctx, bob, 3, "bob's")

    assert [f.text for f in await feedback.member_feedback(ctx, alice)] == ["second", "first"]
    assert [f.text for f in await feedback.member_feedback(ctx, bob)] == ["bob's"]
