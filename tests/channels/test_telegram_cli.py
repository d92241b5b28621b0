"""`memberbot telegram …` and `serve --telegram-polling` against the fake Bot API server."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FixedClock
from core.context import Context
from core.people.members import member_for_identity
from tests.channels.fake_telegram import FakeTelegram
from tests.cli import invoke
from tests.test_end_to_end import MEMBERBOT, STARTUP_TIMEOUT, free_port, process_env

SECRET = "hook-secret"


@pytest.fixture
def bot_env(cli_env: Context, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMBERBOT_TELEGRAM_TOKEN", fake_telegram.token)
    monkeypatch.setenv("MEMBERBOT_TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("MEMBERBOT_TELEGRAM_API_BASE", fake_telegram.base_url)


@pytest.mark.usefixtures("bot_env")
async def test_set_and_delete_webhook(fake_telegram: FakeTelegram) -> None:
    result = await invoke("telegram", "set-webhook", "https://shop.example/telegram")
    assert result.exit_code == 0, result.output
    assert "Telegram now delivers updates to https://shop.example/telegram." in result.stdout
    assert (fake_telegram.webhook_url, fake_telegram.webhook_secret) == (
        "https://shop.example/telegram",
        SECRET,
    )
    (call,) = fake_telegram.calls_to("setWebhook")
    assert call.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]

    result = await invoke("telegram", "delete-webhook")
    assert result.exit_code == 0, result.output
    assert fake_telegram.webhook_url == ""


@pytest.mark.usefixtures("bot_env")
async def test_set_webhook_refused_by_telegram_is_one_line() -> None:
    result = await invoke("telegram", "set-webhook", "http://not-https.example/")
    assert result.exit_code == 2
    assert result.stderr.startswith("memberbot: Telegram refused:")
    assert "Traceback" not in result.output


async def test_telegram_commands_need_the_token(cli_env: Context) -> None:
    result = await invoke("telegram", "delete-webhook")
    assert result.exit_code == 2
    assert "Set MEMBERBOT_TELEGRAM_TOKEN first." in result.stderr


async def test_serve_with_long_polling_answers_and_stops(
    ctx: Context, clock: FixedClock, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    clock.set(datetime.now(UTC))  # the fake dates its updates by it; serve runs on real time
    env = process_env(ctx) | {
        "MEMBERBOT_TELEGRAM_TOKEN": fake_telegram.token,
        "MEMBERBOT_TELEGRAM_API_BASE": fake_telegram.base_url,
    }
    server = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "serve",
        "--telegram-polling",
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await fake_telegram.wait_for_calls("getUpdates", timeout=STARTUP_TIMEOUT)
        await fake_telegram.push_update(fake_telegram.message_update(777, "/start"))
        (welcome,) = await fake_telegram.wait_for_calls("sendMessage", timeout=STARTUP_TIMEOUT)
        assert "Do you agree?" in welcome.params["text"]
        server.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(server.communicate(), STARTUP_TIMEOUT)
        assert server.returncode == 0, output.decode()
        assert "Traceback" not in output.decode()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert await member_for_identity(ctx, "telegram", "777") is None  # only welcomed so far
