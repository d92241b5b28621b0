"""A person when asked, in both languages, through the real engine: a member opens a chat
with staff (人工客服 / "talk to a human"); their messages reach the staff of their store as
outbox pushes with Answer and Close; a staff answer is shown back and sent only when
confirmed, and reaches the member; the member ends the chat or staff close it. Outside
opening hours the member is told when someone will reply."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.dialogs.engine.dialogs import Dialogs, Turn
from bot.dialogs.engine.types import Event, Reply, Sender
from bot.dialogs.staff.handoff import handoff_reply
from bot.i18n import format_moment, localized
from bot.pushes import texts
from core.clock import FixedClock
from core.context import Context
from core.people.erasure import delete_member
from core.people.members import MemberView
from core.people.staff import StaffView, add_staff
from core.pushes import work_queue
from core.service import handoff
from storage.models import AuditRow, HandoffMessageRow, OutboxRow
from tests import factories
from tests.channels.test_erasure import dump, mentions
from tests.dialogs.conftest import hinted, press, say, t

LOCALES = pytest.mark.parametrize("locale", ["zh_CN", "en"])
ASK = {"zh_CN": "我要转人工客服", "en": "I want to talk to a human"}
END = {"zh_CN": "结束", "en": "end chat"}
QUESTION = {"zh_CN": "我的积分为什么少了200？", "en": "Why are 200 of my points gone?"}
ANSWER = {"zh_CN": "您好，那是上周的退款扣回的积分。", "en": "Hello, that was last week's refund."}


async def member(ctx: Context, locale: str, home_store: str | None = "main") -> MemberView:
    return await factories.registered(
        ctx, name="王芳", user="wang", locale=locale, home_store=home_store
    )


async def clerk(ctx: Context, user: str, store: str | None, locale: str) -> StaffView:
    staff = await add_staff(
        ctx, channel="console", external_id=user, role="clerk", store=store, locale=locale
    )
    return staff


async def pushes(ctx: Context, kind: str) -> list[OutboxRow]:
    async with ctx.db.read() as s:
        query = select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id)
        return list(await s.scalars(query))


async def rendered(ctx: Context, kind: str) -> dict[int | None, list[Reply]]:
    """The due pushes of ``kind`` as the dispatcher words them, by staff (or None: member)."""
    found: dict[int | None, list[Reply]] = {}
    for push in await work_queue.claim(ctx, 50):
        if push.kind == kind:
            message = await texts.render(ctx, push, push.recipients[0])
            found.setdefault(push.staff_id, []).extend(message.replies)
    return found


@LOCALES
async def test_member_reaches_staff_and_gets_the_confirmed_answer(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    wang = await member(ctx, locale)
    main = await clerk(ctx, "clerk", "main", locale)
    await clerk(ctx, "river", "riverside", locale)  # another store: not told

    (opened,) = await say(dialogs, ASK[locale], user="wang")
    assert opened.text.startswith(
        t(
            locale,
            "You are now chatting with our staff: write your message here and they will "
            "answer in this chat.",
        )
    )
    assert t(locale, "To end the chat, send \u201cend chat\u201d or tap the button.") in (
        opened.text.splitlines()
    )
    assert [b.label for b in opened.choices] == [t(locale, "End chat")]

    (sent,) = await say(dialogs, QUESTION[locale], user="wang")
    assert sent.text == t(locale, "Sent to our staff.")
    (picture,) = await say(dialogs, user="wang", media="image")
    assert picture.text == t(locale, "Sent to our staff.")

    forwarded = await rendered(ctx, handoff.STAFF_PUSH)
    assert list(forwarded) == [main.id]  # only the member's store's staff
    ask, question, image = forwarded[main.id]  # the asking words first: someone waits
    assert ask.text.splitlines()[-1] == ASK[locale]
    assert question.text.splitlines()[-1] == QUESTION[locale]
    assert "王芳" in question.text.splitlines()[0]
    assert image.text.splitlines()[-1] == "[image]"

    # The clerk answers from the pushed message: typed, shown back, sent once confirmed.
    (asked,) = await say(
        dialogs, payload=press(question, t(locale, "Answer")), user="clerk", lang=locale
    )
    assert asked.text == hinted(
        locale,
        t(
            locale,
            "Type your answer to {member} (at most {max} characters). You will see it again "
            "before it is sent.",
            member="王芳",
            max=handoff.TEXT_MAX,
        ),
    )
    (check,) = await say(dialogs, ANSWER[locale], user="clerk", lang=locale)
    assert check.text == hinted(
        locale, t(locale, "Send this to {member}?", member="王芳") + "\n\n" + ANSWER[locale]
    )
    assert await pushes(ctx, handoff.ANSWER_PUSH) == []  # nothing goes before confirming
    (done,) = await say(dialogs, payload=press(check, t(locale, "Send")), user="clerk", lang=locale)
    assert done.text == t(locale, "Your answer was sent to {member}.", member="王芳")
    (again,) = await say(
        dialogs, payload=press(check, t(locale, "Send")), user="clerk", lang=locale
    )
    assert again.text == t(locale, "This button is no longer valid; nothing more was done.")
    assert len(await pushes(ctx, handoff.ANSWER_PUSH)) == 1  # a double tap sends once

    (answer,) = (await rendered(ctx, handoff.ANSWER_PUSH))[None]
    assert answer.text == t(locale, "Message from our staff:\n{answer}", answer=ANSWER[locale])
    assert [b.label for b in answer.choices] == [t(locale, "Reply")]

    # The member ends the chat; staff's buttons then say so.
    (ended,) = await say(dialogs, END[locale], user="wang")
    assert ended.text == t(locale, "The chat with our staff has ended. Thank you!")
    assert await handoff.open_handoff_of(ctx, wang.id) is None
    (late,) = await say(
        dialogs, payload=press(question, t(locale, "Answer")), user="clerk", lang=locale
    )
    assert late.text == t(locale, "This chat has been closed; nothing was sent.")
    (menu,) = await say(dialogs, QUESTION[locale], user="wang")  # no longer forwarded
    assert len(await pushes(ctx, handoff.STAFF_PUSH)) == 3
    assert menu.text != t(locale, "Sent to our staff.")


@LOCALES
async def test_staff_list_and_close_and_the_member_is_told(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    wang = await member(ctx, locale, home_store=None)  # no home store: every store's staff
    await clerk(ctx, "clerk", "riverside", locale)
    await say(dialogs, "人工客服" if locale == "zh_CN" else "customer service", user="wang")
    await say(dialogs, QUESTION[locale], user="wang")

    (listing,) = await say(dialogs, "/handoff", user="clerk", lang=locale)
    assert listing.text.splitlines()[0] == t(
        locale, "Members waiting to chat with staff ({count}):", count=1
    )
    assert QUESTION[locale][:20] in listing.text
    (shown,) = await say(dialogs, payload=press(listing, "王芳"), user="clerk", lang=locale)
    assert QUESTION[locale] in shown.text
    (closed,) = await say(
        dialogs, payload=press(shown, t(locale, "Close chat")), user="clerk", lang=locale
    )
    assert closed.text == t(locale, "The chat with {member} is closed.", member="王芳")
    (told,) = (await rendered(ctx, handoff.CLOSED_PUSH))[None]
    assert [b.label for b in told.choices] == [t(locale, "Talk to a person")]

    (after,) = await say(dialogs, "还在吗" if locale == "zh_CN" else "hello?", user="wang")
    assert after.text == t(
        locale,
        "Our staff have closed this chat, so your message was not sent. To talk to a "
        "person again, tap the button.",
    )
    (empty,) = await say(dialogs, "/handoff", user="clerk", lang=locale)
    assert empty.text == t(locale, "No member is waiting to chat with staff.")
    async with ctx.db.read() as s:
        actions = list(
            await s.scalars(select(AuditRow.action).where(AuditRow.member_id == wang.id))
        )
    assert {"handoff.opened", "handoff.closed"} <= set(actions)


@LOCALES
async def test_outside_opening_hours_the_member_is_told_when_someone_replies(
    ctx: Context, dialogs: Dialogs, clock: FixedClock, locale: str
) -> None:
    await member(ctx, locale)
    clock.set(factories.shop_time(5, 22))  # Monday 22:00: the flagship store opens at 10:00
    (opened,) = await say(dialogs, "/human", user="wang")
    store = ctx.shop.store("main")
    assert store is not None
    opens = format_moment(factories.shop_time(6, 10), locale, ctx.zone)
    assert opened.text.splitlines()[-1] == t(
        locale,
        "Our staff are not in right now: {store} opens {moment}, and someone will reply "
        "to you then.",
        store=localized(store.name, store.name_en, locale),
        moment=opens,
    )
    # Asking again continues the same chat.
    (again,) = await say(dialogs, "/human", user="wang")
    assert again.text.startswith(
        t(locale, "Your chat with our staff is still open: write your message here.")
    )


@LOCALES
async def test_the_message_that_asks_reaches_staff_with_its_words(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    """ "转人工，我的积分不对" opens the chat and is its first message: staff learn at once
    that someone waits, and what about; a command or a button carries no words to pass on."""
    wang = await member(ctx, locale)
    main = await clerk(ctx, "clerk", "main", locale)
    asking = {"zh_CN": "转人工，我的积分不对", "en": "talk to a human, my points are wrong"}
    (opened,) = await say(dialogs, asking[locale], user="wang")
    assert t(locale, "Your message was passed on to them.") in opened.text.splitlines()
    (pushed,) = (await rendered(ctx, handoff.STAFF_PUSH))[main.id]
    assert pushed.text.splitlines()[-1] == asking[locale]
    view = await handoff.open_handoff_of(ctx, wang.id)
    assert view is not None and [m.text for m in view.messages] == [asking[locale]]

    await say(dialogs, END[locale], user="wang")
    (by_command,) = await say(dialogs, "/human", user="wang")
    assert t(locale, "Your message was passed on to them.") not in by_command.text.splitlines()
    again = await handoff.open_handoff_of(ctx, wang.id)
    assert again is not None and again.messages == ()


@LOCALES
async def test_member_lookup_shows_an_open_chat_and_opens_it(
    ctx: Context, dialogs: Dialogs, locale: str
) -> None:
    wang = await member(ctx, locale)
    await clerk(ctx, "clerk", "main", locale)
    await clerk(ctx, "river", "riverside", locale)
    (before,) = await say(dialogs, f"/member {wang.member_no}", user="clerk", lang=locale)
    assert before.choices == []
    await say(dialogs, "/human", user="wang")
    await say(dialogs, QUESTION[locale], user="wang")
    view = await handoff.open_handoff_of(ctx, wang.id)
    assert view is not None

    (card,) = await say(dialogs, f"/member {wang.member_no}", user="clerk", lang=locale)
    waiting = t(
        locale,
        "Waiting to chat with staff since {moment}: {last}",
        moment=format_moment(view.opened_at, locale, ctx.zone),
        last=QUESTION[locale],
    )
    assert card.text.splitlines()[-1] == waiting
    (shown,) = await say(
        dialogs, payload=press(card, t(locale, "Open chat")), user="clerk", lang=locale
    )
    assert shown.text.splitlines()[-1].endswith(f"王芳: {QUESTION[locale]}")
    assert [b.label for b in shown.choices][:2] == [t(locale, "Answer"), t(locale, "Close chat")]
    # A clerk of another store sees that the member waits, without a button to the chat.
    (other,) = await say(dialogs, f"/member {wang.member_no}", user="river", lang=locale)
    assert other.text.splitlines()[-1] == waiting
    assert other.choices == []


async def test_open_hours_say_nothing_of_waiting(ctx: Context, dialogs: Dialogs) -> None:
    await member(ctx, "en")
    (opened,) = await say(dialogs, "talk to a human", user="wang")
    assert "right now" not in opened.text


async def test_an_erased_message_is_not_pushed(ctx: Context, dialogs: Dialogs) -> None:
    wang = await member(ctx, "en")
    await clerk(ctx, "clerk", "main", "en")
    await say(dialogs, "/human", user="wang")
    await say(dialogs, "my secret", user="wang")
    async with ctx.db.transaction() as s:
        assert await handoff.erase_member(s, wang.id) == ["my secret"]
        assert list(await s.scalars(select(HandoffMessageRow.text))) == [""]
    view = await handoff.open_handoff_of(ctx, wang.id)
    assert view is not None
    turn = Turn(ctx, Event(Sender("console", "clerk")), None, None, "en")  # type: ignore[arg-type]
    with pytest.raises(Exception, match="unknown_handoff"):
        handoff_reply(turn, view, view.messages[0].id)


async def test_deleting_the_member_leaves_none_of_the_chat(ctx: Context, dialogs: Dialogs) -> None:
    """Both sides' words, in every table (pushes sent and unsent, stored replies, the
    staff member's conversation), are gone once the member deletes their data."""
    wang = await member(ctx, "zh_CN")
    main = await clerk(ctx, "clerk", "main", "zh_CN")
    await say(dialogs, "转人工，我的账户", user="wang")
    await say(dialogs, QUESTION["zh_CN"], user="wang")
    _, pushed = (await rendered(ctx, handoff.STAFF_PUSH))[main.id]
    await say(dialogs, payload=press(pushed, t("zh_CN", "Answer")), user="clerk")
    (check,) = await say(dialogs, ANSWER["zh_CN"], user="clerk")
    await say(dialogs, payload=press(check, t("zh_CN", "Send")), user="clerk")
    await say(dialogs, payload=press(pushed, t("zh_CN", "Answer")), user="clerk")
    await say(dialogs, "还有别的问题吗", user="clerk")  # a second answer, shown, not sent
    words = ["转人工，我的账户", QUESTION["zh_CN"], ANSWER["zh_CN"], "还有别的问题吗"]
    assert mentions(await dump(ctx.db), words)

    await delete_member(ctx, wang.id, actor="member")

    assert mentions(await dump(ctx.db), words) == []
    async with ctx.db.read() as s:
        kept = list(await s.scalars(select(HandoffMessageRow.author)))
    assert kept == ["member", "member", "staff"]  # who wrote when stays, for the history's figures
