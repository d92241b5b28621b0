"""Settings come from MEMBERBOT_* variables and a .env file; the scheduler keeps shop time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.scheduler import MISFIRE_GRACE_SECONDS, create_scheduler
from bot.settings import Settings
from core.context import Context


def test_dotenv_file_is_read_and_urls_get_async_drivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MEMBERBOT_DATABASE_URL", "MEMBERBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "MEMBERBOT_DATABASE_URL=postgres://shop:secret@db/shop\nMEMBERBOT_TIMEZONE=Europe/Berlin\n",
        encoding="utf-8",
    )
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://shop:secret@db/shop"
    assert settings.zone.key == "Europe/Berlin"
    monkeypatch.setenv("MEMBERBOT_TIMEZONE", "Asia/Shanghai")
    assert Settings().timezone == "Asia/Shanghai"  # the environment wins over .env


def test_defaults_need_no_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MEMBERBOT_DATABASE_URL", "MEMBERBOT_TIMEZONE", "MEMBERBOT_SHOP_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///memberbot.db"
    assert (settings.timezone, settings.shop_file) == ("Asia/Shanghai", None)


async def test_jobs_run_in_shop_time_coalesced_with_a_grace(ctx: Context) -> None:
    scheduler = create_scheduler(ctx)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "expire_points",
        "review_tiers",
        "close_past_bookings",
        "prune",
        "birthdays",
        "winback",
        "digest",
        "booking_reminders",
        "expiry_reminders",
        "event_reminders",
        "stale_pushes",
    }
    after = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 on Wednesday 1 April in Shanghai

    def next_run(job: str, since: datetime = after) -> str:
        return jobs[job].trigger.get_next_fire_time(None, since).astimezone(ctx.zone).isoformat()

    assert next_run("expire_points") == "2026-04-02T00:30:00+08:00"
    assert next_run("review_tiers") == "2026-04-01T03:00:00+08:00"
    assert next_run("birthdays") == "2026-04-01T09:30:00+08:00"
    assert next_run("winback") == "2026-04-06T10:00:00+08:00"  # Monday
    assert next_run("digest") == "2026-04-06T09:00:00+08:00"  # Monday
    assert next_run("booking_reminders") == "2026-04-01T01:00:00+08:00"
    assert next_run("booking_reminders", after.replace(minute=1)) == "2026-04-01T01:10:00+08:00"
    assert next_run("expiry_reminders") == "2026-04-01T10:15:00+08:00"
    assert next_run("stale_pushes") == "2026-04-01T01:05:00+08:00"
    assert next_run("event_reminders", after.replace(minute=1)) == "2026-04-01T01:10:00+08:00"
    for job in jobs.values():
        assert (job.coalesce, job.misfire_grace_time) == (True, MISFIRE_GRACE_SECONDS)


@pytest.mark.parametrize("seconds", ["0", "86401", "five minutes"])
def test_a_replay_window_longer_than_deliveries_are_remembered_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    """A replay must meet its delivery's record (kept two days) or the window: a window
    over a day (timestamps may run ahead as much as behind) would let one through."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERBOT_REPLAY_WINDOW_SECONDS", seconds)
    with pytest.raises(ValueError, match="replay_window_seconds"):
        Settings()
    monkeypatch.setenv("MEMBERBOT_REPLAY_WINDOW_SECONDS", "600")
    assert Settings().replay_window_seconds == 600
