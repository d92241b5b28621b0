"""What every use case needs: the database, the shop's rules, the clock and the time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.clock import Clock
from core.shop import Shop
from storage.db import Database


@dataclass(frozen=True)
class Context:
    db: Database
    shop: Shop
    clock: Clock
    zone: ZoneInfo

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The shop's calendar day (not UTC's)."""
        return self.clock.now().astimezone(self.zone).date()
