"""The push dispatcher: drains the outbox into the chat channels, within their limits.

Each round claims due rows (``core.pushes.work_queue``), asks ``core.pushes.routes`` where each
goes,
renders it in the reader's language (``bot.pushes.texts``) and hands it to the channel's sender.
Telegram is paced for the whole deployment (``core.pushes.pacing``): at most
``telegram_per_second`` messages in any one second, evenly spaced, and one per chat every
``telegram_chat_seconds``, whichever dispatcher sends them; a 429 pauses the channel for
its ``retry_after`` and halves the rate for a minute. Temporary errors are retried with a
doubling wait, permanent ones are not; an account the platform refuses (blocked,
unfollowed) is marked unreachable and the push tries the member's next account. Webhook
events go to other systems' endpoints instead (``bot.pushes.webhooks``), retried on their
own schedule (``core.integrations.deliveries``).

Time comes from the context's clock and waiting from ``sleep``, both injected: tests run
the dispatcher on a clock that ``sleep`` moves, so nothing waits for real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from bot.pushes import texts
from bot.pushes.webhooks import WebhookFailed, WebhookSender
from core.context import Context
from core.errors import DomainError
from core.integrations import deliveries
from core.pushes import pacing, reminders, work_queue
from core.pushes.routes import Later, Send, Skip, route
from core.pushes.work_queue import Push, Recipient

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


class Unreachable(Exception):
    """The platform will not deliver to this account (blocked the bot, unfollowed)."""


class Rejected(Exception):
    """The platform refuses this message for good; retrying would not help."""


class RetryAfter(Exception):
    """Flood control: the platform asks to wait ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class Temporary(Exception):
    """Network trouble or a platform hiccup: worth another try later."""


class WindowClosed(Exception):
    """WeChat says its reply window is closed or used up: wait for the member."""


class PushChannel(Protocol):
    """A channel's sender of pushes; raises the exceptions above."""

    async def send(
        self, recipient: Recipient, message: texts.Message, via: str, push: Push
    ) -> None: ...


class PushDispatcher:
    def __init__(
        self,
        ctx: Context,
        channels: Mapping[str, PushChannel],
        *,
        sleep: Sleep = asyncio.sleep,
        batch: int = 100,
        concurrency: int = 8,
        idle_seconds: float = 1.0,
        telegram_limit: bool = True,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.ctx, self.channels, self.sleep = ctx, channels, sleep
        self.webhooks = webhooks or WebhookSender()
        self.batch, self.idle_seconds = batch, idle_seconds
        self._workers = asyncio.Semaphore(concurrency)
        rules = ctx.shop.pushes
        self._limits = (
            {"telegram": pacing.Limits(rules.telegram_per_second, rules.telegram_chat_seconds)}
            if telegram_limit
            else {}
        )
        # One slot waited for at a time per channel here: the reservations then come one by
        # one as slots pass, instead of all workers' at once holding up the first sends (on
        # SQLite the loop runs the statements) until they reach the platform bunched.
        self._turns = {channel: asyncio.Lock() for channel in self._limits}
        self._members: dict[work_queue.Whom, asyncio.Lock] = {}
        self._unmarked: list[tuple[int, Recipient, str, asyncio.Future[None]]] = []
        self._templates = frozenset(k for k, t in ctx.shop.wechat.templates.items() if t.id)

    async def run(self) -> None:
        """Forever (until cancelled): a round whenever something is due. On SQLite its
        statements run inline, on the loop (``storage.inline``): a claim of ``batch`` rows
        or a group of marks takes a few milliseconds, and on aiosqlite's threads the same
        work cost the loop more CPU than it saved (680 against 790 pushes a second)."""
        while True:
            try:
                if handled := await self.round():
                    log.info("pushes: %d handled", handled)  # a campaign shows its progress
                    continue
                pause = await self._idle()
            except (SQLAlchemyError, OSError):  # the database away: try again, keep serving
                log.exception("pushes: the outbox cannot be read; trying again")
                pause = self.idle_seconds
            await self.sleep(pause)

    async def drain(self) -> int:
        """Until nothing is left to send — also what is due later (tests and ``memberbot
        outbox --send``); what waits for a member's next message stays. Rows handled."""
        handled = 0
        while True:
            done = await self.round()
            handled += done
            if done:
                continue
            due = await work_queue.next_due(self.ctx)
            if due is None:
                return handled
            await self.sleep(max((due - self.ctx.now()).total_seconds(), 0.0))

    async def round(self) -> int:
        """One claim's worth of rows, sent concurrently; the number handled."""
        claimed = await work_queue.claim(self.ctx, self.batch)
        await asyncio.gather(*(self._guarded(push) for push in claimed))
        return len(claimed)

    async def _idle(self) -> float:
        due = await work_queue.next_due(self.ctx)
        if due is None:
            return self.idle_seconds
        return min(max((due - self.ctx.now()).total_seconds(), 0.0), self.idle_seconds)

    async def _guarded(self, push: Push) -> None:
        async with self._workers:
            try:
                await self._deliver(push)
            except Exception:
                # A bug must not stop the queue: the row is retried later, and logged now.
                log.exception("push %d (%s) failed", push.id, push.kind)
                await self._retry(push, "internal error")

    async def _deliver(self, push: Push) -> None:
        if push.webhook is not None:
            await self._post(push, push.webhook)
            return
        if not any(r.channel == "wechat" for r in push.recipients):
            await self._route_and_send(push)
            return
        # WeChat's quota per window: one push at a time per member, counted afresh.
        lock = self._members.setdefault(push.whom, asyncio.Lock())
        try:
            async with lock:
                push = replace(push, recipients=await work_queue.fresh_recipients(self.ctx, push))
                await self._route_and_send(push)
        finally:
            if not lock.locked():
                self._members.pop(push.whom, None)

    async def _post(self, push: Push, target: deliveries.Target) -> None:
        """A webhook event to its endpoint; retried on the event's own schedule
        (``core.integrations.deliveries.next_try``), not the chat pushes'."""
        ctx = self.ctx
        try:
            await self.webhooks.post(target, push.params, ctx.now())
        except WebhookFailed as exc:
            at = deliveries.next_try(push.created_at, push.attempts, ctx.now())
            if at is None:
                reason = f"given up after a day: {exc}"
                await work_queue.give_up(ctx, push.id, reason[:500], failed=True)
            else:
                await work_queue.retry(ctx, push.id, at, str(exc)[:500])
            return
        await deliveries.mark_delivered(ctx, push.id)

    async def _route_and_send(self, push: Push) -> None:
        ctx = self.ctx
        if not await reminders.still_ahead(ctx, push.kind, push.params):
            # Queued in time, then waited (WeChat's window, quiet hours, retries).
            await work_queue.give_up(ctx, push.id, "outdated: cancelled, begun or past its day")
            return
        while True:
            decision = route(
                push,
                ctx.now(),
                ctx.shop.pushes,
                ctx.zone,
                channels=self.channels.keys(),
                templates=self._templates,
            )
            if isinstance(decision, Skip):
                await work_queue.give_up(ctx, push.id, decision.reason)
                return
            if isinstance(decision, Later):
                if decision.at is None:
                    await work_queue.wait_for_member(ctx, push.id, decision.reason)
                else:
                    await work_queue.retry(ctx, push.id, decision.at, decision.reason, counts=False)
                return
            try:
                await self._send(push, decision)
            except Unreachable:
                log.info("push %d: account %d unreachable", push.id, decision.recipient.identity_id)
                await work_queue.mark_unreachable(ctx, decision.recipient.identity_id)
                others = tuple(r for r in push.recipients if r != decision.recipient)
                push = replace(push, recipients=others)
                continue  # the member's next account, if any
            return

    async def _send(self, push: Push, decision: Send) -> None:
        ctx, recipient = self.ctx, decision.recipient
        paced = recipient.channel in self._limits
        if paced and not await self._slot(push, recipient):
            return
        try:
            message = await texts.render(ctx, push, recipient)
        except (texts.UnknownKind, DomainError, KeyError, ValueError) as exc:
            await work_queue.give_up(ctx, push.id, f"cannot be worded: {exc!r}"[:200])
            return
        try:
            await self.channels[recipient.channel].send(recipient, message, decision.via, push)
        except RetryAfter as exc:
            if paced:
                await pacing.pause(ctx, recipient.channel, exc.seconds)
            at = ctx.now() + timedelta(seconds=exc.seconds)
            await work_queue.retry(ctx, push.id, at, str(exc), counts=False)
            return
        except WindowClosed as exc:
            await work_queue.wait_for_member(ctx, push.id, f"WeChat: {exc}")
            return
        except Rejected as exc:
            await work_queue.give_up(ctx, push.id, f"refused: {exc}"[:500], failed=True)
            return
        except Temporary as exc:
            await self._retry(push, str(exc))
            return
        await self._marked_sent(push.id, recipient, decision.via)

    async def _slot(self, push: Push, recipient: Recipient) -> bool:
        """Wait for the channel's next send slot (False: not this chat's turn yet, the push
        is put back until it is, and others go first). A pause that began while waiting
        voids the slot, and so does waking up more than ``pacing.LATE`` after it (a busy
        machine): sent late, it would crowd the slots after it. The next one is taken."""
        ctx, channel = self.ctx, recipient.channel
        limits, held = self._limits[channel], False
        async with self._turns[channel]:
            while True:
                slot = await pacing.reserve(
                    ctx, channel, recipient.identity_id, limits, chat_held=held
                )
                if slot.busy:
                    await work_queue.retry(ctx, push.id, slot.at, "paced", counts=False)
                    return False
                held = True
                wait = (slot.at - ctx.now()).total_seconds()
                if wait > 0:
                    await self.sleep(wait)
                    if await pacing.paused_until(ctx, channel) is not None:
                        continue
                if ctx.now() - slot.at <= pacing.LATE:
                    return True

    async def _marked_sent(self, push_id: int, recipient: Recipient, via: str) -> None:
        """Group commit: the rows sent while the last marks were being written are marked
        in one transaction together; each sender waits for its own mark, so what counts as
        in flight is the same as with a transaction each."""
        done = asyncio.get_running_loop().create_future()
        self._unmarked.append((push_id, recipient, via, done))
        if len(self._unmarked) == 1:
            asyncio.get_running_loop().create_task(self._write_marks())
        await done

    async def _write_marks(self) -> None:
        await asyncio.sleep(0)  # let the senders of this moment join
        marks, self._unmarked = self._unmarked, []
        try:
            await work_queue.mark_sent(self.ctx, [(p, r, v) for p, r, v, _ in marks])
        except Exception as exc:  # each sender handles it as its own failure
            for *_, done in marks:
                if not done.done():  # its sender may have been cancelled meanwhile
                    done.set_exception(exc)
            return
        for *_, done in marks:
            if not done.done():
                done.set_result(None)

    async def _retry(self, push: Push, reason: str) -> None:
        rules = self.ctx.shop.pushes
        if push.attempts >= rules.max_attempts:
            await work_queue.give_up(self.ctx, push.id, reason[:500], failed=True)
            return
        delay = timedelta(seconds=rules.retry_seconds * 2 ** (push.attempts - 1))
        await work_queue.retry(self.ctx, push.id, self.ctx.now() + delay, reason[:500])
