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

from core.context import Context
from core.engagement import shop_events
from core.insights import digests
from core.ledger import tiers
from core.ledger.points import expire_points
from core.people import conversations
from core.pushes import birthdays, reminders, winback, work_queue
from core.service import bookings
from storage import inbound_deliveries, service_messages, workers

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 3 * 3600
REPLIES_KEPT = timedelta(hours=1)  # a stored reply answers retries, which come in seconds
SERVICE_MESSAGES_KEPT = timedelta(days=2)  # counted in WeChat's reply window: 48 hours


async def expire_points_job(ctx: Context) -> None:
    report = await expire_points(ctx)
    log.info("points expiry: %d points of %d members", report.points, report.members)


async def review_tiers_job(ctx: Context) -> None:
    changes = await tiers.review_tiers(ctx)
    log.info("tier review: %d members changed tier", len(changes))


async def close_past_bookings_job(ctx: Context) -> None:
    closed = await bookings.close_past_bookings(ctx)
    log.info("bookings: %d past bookings marked no-show", closed)


async def prune_job(ctx: Context) -> None:
    # Kept longer than the replay window: a replay is refused, or found, never processed.
    forgotten = await inbound_deliveries.prune(ctx.db, ctx.now() - inbound_deliveries.KEPT)
    log.info("deliveries: %d old ones forgotten", forgotten)
    dropped = await inbound_deliveries.forget_old_replies(ctx.db, ctx.now() - REPLIES_KEPT)
    log.info("deliveries: %d stored replies dropped", dropped)
    gone = await workers.prune(ctx.db, ctx.now() - inbound_deliveries.KEPT)
    log.info("workers: %d long gone forgotten", gone)
    counted = await service_messages.prune(ctx.db, ctx.now() - SERVICE_MESSAGES_KEPT)
    log.info("wechat: %d customer-service messages of closed windows forgotten", counted)
    ended = await conversations.prune(ctx)
    log.info("conversations: %d left silent forgotten", ended)


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
    queued = await shop_events.remind_events(ctx)
    log.info("event reminders: %d queued", queued)


async def stale_pushes_job(ctx: Context) -> None:
    skipped = await work_queue.skip_stale(ctx)
    log.info("outbox: %d waiting pushes too old to send, skipped", skipped)


Job = Callable[[Context], Awaitable[None]]

# (id, job, when): cron fields in the shop's time zone.
JOBS: list[tuple[str, Job, dict[str, int | str]]] = [
    ("expire_points", expire_points_job, {"hour": 0, "minute": 30}),
    ("review_tiers", review_tiers_job, {"day": 1, "hour": 3}),
    ("close_past_bookings", close_past_bookings_job, {"hour": 1, "minute": 0}),
    ("prune", prune_job, {"hour": 4, "minute": 0}),
    ("birthdays", birthday_job, {"hour": 9, "minute": 30}),
    ("winback", winback_job, {"day_of_week": "mon", "hour": 10, "minute": 0}),
    ("digest", digest_job, {"day_of_week": "mon", "hour": 9, "minute": 0}),
    ("booking_reminders", booking_reminders_job, {"minute": "*/10"}),
    ("expiry_reminders", expiry_reminders_job, {"hour": 10, "minute": 15}),
    ("event_reminders", event_reminders_job, {"minute": "*/10"}),
    ("stale_pushes", stale_pushes_job, {"minute": 5}),
]


def _on_threads(job: Job) -> Job:
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
    for job_id, job, when in JOBS:
        trigger = CronTrigger(timezone=ctx.zone, **when)
        scheduler.add_job(_on_threads(job), trigger, args=[ctx], id=job_id, **options)
    return scheduler
