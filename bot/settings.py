"""Process settings from ``MEMBERBOT_*`` environment variables and a ``.env`` file.

Secrets (bot tokens, WeChat keys) belong here too, never in the repository. The shop's
own rules live in the shop file (``core.shop``), not in the environment.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEMBERBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///memberbot.db",
        description="SQLAlchemy URL; a SQLite file in the working directory by default.",
    )
    timezone: str = Field(default="Asia/Shanghai", description="The shop's time zone.")
    shop_file: Path | None = Field(
        default=None, description="The shop's TOML file; the shipped defaults when unset."
    )
    locale: str = Field(default="zh_CN", description="Language of the command-line output.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the URLs people paste from elsewhere; memberbot is async throughout.
        for plain, async_ in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if value.startswith(plain):
                return async_ + value.removeprefix(plain)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
