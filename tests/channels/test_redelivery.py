"""Redeliveries and replays on both channels, over real HTTP on loopback: a message whose
worker died while processing it is processed by its retry; one whose worker lives is not
processed twice; a recorded request replayed later is refused, however long ago its
delivery record was pruned."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select, update

from bot.composition import compose
from bot.dialogs.registry import create_dialogs
from bot.handlers.wechat import WeChatEndpoint
from bot.scheduler import prune_job
from bot.web import create_app
from core.clock import FixedClock
from core.context import Context
from core.people.registration import register_member
from core.people.staff import add_staff
from storage import inbound_deliveries, workers
from storage.db import Database
from storage.models import DeliveryRow, SaleRow
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.fake_wechat import FakeWeChat
from tests.channels.test_telegram import SECRET, telegram_settings
from tests.channels.wechat_sim import AES_KEY, APP_ID, TOKEN, WeChatSimulator, wechat_settings
from tests.conftest import START

PHONE = "13800138001"
CLERK = 5151  # the clerk's Telegram id


@pytest.fixture
async def shop(ctx: Context) -> Context:
    """A member, a clerk on WeChat and one on Telegram."""
    await register_member(ctx, name="李雷", phone=PHONE)
    await add_staff(ctx, channel="wechat", external_id="o-clerk", role="clerk", store="main")
    await add_staff(ctx, channel="telegram", external_id=str(CLERK), role="clerk", store="main")
    return ctx


@pytest.fixture
async def wechat_url(shop: Context, fake_wechat: FakeWeChat) -> AsyncIterator[str]:
    async with TestServer(create_app(compose(shop, wechat_settings(fake_wechat)))) as server:
        yield str(server.make_url("/wechat"))


@pytest.fixture
async def telegram_url(shop: Context, fake_telegram: FakeTelegram) -> AsyncIterator[str]:
    async with TestServer(create_app(compose(shop, telegram_settings(fake_telegram)))) as server:
        yield str(server.make_url("/telegram"))


async def sales(ctx: Context) -> int:
    async with ctx.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(SaleRow)) or 0)


async def claimed_by_another_worker(ctx: Context, channel: str, key: str) -> None:
    """Another process (its own engine, its own worker) takes the message, and is then
    heard of no more: killed, or still at work."""
    other = Database(ctx.db.url.render_as_string(hide_password=False))
    try:
        assert await inbound_deliveries.claim(other, channel, key, ctx.now()) is None
    finally:
        await other.dispose()


async def post_update(session: ClientSession, url: str, update: dict[str, Any]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with session.post(url, json=update, headers=headers) as response:
        return response.status


# -- a worker killed mid-message ---------------------------------------------------------


async def test_wechat_a_retry_after_its_worker_died_is_processed_once(
    shop: Context, clock: FixedClock, wechat_url: str, session: ClientSession
) -> None:
    wechat = WeChatSimulator(session, wechat_url, clock=clock)
    message = wechat.text_xml("o-clerk", f"/sale {PHONE} 300 WX-9", msg_id=4711)
    await claimed_by_another_worker(shop, "wechat", "msg:4711")
    clock.advance(workers.LEASE)  # its lease runs out: it is gone

    answer = await wechat.post(message)
    assert "¥300.00" in answer.content
    assert await sales(shop) == 1
    again = await wechat.post(message)  # WeChat's next retry: the first answer, again
    assert again.content == answer.content
    assert await sales(shop) == 1


async def died_after_its_work(ctx: Context, channel: str, key: str) -> None:
    """The state a worker killed between its work's commit and the delivery's settling
    leaves: the work done, the claim still "processing" in the name of a worker that is
    then heard of no more."""
    other = Database(ctx.db.url.render_as_string(hide_password=False))
    try:
        dead = await workers.me(other, ctx.now())
    finally:
        await other.dispose()
    async with ctx.db.transaction() as s:
        await s.execute(
            update(DeliveryRow)
            .where(DeliveryRow.channel == channel, DeliveryRow.key == key)
            .values(status=inbound_deliveries.PROCESSING, reply=None, worker_id=dead)
        )


async def test_wechat_a_retry_after_a_crash_past_the_work_records_no_second_sale(
    shop: Context, clock: FixedClock, wechat_url: str, session: ClientSession
) -> None:
    """A sale without a receipt number has no key of the till's: the retry knows it by
    the message, so it finds the sale its first attempt recorded."""
    wechat = WeChatSimulator(session, wechat_url, clock=clock)
    message = wechat.text_xml("o-clerk", f"/sale {PHONE} 300", msg_id=4712)
    first = await wechat.post(message)
    assert "¥300.00" in first.content
    await died_after_its_work(shop, "wechat", "msg:4712")
    clock.advance(workers.LEASE)

    await wechat.post(message)
    assert await sales(shop) == 1
    other = await wechat.text("o-clerk", f"/sale {PHONE} 300")  # a genuine second sale
    assert "¥300.00" in other.content
    assert await sales(shop) == 2


async def test_telegram_a_redelivery_after_a_crash_past_the_work_records_no_second_sale(
    shop: Context,
    clock: FixedClock,
    fake_telegram: FakeTelegram,
    telegram_url: str,
    session: ClientSession,
) -> None:
    update_ = fake_telegram.message_update(CLERK, f"/sale {PHONE} 300")
    assert await post_update(session, telegram_url, update_) == 200
    assert await sales(shop) == 1
    await died_after_its_work(shop, "telegram", f"update:{update_['update_id']}")
    clock.advance(workers.LEASE)

    assert await post_update(session, telegram_url, update_) == 200
    assert await sales(shop) == 1


@asynccontextmanager
async def endpoint_url(
    ctx: Context, sleep: Callable[[float], Awaitable[None]]
) -> AsyncIterator[str]:
    """The WeChat endpoint alone, waiting with ``sleep``."""
    endpoint = WeChatEndpoint(
        ctx, create_dialogs(ctx), None, token=TOKEN, app_id=APP_ID, aes_key=AES_KEY, sleep=sleep
    )
    app = web.Application()
    app.router.add_post("/wechat", endpoint.receive)
    async with TestServer(app) as server:
        yield str(server.make_url("/wechat"))
    await endpoint.close()


async def test_wechat_a_retry_while_its_worker_lives_is_not_processed(
    shop: Context, clock: FixedClock, session: ClientSession
) -> None:
    """The retry watches the claim for a lease while its worker, alive, renews it: the
    worker answers in the end, not the retry."""
    other = Database(shop.db.url.render_as_string(hide_password=False))

    async def a_living_worker_beats(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await workers.me(other, clock.now())  # renews its lease

    try:
        assert await inbound_deliveries.claim(other, "wechat", "msg:4712", clock.now()) is None
        async with endpoint_url(shop, a_living_worker_beats) as url:
            wechat = WeChatSimulator(session, url, clock=clock)
            message = wechat.text_xml("o-clerk", f"/sale {PHONE} 300 WX-9", msg_id=4712)
            answer = await wechat.post(message)
    finally:
        await other.dispose()
    assert (answer.status, answer.body) == (200, "success")
    assert clock.now() - START >= workers.LEASE  # it watched for a whole lease
    assert await sales(shop) == 0


async def test_wechat_a_retry_takes_over_when_the_worker_dies_while_it_watches(
    shop: Context, clock: FixedClock, session: ClientSession
) -> None:
    """A worker on another machine, killed: no pid to check, its lease runs out while
    WeChat's retry waits on it — which then records the sale and answers it."""
    await claimed_by_another_worker(shop, "wechat", "msg:4714")

    async def time_passes(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    async with endpoint_url(shop, time_passes) as url:
        wechat = WeChatSimulator(session, url, clock=FixedClock(clock.now()))
        answer = await wechat.post(
            wechat.text_xml("o-clerk", f"/sale {PHONE} 300 WX-9", msg_id=4714)
        )
    assert "¥300.00" in answer.content
    assert await sales(shop) == 1


async def test_telegram_a_redelivery_after_its_worker_died_is_processed_once(
    shop: Context,
    clock: FixedClock,
    fake_telegram: FakeTelegram,
    telegram_url: str,
    session: ClientSession,
) -> None:
    update = fake_telegram.message_update(CLERK, f"/sale {PHONE} 300 TG-9")
    await claimed_by_another_worker(shop, "telegram", f"update:{update['update_id']}")
    clock.advance(workers.LEASE)

    assert await post_update(session, telegram_url, update) == 200
    assert await post_update(session, telegram_url, update) == 200
    assert await sales(shop) == 1
    replies = [c for c in fake_telegram.calls_to("sendMessage") if "¥300.00" in c.params["text"]]
    assert len(replies) == 1


async def test_telegram_a_redelivery_while_its_worker_lives_is_asked_again_later(
    shop: Context,
    clock: FixedClock,
    fake_telegram: FakeTelegram,
    telegram_url: str,
    session: ClientSession,
) -> None:
    """Not skipped with a 200 (Telegram would then never deliver it again, and the update
    would be lost if that worker died): 503, so Telegram tries again later."""
    update = fake_telegram.message_update(CLERK, f"/sale {PHONE} 300 TG-9")
    await claimed_by_another_worker(shop, "telegram", f"update:{update['update_id']}")

    assert await post_update(session, telegram_url, update) == 503
    assert await sales(shop) == 0
    clock.advance(workers.LEASE)  # that worker never finished: gone
    assert await post_update(session, telegram_url, update) == 200
    assert await sales(shop) == 1


async def test_telegram_an_update_done_is_not_processed_again_once_its_worker_is_gone(
    shop: Context,
    clock: FixedClock,
    fake_telegram: FakeTelegram,
    telegram_url: str,
    session: ClientSession,
) -> None:
    """Handled, then redelivered (Telegram did not see the answer) to another worker after
    the first one stopped: the claim says done, not 'processing by a dead worker'."""
    update = fake_telegram.message_update(CLERK, f"/sale {PHONE} 300")
    assert await post_update(session, telegram_url, update) == 200
    clock.advance(workers.LEASE * 3)
    other = replace(shop, db=Database(shop.db.url.render_as_string(hide_password=False)))
    try:
        settings = telegram_settings(fake_telegram)
        async with TestServer(create_app(compose(other, settings))) as second:
            url = str(second.make_url("/telegram"))
            assert await post_update(session, url, update) == 200
    finally:
        await other.db.dispose()
    assert await sales(shop) == 1


# -- replays -----------------------------------------------------------------------------


@pytest.mark.parametrize("age", [timedelta(days=30), timedelta(days=9200)], ids=["30 days", "2001"])
async def test_wechat_a_signed_request_from_long_ago_is_refused(
    shop: Context, clock: FixedClock, wechat_url: str, session: ClientSession, age: timedelta
) -> None:
    old = WeChatSimulator(session, wechat_url, clock=FixedClock(clock.now() - age))
    answer = await old.text("o-clerk", f"/sale {PHONE} 300")
    assert answer.status == 403
    assert await sales(shop) == 0


async def test_wechat_the_window_is_a_few_minutes_either_way(
    shop: Context, clock: FixedClock, wechat_url: str, session: ClientSession
) -> None:
    for offset, status in ((-299, 200), (299, 200), (-301, 403), (301, 403)):
        skewed = FixedClock(clock.now() + timedelta(seconds=offset))
        answer = await WeChatSimulator(session, wechat_url, clock=skewed).text("o-clerk", "/help")
        assert answer.status == status, offset


async def test_wechat_a_sale_replayed_after_its_record_was_pruned_is_refused(
    shop: Context, clock: FixedClock, wechat_url: str, session: ClientSession
) -> None:
    recorded = WeChatSimulator(session, wechat_url, clock=FixedClock(clock.now()))
    message = recorded.text_xml("o-clerk", f"/sale {PHONE} 300", msg_id=4713)
    assert "¥300.00" in (await recorded.post(message)).content
    clock.advance(inbound_deliveries.KEPT + timedelta(hours=1))
    await prune_job(shop)  # the record of the delivery is gone

    replayed = await recorded.post(message)  # the same request, signed as it was then
    assert replayed.status == 403
    assert await sales(shop) == 1


async def test_telegram_an_update_older_than_the_records_is_skipped(
    shop: Context,
    clock: FixedClock,
    fake_telegram: FakeTelegram,
    telegram_url: str,
    session: ClientSession,
) -> None:
    """Handled, its record pruned, then delivered again: Telegram keeps an update a day,
    memberbot remembers it two; older than that it can only be a replay."""
    update = fake_telegram.message_update(CLERK, f"/sale {PHONE} 300")
    assert await post_update(session, telegram_url, update) == 200
    clock.advance(inbound_deliveries.KEPT + timedelta(hours=1))
    await prune_job(shop)
    sent = len(fake_telegram.calls_to("sendMessage"))

    assert await post_update(session, telegram_url, update) == 200
    assert await sales(shop) == 1
    assert len(fake_telegram.calls_to("sendMessage")) == sent
