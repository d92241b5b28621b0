"""Pushes to Telegram over real HTTP: the dispatcher's aiogram client against the fake Bot
API server, on the test's clock."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from bot.handlers.telegram import TelegramPushes
from bot.pushes import texts
from bot.pushes.dispatcher import PushDispatcher
from core.clock import FixedClock
from core.context import Context
from core.engagement import event_organising
from core.insights import campaigns
from core.insights.campaign_results import campaign_results
from core.insights.segments import Segment
from core.ledger.coupons import member_coupons
from core.people.members import update_member
from core.people.registration import register_member
from core.people.staff import add_staff
from core.pushes import birthdays, reminders, winback
from core.pushes.outbox import enqueue
from core.pushes.work_queue import Push, Recipient
from core.service import bookings
from storage import workers
from storage.session import Session
from tests.channels.fake_telegram import Call, FakeTelegram
from tests.channels.pushing import dispatcher, outbox
from tests.factories import sale

WINDOW = timedelta(seconds=1)


async def member(ctx: Context, chat: int, *, locale: str = "en", consent: bool = False) -> int:
    found = await register_member(
        ctx,
        name=f"Member {chat}",
        phone=f"139{chat:08d}",
        locale=locale,
        marketing_consent=consent,
        channel="telegram",
        external_id=str(chat),
    )
    return found.id


def sent(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.calls_to("sendMessage") if c.status == 200]


async def test_a_sale_sends_one_receipt_with_its_figures(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    buyer = await member(ctx, 5001)
    await sale(ctx, buyer, receipt="R-1", fen=123_456, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    tier, receipt = sent(fake_telegram)  # in the order of the outbox
    assert tier.params["text"].startswith("Congratulations, Member 5001: you are now Silver!")
    assert receipt.params["chat_id"] == 5001
    assert receipt.params["text"] == (
        "Thank you for your purchase at Flagship store: CN¥1,234.56 (receipt R-1).\n"
        "Points earned: 120. Balance: 120 points. Tier: Silver.\n"
        "Spend CN¥3,765.44 more within 12 months to reach Gold."
    )
    (row,) = await outbox(ctx, "receipt")
    assert (row.status, row.via, row.attempts) == ("sent", "telegram", 1)

    # the same receipt again: already recorded
    await sale(ctx, buyer, receipt="R-1", fen=123_456, notify=True)
    fake_telegram.clear()
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    assert sent(fake_telegram) == []


async def test_receipts_in_chinese_for_chinese_members(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    buyer = await member(ctx, 5002, locale="zh_CN")
    await sale(ctx, buyer, receipt="R-2", fen=9_900, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    (call,) = sent(fake_telegram)
    assert call.params["text"].startswith("感谢您在旗舰店消费 ¥99.00（小票 R-2）。")
    assert "12 个月内再消费 ¥901.00 即可升级为银卡。" in call.params["text"]


async def test_rate_limits_and_429_answers_are_obeyed(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """90 receipts: 60 members with one, 10 with three; Telegram answers 429 (retry after
    3 s) to three calls. Every receipt arrives once, never above 30 calls in any second (and
    evenly spaced) or twice within a second in one chat, and nothing is sent during a
    retry_after pause."""
    expected = Counter[tuple[int, str]]()
    for chat in range(6000, 6070):
        buyer = await member(ctx, chat)
        for n in range(3 if chat < 6010 else 1):
            await sale(ctx, buyer, receipt=f"R-{chat}-{n}", fen=1_000, notify=True)
            expected[(chat, f"R-{chat}-{n}")] += 1
    for _ in range(3):
        fake_telegram.fail_next("sendMessage", 429, retry_after=3)
    start = clock.now()

    await dispatcher(ctx, clock, {"telegram": sender}).drain()

    calls = fake_telegram.calls_to("sendMessage")
    delivered = Counter[tuple[int, str]]()
    for call in sent(fake_telegram):
        receipt = call.params["text"].split("(receipt ")[1].split(")")[0]
        delivered[(call.params["chat_id"], receipt)] += 1
    assert delivered == expected
    assert all(row.status == "sent" for row in await outbox(ctx))

    times = [c.at for c in calls if c.at is not None]
    assert len(times) == len(calls) == 93
    for t in times:
        assert sum(1 for u in times if t <= u < t + WINDOW) <= 30
    assert all(b - a >= timedelta(seconds=1 / 30) for a, b in itertools.pairwise(sorted(times)))
    by_chat: dict[int, list[datetime]] = {}
    for call in calls:
        assert call.at is not None
        by_chat.setdefault(call.params["chat_id"], []).append(call.at)
    for moments in by_chat.values():
        assert all(b - a >= WINDOW for a, b in itertools.pairwise(moments))
    refused = [c for c in calls if c.status == 429]
    assert len(refused) == 3
    for call in refused:
        assert call.at is not None
        assert not [c for c in calls if call.at < c.at < call.at + timedelta(seconds=3)]
    assert clock.now() - start >= timedelta(seconds=9)  # three pauses of 3 s at least


async def test_a_blocked_bot_makes_the_account_unreachable(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    buyer = await member(ctx, 5003)
    fake_telegram.block(5003)
    await sale(ctx, buyer, receipt="R-3", fen=1_000, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    (row,) = await outbox(ctx, "receipt")
    assert (row.status, row.last_error) == ("skipped", "no reachable chat account")
    assert sent(fake_telegram) == []
    # not tried again: nothing reaches a blocked chat
    await sale(ctx, buyer, receipt="R-4", fen=1_000, notify=True)
    fake_telegram.clear()
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    assert fake_telegram.calls_to("sendMessage") == []


async def test_server_errors_are_retried_with_a_growing_wait(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    buyer = await member(ctx, 5004)
    for _ in range(2):
        fake_telegram.fail_next("sendMessage", 500)
    await sale(ctx, buyer, receipt="R-5", fen=1_000, notify=True)
    start = clock.now()
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    calls = fake_telegram.calls_to("sendMessage")
    assert [c.status for c in calls] == [500, 500, 200]
    assert [c.at - start for c in calls if c.at] == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(seconds=90),
    ]
    (row,) = await outbox(ctx, "receipt")
    assert (row.status, row.attempts) == ("sent", 3)


async def test_a_message_telegram_refuses_for_good_is_not_retried(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    buyer = await member(ctx, 5005)
    fake_telegram.fail_next("sendMessage", 400, "Bad Request: message is too long")
    await sale(ctx, buyer, receipt="R-6", fen=1_000, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    assert len(fake_telegram.calls_to("sendMessage")) == 1
    (row,) = await outbox(ctx, "receipt")
    assert row.status == "failed"
    assert "message is too long" in (row.last_error or "")


class Stalling:
    """Sends, then hangs before the dispatcher can mark the row sent — until cancelled."""

    def __init__(self, inner: TelegramPushes, after: int) -> None:
        self.inner, self.after, self.sends = inner, after, 0
        self.stalled = asyncio.Event()

    async def send(
        self, recipient: Recipient, message: texts.Message, via: str, push: Push
    ) -> None:
        await self.inner.send(recipient, message, via, push)
        self.sends += 1
        if self.sends == self.after:
            self.stalled.set()
            await asyncio.Event().wait()  # the process dies here


async def test_a_dead_dispatchers_claims_are_taken_over_within_seconds_resending_only_one(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """The first dispatcher (another process: its own engine, its own worker) claims all
    ten, sends three and dies sending the fourth. Once its lease has run out — seconds, not
    the minutes a claim used to be held — the next one sends the other seven, and only the
    one that was in flight goes twice."""
    for chat in range(7000, 7010):
        await sale(ctx, await member(ctx, chat), receipt=f"R-{chat}", fen=1_000, notify=True)
    other = replace(ctx, db=type(ctx.db)(ctx.db.url.render_as_string(hide_password=False)))
    try:
        stalling = Stalling(sender, after=4)
        first = dispatcher(other, clock, {"telegram": stalling})
        task = asyncio.create_task(first.run())
        await stalling.stalled.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await other.db.dispose()
    sent_before = [row.id for row in await outbox(ctx) if row.status == "sent"]
    assert len(sent_before) == 3

    await dispatcher(ctx, clock, {"telegram": sender}).round()
    assert len(sent(fake_telegram)) == 4  # its lease still runs: its claims are its own

    clock.advance(workers.LEASE)  # the dead one's lease has run out
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    chats = Counter(c.params["chat_id"] for c in sent(fake_telegram))
    assert set(chats) == set(range(7000, 7010))
    assert sorted(chats.values()) == [1] * 9 + [2]  # only the one in flight went twice
    assert chats[7003] == 2
    assert all(row.status == "sent" for row in await outbox(ctx))


async def test_two_dispatchers_send_each_of_2000_rows_once(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """Two dispatchers, each with its own database engine as two processes would have, drain
    one outbox (on PostgreSQL they claim with FOR UPDATE SKIP LOCKED)."""
    members = [await member(ctx, chat) for chat in range(8000, 8200)]
    async with ctx.db.transaction() as s:
        for n in range(2000):
            await receipt_row(s, ctx, members[n % 200], n)
    other = replace(ctx, db=type(ctx.db)(ctx.db.url.render_as_string(hide_password=False)))
    try:
        one = PushDispatcher(ctx, {"telegram": sender}, batch=50, telegram_limit=False)
        two = PushDispatcher(other, {"telegram": sender}, batch=50, telegram_limit=False)
        handled = await asyncio.gather(one.drain(), two.drain())
    finally:
        await other.db.dispose()
    assert sum(handled) == 2000
    assert all(handled), "both dispatchers took rows"
    receipts = Counter(c.params["text"].split("receipt ")[1] for c in sent(fake_telegram))
    assert len(receipts) == 2000
    assert set(receipts.values()) == {1}
    assert {row.status for row in await outbox(ctx)} == {"sent"}


async def receipt_row(s: Session, ctx: Context, member_id: int, n: int) -> None:
    await enqueue(
        s,
        now=ctx.now(),
        member_id=member_id,
        marketing_consent=False,
        kind="receipt",
        dedup_key=f"test:{n}",
        params={
            "store": "main",
            "receipt_no": f"N-{n})",
            "amount_fen": 100,
            "points": 0,
            "balance": 0,
            "tier": "member",
        },
    )


async def test_opted_out_members_get_the_receipt_but_no_birthday_or_winback(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """Both members were born today and last bought 200 days ago (dormant); only the one who
    accepted marketing is wished and won back. Running the jobs again, and once more on a
    fresh context as after a restart, sends nothing more."""
    today = ctx.today()
    born = f"1990-{today.month:02d}-{today.day:02d}"
    ids = {}
    for chat, consent in ((9101, True), (9102, False)):
        found = await register_member(
            ctx,
            name=f"Member {chat}",
            phone=f"139{chat:08d}",
            locale="en",
            birthday=born,
            marketing_consent=consent,
            channel="telegram",
            external_id=str(chat),
        )
        ids[chat] = found.id
        await sale(ctx, found.id, receipt=f"OLD-{chat}", fen=500, days_ago=200, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()  # the old receipts
    fake_telegram.clear()

    for run in (ctx, ctx, replace(ctx, shop=ctx.shop)):
        await birthdays.wish_birthdays(run)
        await winback.win_back(run)
        await dispatcher(run, clock, {"telegram": sender}).drain()
    await sale(ctx, ids[9102], receipt="NEW-9102", fen=500, notify=True)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()

    by_chat: dict[int, list[str]] = {}
    for call in sent(fake_telegram):
        by_chat.setdefault(call.params["chat_id"], []).append(call.params["text"])
    wished, won_back = by_chat[9101]
    assert wished.startswith("Happy birthday, Member 9101!")
    assert "A gift for you: ¥10 voucher (CN¥10.00), code " in wished
    assert wished.endswith("Do not want offers? My profile → marketing messages: off.")
    assert won_back.startswith("Member 9101, we miss you! It has been 200 days")
    (receipt,) = by_chat[9102]
    assert receipt.startswith("Thank you for your purchase at Flagship store: CN¥5.00")


async def test_a_campaign_with_a_coupon_reaches_its_members(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """The campaign's text travels as the push's ``message``: it once clashed with
    gettext's own argument of that name, and every campaign with a coupon failed."""
    await member(ctx, 9201, consent=True)
    owner = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    await campaigns.create_and_send(
        ctx,
        staff=owner,
        segment=Segment(),
        message="Spring tasting on Saturday!",
        reward="coupon10",
        store=None,
        holdout_percent=0,
    )
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    (call,) = sent(fake_telegram)
    text = call.params["text"]
    assert text.startswith("Spring tasting on Saturday!\nYour coupon: ¥10 voucher (CN¥10.00)")
    assert [row.status for row in await outbox(ctx, "campaign")] == ["sent"]


async def test_marketing_queued_before_consent_was_withdrawn_is_not_sent(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """Queued at 22:00 (quiet hours: it waits for 09:00); at 23:00 the member turns offers
    off. At 09:00 nothing goes, and the row says why."""
    who = await member(ctx, 9202, consent=True)
    owner = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    clock.set(clock.now().astimezone(ctx.zone).replace(hour=22))
    await campaigns.create_and_send(
        ctx,
        staff=owner,
        segment=Segment(),
        message="Big sale!",
        reward=None,
        store=None,
        holdout_percent=0,
    )
    await dispatcher(ctx, clock, {"telegram": sender}).round()  # waits for the morning
    clock.advance(timedelta(hours=1))
    await update_member(ctx, who, actor="member", marketing_consent=False)
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    assert sent(fake_telegram) == []
    (row,) = await outbox(ctx, "campaign")
    assert (row.status, row.last_error) == ("skipped", "marketing consent withdrawn")


async def test_a_reminder_that_waited_is_not_sent_once_it_no_longer_holds(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """Day-before reminders queued on Monday and sent only on Tuesday at 11:30 (as after
    waiting for WeChat's window): one booking was cancelled meanwhile, one visit has begun,
    and the others' day has come ("tomorrow" would be wrong). None of them goes; the
    hours-before reminder queued then does."""
    monday = clock.now().astimezone(ctx.zone).replace(hour=9)
    tuesday = monday + timedelta(days=1)
    clock.set(monday)
    plans = {}
    for chat, hour in ((9301, 15), (9302, 11), (9303, 20), (9304, 13)):
        who = await member(ctx, chat)
        plans[chat] = await bookings.book(ctx, who, "main", tuesday.replace(hour=hour), 1)
    clock.set(monday.replace(hour=10, minute=30))  # after the day-before moment (10:00)
    assert await reminders.remind_bookings(ctx) == 4
    await bookings.cancel(ctx, plans[9301].member_id, plans[9301].id)

    clock.set(tuesday.replace(hour=11, minute=30))
    assert await reminders.remind_bookings(ctx) == 1  # 13:00's, two hours before
    await dispatcher(ctx, clock, {"telegram": sender}).drain()

    (call,) = sent(fake_telegram)
    assert call.params["chat_id"] == 9304
    rows = {
        (r.dedup_key.split(":")[2], r.status, r.last_error)
        for r in await outbox(ctx, "booking_reminder")
    }
    assert rows == {
        ("day_before", "skipped", "outdated: cancelled, begun or past its day"),
        ("hours_before", "sent", None),
    }


async def test_campaign_results_and_coupons_follow_what_was_delivered(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """Seen: members skipped after queueing (opted out, blocked) were counted as reached
    and kept the coupon; /stats said "reached 24" where 21 got it. Now a member whose
    campaign message was given up has no coupon and is not counted as reached."""
    kept, opted_out, blocked = [await member(ctx, chat, consent=True) for chat in (71, 72, 73)]
    owner = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    clock.set(clock.now().astimezone(ctx.zone).replace(hour=22))  # waits for the morning
    result = await campaigns.create_and_send(
        ctx,
        staff=owner,
        segment=Segment(),
        message="Big sale!",
        reward="coupon10",
        store=None,
        holdout_percent=0,
    )
    assert (result.reached, result.coupons) == (3, 3)
    await update_member(ctx, opted_out, actor="member", marketing_consent=False)
    fake_telegram.block(73)
    clock.advance(timedelta(hours=12))
    await dispatcher(ctx, clock, {"telegram": sender}).drain()

    assert [int(c.params["chat_id"]) for c in sent(fake_telegram)] == [71]
    assert [len(await member_coupons(ctx, m)) for m in (kept, opted_out, blocked)] == [
        1,
        0,
        0,
    ]
    day = clock.now().astimezone(ctx.zone).date()
    (figures,) = await campaign_results(ctx, store=None, start=day - timedelta(days=1), end=day)
    assert (figures.reached, figures.coupons_issued) == (1, 1)
    assert [(g.group, g.members) for g in figures.groups] == [("a", 1)]


async def test_a_new_event_is_news_to_the_members_who_may_join(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    """ "We will let you know!" holds: a member who accepted offers and news hears of the
    new event; one who did not hears nothing."""
    await member(ctx, 9301, consent=True)
    await member(ctx, 9302, consent=False)
    owner = await add_staff(ctx, channel="console", external_id="boss", role="owner", store=None)
    starts = clock.now().astimezone(ctx.zone).replace(hour=19, minute=0) + timedelta(days=3)
    await event_organising.create_event(
        ctx,
        owner,
        event_organising.EventDraft(
            title="品鉴会",
            title_en="Tasting evening",
            store="main",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            capacity=8,
            points=0,
        ),
    )
    clock.set(clock.now().astimezone(ctx.zone).replace(hour=12))
    await dispatcher(ctx, clock, {"telegram": sender}).drain()
    (call,) = sent(fake_telegram)
    assert call.params["chat_id"] in (9301, "9301")
    assert call.params["text"].startswith("New for members like you: Tasting evening, ")
