"""Telegram's limits hold for the deployment, not per dispatcher: two dispatchers, each
with its own database engine as two ``memberbot scheduler``s would have, drain one outbox
into one fake Bot API that counts per second, on one clock that moves only when both
wait. Before, each kept 30 a second on its own: 60 a second went out together."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from bot.handlers.telegram import TelegramPushes
from bot.pushes.dispatcher import PushDispatcher
from core.clock import FixedClock
from core.context import Context
from core.pushes import pacing
from tests.channels.fake_telegram import Call, FakeTelegram
from tests.channels.pushing import outbox
from tests.channels.test_push_telegram import member, receipt_row

SECOND = timedelta(seconds=1)


class SharedTime:
    """One clock for several dispatchers (one send at a time each): it moves to the earliest
    wake-up once every dispatcher still running is waiting, so each sees the others' sends
    at the moments they made them."""

    def __init__(self, clock: FixedClock, running: int) -> None:
        self.clock, self.running = clock, running
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        at = self.clock.now() + timedelta(seconds=max(seconds, 0.0))
        heapq.heappush(self._sleepers, (at, next(self._order), woken))
        self._advance()
        await woken

    async def run(self, dispatcher: PushDispatcher) -> int:
        try:
            return await dispatcher.drain()
        finally:
            self.running -= 1
            self._advance()

    def _advance(self) -> None:
        if self._sleepers and len(self._sleepers) >= self.running:
            at, _, woken = heapq.heappop(self._sleepers)
            if at > self.clock.now():
                self.clock.set(at)
            woken.set_result(None)


def most_in_a_second(calls: list[Call], start: datetime | None = None) -> int:
    times = sorted(c.at for c in calls if c.at is not None and (start is None or c.at >= start))
    return max((sum(1 for u in times if t <= u < t + SECOND) for t in times), default=0)


async def test_two_dispatchers_keep_30_a_second_and_one_a_second_per_chat_together(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, sender: TelegramPushes
) -> None:
    members = [await member(ctx, chat) for chat in range(9000, 9060)]
    async with ctx.db.transaction() as s:
        for n in range(180):  # three receipts for each of 60 members
            await receipt_row(s, ctx, members[n % 60], n)
    fake_telegram.fail_next("sendMessage", 429, retry_after=2)
    time = SharedTime(clock, running=2)
    other = replace(ctx, db=type(ctx.db)(ctx.db.url.render_as_string(hide_password=False)))
    try:
        one, two = (
            PushDispatcher(c, {"telegram": sender}, sleep=time.sleep, concurrency=1, batch=10)
            for c in (ctx, other)
        )
        handled = await asyncio.gather(time.run(one), time.run(two))
    finally:
        await other.db.dispose()

    assert all(handled), "both dispatchers sent"
    calls = fake_telegram.calls_to("sendMessage")
    delivered = Counter(c.params["text"] for c in calls if c.status == 200)
    assert len(delivered) == 180 and set(delivered.values()) == {1}
    assert {row.status for row in await outbox(ctx)} == {"sent"}

    assert most_in_a_second(calls) <= 30
    by_chat: dict[int, list[datetime]] = {}
    for call in calls:
        assert call.at is not None
        by_chat.setdefault(call.params["chat_id"], []).append(call.at)
    for moments in by_chat.values():
        assert all(b - a >= SECOND for a, b in itertools.pairwise(sorted(moments)))

    (refused,) = [c for c in calls if c.status == 429]
    assert refused.at is not None
    resumed = refused.at + timedelta(seconds=2)
    assert not [c for c in calls if c.at is not None and refused.at < c.at < resumed]
    slower = [c for c in calls if c.at is not None and c.at < resumed + pacing.SLOW_FOR]
    assert most_in_a_second(slower, start=resumed) <= 15  # the halved rate, for both
