"""Periodic jobs (APScheduler 3): cron in the shop's time zone, coalesced, with a misfire
grace so a restart shortly after the planned time still runs the job once. Each job calls
one core use case that is safe to run twice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from core import birthdays, bookings, digests, events, loyalty, push_queue, reminders, winback
from core.context import Context
from storage import deliveries

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 3 * 3600
DELIVERIES_KEPT = timedelta(days=2)  # platforms retry for minutes, not days


async def expire_points_job(ctx: Context) -> None:
    report = await loyalty.expire_points(ctx)
    log.info("points expiry: %d points of %d members", report.points, report.members)


async def review_tiers_job(ctx: Context) -> None:
    changes = await loyalty.review_tiers(ctx)
    log.info("tier review: %d members changed tier", len(changes))


async def close_past_bookings_job(ctx: Context) -> None:
    closed = await bookings.close_past_bookings(ctx)
    log.info("bookings: %d past bookings marked no-show", closed)


async def prune_deliveries_job(ctx: Context) -> None:
    forgotten = await deliveries.prune(ctx.db, ctx.now() - DELIVERIES_KEPT)
    log.info("deliveries: %d old ones forgotten", forgotten)


async def birthday_job(ctx: Context) -> None:
    queued = await birthdays.wish_birthdays(ctx)
    log.info("birthdays: %d wishes queued", queued)


async def winback_job(ctx: Context) -> None:
    queued = await winback.win_back(ctx)
    log.info("win-back: %d messages queued", queued)


async def digest_job(ctx: Context) -> None:
    queued = await digests.weekly_digests(ctx)
    log.info("weekly digest: %d queued for owners and managers", queued)


async def booking_reminders_job(ctx: Context) -> None:
    queued = await reminders.remind_bookings(ctx)
    log.info("booking reminders: %d queued", queued)


async def expiry_reminders_job(ctx: Context) -> None:
    points = await reminders.remind_expiring_points(ctx)
    coupons = await reminders.remind_expiring_coupons(ctx)
    log.info("expiry reminders: %d for points, %d for coupons queued", points, coupons)


async def event_reminders_job(ctx: Context) -> None:
    queued = await events.remind_events(ctx)
    log.info("event reminders: %d queued", queued)


async def stale_pushes_job(ctx: Context) -> None:
    skipped = await push_queue.skip_stale(ctx)
    log.info("outbox: %d waiting pushes too old to send, skipped", skipped)


def _on_threads(job: Callable[[Context], Awaitable[None]]) -> Callable[[Context], Awaitable[None]]:
    """A job's SQLite work on aiosqlite's threads (``Database.threaded``): its long
    statements then never hold the loop that answers members."""

    @wraps(job)
    async def run(ctx: Context) -> None:
        with ctx.db.threaded():
            await job(ctx)

    return run


def create_scheduler(ctx: Context) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=ctx.zone)
    options = {"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1}
    scheduler.add_job(
        _on_threads(expire_points_job),
        CronTrigger(hour=0, minute=30, timezone=ctx.zone),
        args=[ctx],
        id="expire_points",
        **options,
    )
    scheduler.add_job(
        _on_threads(review_tiers_job),
        CronTrigger(day=1, hour=3, timezone=ctx.zone),
        args=[ctx],
        id="review_tiers",
        **options,
    )
    scheduler.add_job(
        _on_threads(close_past_bookings_job),
        CronTrigger(hour=1, minute=0, timezone=ctx.zone),
        args=[ctx],
        id="close_past_bookings",
        **options,
    )
    scheduler.add_job(
        _on_threads(prune_deliveries_job),
        CronTrigger(hour=4, minute=0, timezone=ctx.zone),
        args=[ctx],
        id="prune_deliveries",
        **options,
    )
    scheduler.add_job(
        _on_threads(birthday_job),
        CronTrigger(hour=9, minute=30, timezone=ctx.zone),
        args=[ctx],
        id="birthdays",
        **options,
    )
    scheduler.add_job(
        _on_threads(winback_job),
        CronTrigger(day_of_week="mon", hour=10, minute=0, timezone=ctx.zone),
        args=[ctx],
        id="winback",
        **options,
    )
    scheduler.add_job(
        _on_threads(digest_job),
        CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=ctx.zone),
        args=[ctx],
        id="digest",
        **options,
    )
    scheduler.add_job(
        _on_threads(booking_reminders_job),
        CronTrigger(minute="*/10", timezone=ctx.zone),
        args=[ctx],
        id="booking_reminders",
        **options,
    )
    scheduler.add_job(
        _on_threads(expiry_reminders_job),
        CronTrigger(hour=10, minute=15, timezone=ctx.zone),
        args=[ctx],
        id="expiry_reminders",
        **options,
    )
    scheduler.add_job(
        _on_threads(event_reminders_job),
        CronTrigger(minute="*/10", timezone=ctx.zone),
        args=[ctx],
        id="event_reminders",
        **options,
    )
    scheduler.add_job(
        _on_threads(stale_pushes_job),
        CronTrigger(minute=5, timezone=ctx.zone),
        args=[ctx],
        id="stale_pushes",
        **options,
    )
    return scheduler
