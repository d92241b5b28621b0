"""Deleting one's data erases it everywhere: after a member who used WeChat and Telegram,
bought, redeemed, booked, wrote feedback that staff answered, checked in and invited a
friend deletes themselves through the dialog, no table holds their name, phone, birthday,
chat ids or words. Every table of the schema is read, not a list of the expected ones."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Reply
from bot.dialogs.registry import create_dialogs
from bot.handlers.wechat_api import WeChatAPI
from bot.i18n import LOCALES, format_day, gettext
from bot.pushes.wechat import WeChatPushes
from bot.scheduler import prune_job
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.engagement import referrals
from core.engagement.checkins import check_in
from core.insights.stats import shop_stats
from core.ledger.coupons import redeem_reward
from core.oversight.approvals import request_adjustment
from core.people.erasure import delete_member, remove_staff
from core.people.members import create_link_code, member_for_identity
from core.people.registration import register_member
from core.people.staff import add_staff
from core.pushes.late_replies import send_later
from core.service import bookings
from core.service.feedback import answer_feedback, submit_feedback
from storage.db import Database
from storage.models import Base, IdentityRow, MemberRow, OutboxRow, SaleRow
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.pushing import dispatcher
from tests.channels.wechat_sim import WeChatSimulator, links
from tests.conftest import START
from tests.dialogs.conftest import say

OPENID = "o-erase-HanMeimei-000000001"
TELEGRAM_ID = "7700123456"
CLERK_OPENID = "o-erase-clerk-0000000000001"
OWNER_TELEGRAM = "5550001"
NAME, PHONE, BIRTHDAY = "韩梅梅", "13912345678", "1990-05-17"
FEEDBACK = "汤太咸了，服务员小王态度冷淡"
ANSWER = "非常抱歉，韩女士，下次到店送您一份甜品"
NOTE = "靠窗的位置，我们带着婴儿车"
REASON = "补偿上次打翻的汤"


def zh(message: str, **params: object) -> str:
    return gettext("zh_CN", message, **params)


async def tap(wechat: WeChatSimulator, openid: str, content: str, label: str) -> str:
    """Tap the numbered link ``label`` of a reply, as WeChat sends it; the next reply."""
    return (await wechat.text(openid, label, bizmsgmenuid=links(content)[label])).content


async def register_on_wechat(wechat: WeChatSimulator, openid: str, name: str, phone: str) -> str:
    welcome = (await wechat.event(openid, "subscribe")).content
    await tap(wechat, openid, welcome, zh("Agree"))
    await wechat.text(openid, name)
    await wechat.text(openid, phone)
    summary = (await wechat.text(openid, BIRTHDAY)).content
    return await tap(wechat, openid, summary, zh("Confirm"))


async def delete_on_wechat(wechat: WeChatSimulator, openid: str) -> str:
    profile = (await wechat.text(openid, "/profile")).content
    sure = await tap(wechat, openid, profile, zh("Delete my data"))
    final = await tap(wechat, openid, sure, zh("Yes, delete"))
    return await tap(wechat, openid, final, zh("Delete everything"))


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def dump(db: Database) -> dict[str, list[str]]:
    """Every row of every table of the schema, each as one line of text."""
    tables: dict[str, list[str]] = {}
    async with db.read() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).all()
            tables[table.name] = [" | ".join(_text(v) for v in row) for row in rows]
    return tables


def mentions(tables: dict[str, list[str]], needles: list[str]) -> list[str]:
    return [
        f"{name}: {row}"
        for name, rows in tables.items()
        for row in rows
        if any(needle in row for needle in needles)
    ]


async def send_wechat_pushes(ctx: Context, clock: FixedClock, fake: FakeWeChat) -> None:
    api = WeChatAPI(ctx.db, ctx.clock, app_id="wx1", app_secret="s", base_url=fake.base_url)
    try:
        pushes = dispatcher(ctx, clock, {"wechat": WeChatPushes(ctx, api)})
        while await pushes.round():  # what is due now; reminders wait for their day
            pass
    finally:
        await api.close()


async def test_a_deleted_member_leaves_nothing_personal_in_any_table(
    ctx: Context, clock: FixedClock, fake_wechat: FakeWeChat, wechat: WeChatSimulator
) -> None:
    dialogs: Dialogs = create_dialogs(ctx)
    clerk = await add_staff(
        ctx, channel="wechat", external_id=CLERK_OPENID, role="clerk", store="main", name="小王"
    )
    await add_staff(ctx, channel="telegram", external_id=OWNER_TELEGRAM, role="owner", store=None)
    manager = await add_staff(
        ctx, channel="telegram", external_id="5550002", role="manager", store="main"
    )

    # Registered on WeChat (name, phone, birthday), then linked on Telegram.
    joined = await register_on_wechat(wechat, OPENID, NAME, PHONE)
    assert NAME in joined
    member = await member_for_identity(ctx, "wechat", OPENID)
    assert member is not None
    code = await create_link_code(ctx, member.id)
    (linked,) = await say(dialogs, user=TELEGRAM_ID, channel="telegram", start=f"link-{code.code}")
    assert NAME in linked.text
    (points,) = await say(dialogs, "/points", user=TELEGRAM_ID, channel="telegram")
    assert points.text
    profile = (await wechat.text(OPENID, "/profile")).content
    assert NAME in profile

    # A friend joins with their invite code; that friend's data must stay.
    invite = await referrals.invite_code(ctx, member.id)
    friend = await register_member(
        ctx,
        name="李雷",
        phone="13800001111",
        channel="telegram",
        external_id="7700999888",
        invite_code=invite.code,
    )

    # Bought, redeemed, booked, checked in, points adjusted by a manager.
    await loyalty.record_sale(
        ctx,
        store="main",
        receipt_no="E-1",
        member_id=member.id,
        amount_fen=150_000,
        staff_id=clerk.id,
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="F-1", member_id=friend.id, amount_fen=30_000
    )
    await redeem_reward(ctx, member.id, "coupon10")
    slot = datetime.combine(START.date() + timedelta(days=2), datetime.min.time(), START.tzinfo)
    await bookings.book(ctx, member.id, "main", slot.replace(hour=12), party_size=2, note=NOTE)
    await check_in(ctx, member.id)
    await request_adjustment(ctx, manager, member.id, 5000, REASON)

    # Feedback, answered by the clerk, who looked the member up over WeChat first.
    feedback = await submit_feedback(ctx, member.id, 1, FEEDBACK, store="main")
    looked_up = (await wechat.text(CLERK_OPENID, f"/member {PHONE}")).content
    assert NAME in looked_up
    await wechat.text(CLERK_OPENID, "/feedback")
    await answer_feedback(ctx, feedback.id, ANSWER, staff_id=clerk.id)
    await say(dialogs, "/alerts", user=OWNER_TELEGRAM, channel="telegram")
    await say(dialogs, "/member", user=OWNER_TELEGRAM, channel="telegram")
    await say(dialogs, PHONE, user=OWNER_TELEGRAM, channel="telegram")  # mid-flow when erased
    await send_wechat_pushes(ctx, clock, fake_wechat)  # the receipt and the answer go out

    before = await dump(ctx.db)
    shown_birthday = [format_day(date.fromisoformat(BIRTHDAY), lang) for lang in LOCALES]
    needles = [NAME, PHONE, BIRTHDAY, *shown_birthday, OPENID, TELEGRAM_ID]
    needles += [FEEDBACK, ANSWER, NOTE, REASON]
    stored = {m.split(":")[0] for m in mentions(before, needles)}
    assert {"audit_log", "outbox", "inbound_deliveries", "channel_identities"} <= stored
    async with ctx.db.read() as s:
        sent = await s.scalars(select(OutboxRow.kind).where(OutboxRow.status == "sent"))
        assert {"receipt", "feedback_answer"} <= set(sent)
    unseen = {n for n in needles if not mentions(before, [n])}
    assert unseen == {format_day(date.fromisoformat(BIRTHDAY), "en")}  # all else was stored
    async with ctx.db.read() as s:
        sales_before = list(await s.execute(select(SaleRow.amount_fen, SaleRow.member_id)))
    today = START.date()
    stats_before = await shop_stats(ctx, store=None, start=today, end=today)

    goodbye = await delete_on_wechat(wechat, OPENID)
    assert goodbye == zh(
        "Your data has been deleted. Thank you for having been with us; you are welcome "
        "back any time."
    )

    after = await dump(ctx.db)
    assert mentions(after, needles) == [], "\n".join(mentions(after, needles))
    # The friend, the staff and the figures are untouched.
    for kept in ["李雷", "13800001111", "7700999888", CLERK_OPENID, OWNER_TELEGRAM]:
        assert mentions(after, [kept]), kept
    async with ctx.db.read() as s:
        assert list(await s.execute(select(SaleRow.amount_fen, SaleRow.member_id))) == sales_before
        assert await s.scalar(select(func.count()).select_from(MemberRow)) == 2
    assert await shop_stats(ctx, store=None, start=today, end=today) == stats_before
    assert (await member_for_identity(ctx, "telegram", "7700999888")) is not None

    # The same person may register again, as a new member, on either app.
    again = await register_on_wechat(wechat, OPENID, NAME, PHONE)
    assert NAME in again
    newcomer = await member_for_identity(ctx, "wechat", OPENID)
    assert newcomer is not None and newcomer.id != member.id
    (hello,) = await say(dialogs, "你好", user=TELEGRAM_ID, channel="telegram")
    assert zh("Do you agree?") in hello.text


async def test_declining_registration_keeps_nothing(ctx: Context, wechat: WeChatSimulator) -> None:
    dialogs: Dialogs = create_dialogs(ctx)
    welcome = (await wechat.event(OPENID, "subscribe")).content
    goodbye = await tap(wechat, OPENID, welcome, zh("Decline"))
    assert (
        zh(
            "No problem — nothing about you was stored. If you change your mind, just send "
            "us a message. Goodbye!"
        )
        in goodbye
    )
    (welcome_tg,) = await say(dialogs, "hello", user=TELEGRAM_ID, channel="telegram", lang="en")
    decline: Reply = (
        await say(
            dialogs,
            payload=next(
                b.payload for b in welcome_tg.choices if b.label == gettext("en", "Decline")
            ),
            user=TELEGRAM_ID,
            channel="telegram",
            lang="en",
        )
    )[0]
    assert "nothing about you was stored" in decline.text
    assert mentions(await dump(ctx.db), [OPENID, TELEGRAM_ID]) == []
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(IdentityRow)) == 0


async def test_a_registration_left_half_way_is_forgotten_the_next_night(
    ctx: Context, clock: FixedClock, wechat: WeChatSimulator
) -> None:
    welcome = (await wechat.event(OPENID, "subscribe")).content
    await tap(wechat, OPENID, welcome, zh("Agree"))
    await wechat.text(OPENID, NAME)
    await wechat.text(OPENID, PHONE)
    await prune_job(ctx)
    assert mentions(await dump(ctx.db), [NAME, PHONE])  # kept while the person may go on

    clock.advance(timedelta(days=1))
    await prune_job(ctx)
    assert mentions(await dump(ctx.db), [NAME, PHONE]) == []


async def test_a_removed_staff_members_chat_account_is_forgotten(
    ctx: Context, wechat: WeChatSimulator
) -> None:
    owner = await add_staff(
        ctx, channel="telegram", external_id=OWNER_TELEGRAM, role="owner", store=None
    )
    clerk = await add_staff(
        ctx, channel="wechat", external_id=CLERK_OPENID, role="clerk", store="main", name="小王"
    )
    member = await register_member(ctx, name=NAME, phone=PHONE)
    await loyalty.record_sale(
        ctx,
        store="main",
        receipt_no="S-1",
        member_id=member.id,
        amount_fen=8_800,
        staff_id=clerk.id,
    )
    await wechat.text(CLERK_OPENID, "/sale")  # half-way through a sale when removed
    assert mentions(await dump(ctx.db), [CLERK_OPENID])

    await remove_staff(ctx, owner, clerk.id)

    assert mentions(await dump(ctx.db), [CLERK_OPENID]) == []
    async with ctx.db.read() as s:  # the sale still names who recorded it
        sale = await s.scalar(select(SaleRow).where(SaleRow.receipt_no == "S-1"))
        assert sale is not None and sale.staff_id == clerk.id
    assert (await wechat.text(CLERK_OPENID, "/sale")).content  # a stranger now: answered
    again = await add_staff(
        ctx, channel="wechat", external_id=CLERK_OPENID, role="clerk", store="main"
    )
    assert again.id != clerk.id


async def test_a_clerks_parked_confirmation_naming_a_deleted_member_is_dropped(
    ctx: Context,
) -> None:
    """A clerk's sale confirmation waiting out flood control names the member; the member
    deletes their data meanwhile: the waiting reply goes with it, in no table after."""
    member = await register_member(ctx, name=NAME, phone=PHONE)
    await add_staff(ctx, channel="telegram", external_id="5151", role="clerk", store="main")
    await say(create_dialogs(ctx), "/help", user="5151", channel="telegram")
    text = f"Recorded ¥320.00 for {NAME} (M000001, +86139****5678)"
    queued = await send_later(
        ctx, "telegram", "5151", [{"text": text}], at=ctx.now(), reason="telegram: retry after 60 s"
    )
    assert queued
    await delete_member(ctx, member.id, actor="member")
    assert mentions(await dump(ctx.db), [NAME, PHONE]) == []
