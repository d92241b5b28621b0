"""Process settings from ``MEMBERBOT_*`` environment variables and a ``.env`` file.

Secrets (bot tokens, WeChat keys) belong here too, never in the repository. The shop's
own rules live in the shop file (``core.shop``), not in the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage import inbound_deliveries

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
Locale = Literal["zh_CN", "en"]


def system_locale() -> Locale:
    """The command line's language when ``MEMBERBOT_LOCALE`` is unset: the system's, as POSIX
    picks it (``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``); Chinese for any ``zh*``,
    English otherwise, so a newcomer on an English system reads English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


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
    locale: Locale = Field(
        default_factory=system_locale,
        description="Language of the command-line output; the system's (LANG) when unset.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = Field(
        default="INFO",
        description="What the server logs: DEBUG (also every request answered), INFO, "
        "WARNING or ERROR.",
    )

    replay_window_seconds: int = Field(
        default=300,
        gt=0,
        le=int(inbound_deliveries.KEPT.total_seconds()) // 2,
        description="Signed requests (WeChat's) whose timestamp is further than this from "
        "the server's clock are refused: a recorded request replayed later is not processed.",
    )

    api_rate_per_second: float = Field(
        default=20.0,
        gt=0,
        description="Calls a second each API key may make to this worker (bot/api/auth.py).",
    )
    api_rate_burst: int = Field(
        default=40, ge=1, description="Calls an API key may make at once before the rate applies."
    )

    # WeChat Official Account (公众号). The endpoint is served when a token is set.
    wechat_app_id: str = ""
    wechat_app_secret: SecretStr = SecretStr("")
    wechat_token: SecretStr = SecretStr("")
    wechat_encoding_aes_key: SecretStr = SecretStr("")
    wechat_path: str = Field(default="/wechat", pattern=r"^/[\w/-]*$")
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com", description="Tests point this at a fake server."
    )
    wechat_reply_seconds: float = Field(
        default=4.0,
        gt=0,
        le=4.5,
        description="Answer WeChat within this time; a slower reply goes out as a "
        "customer-service message (WeChat gives up after 5 s).",
    )

    # Telegram bot (from @BotFather). The webhook is served when a secret is set too.
    telegram_token: SecretStr = SecretStr("")
    telegram_webhook_secret: SecretStr = SecretStr("")
    telegram_path: str = Field(default="/telegram", pattern=r"^/[\w/-]*$")
    telegram_api_base: str = Field(
        default="https://api.telegram.org",
        description="A local Bot API server, or a fake one in tests.",
    )

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr) -> SecretStr:
        # Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value.get_secret_value() and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("1 to 256 letters, digits, _ or -")
        return value

    @field_validator("telegram_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        # @BotFather's form: the bot's id, a colon, then letters, digits, _ and -.
        if value.get_secret_value() and not re.fullmatch(
            r"[0-9]+:[A-Za-z0-9_-]+", value.get_secret_value()
        ):
            raise ValueError("not a bot token (digits, a colon, then letters, digits, _ or -)")
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("an http:// or https:// address")
        return value

    @field_validator("wechat_encoding_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if key and not re.fullmatch(r"[A-Za-z0-9+/]{43}", key):
            raise ValueError("an EncodingAESKey is 43 letters and digits")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"one of {', '.join(LOG_LEVELS)}")
        return value.upper()

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
                value = async_ + value.removeprefix(plain)
        if not value.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
            raise ValueError("a sqlite:/// or postgresql:// URL (memberbot runs on those two)")
        return value

    def secrets(self) -> list[str]:
        """Every secret value set, to be hidden wherever it might be printed."""
        fields = (
            self.wechat_app_secret,
            self.wechat_token,
            self.wechat_encoding_aes_key,
            self.telegram_token,
            self.telegram_webhook_secret,
        )
        return [f.get_secret_value() for f in fields if f.get_secret_value()]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
