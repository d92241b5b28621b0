"""`memberbot demo && memberbot serve`, as a new user runs them, answers the health endpoint
and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from asyncio.subprocess import Process
from pathlib import Path

import aiohttp

from core.context import Context
from core.people.members import find_members

MEMBERBOT = str(Path(sys.executable).with_name("memberbot"))
STARTUP_TIMEOUT = 60


def process_env(ctx: Context | None = None) -> dict[str, str]:
    """This environment without memberbot settings, in English, on ``ctx``'s database if
    given (else the embedded default in the working directory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMBERBOT_")}
    env["MEMBERBOT_LOCALE"] = "en"
    if ctx is not None:
        env["MEMBERBOT_DATABASE_URL"] = ctx.db.url.render_as_string(hide_password=False)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_demo_then_serve_answers_health(ctx: Context, tmp_path: Path) -> None:
    # On PostgreSQL the test database stands in for the shop's server.
    env = process_env(None if ctx.db.is_sqlite else ctx)

    status, output = await run("demo", cwd=tmp_path, env=env)
    assert status == 0, output
    assert "300 members" in output
    if ctx.db.is_sqlite:
        assert (tmp_path / "memberbot.db").exists()  # the embedded default, in the cwd
    status, output = await run("demo", cwd=tmp_path, env=env)
    assert (status, "already loaded" in output) == (0, True)

    port = free_port()
    server, log = await serve(port, cwd=tmp_path, env=env)
    try:
        assert (await health(port))["status"] == "ok"
        log += await stop(server)
        assert server.returncode == 0, log
        assert "Traceback" not in log
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


async def serve(port: int, *, cwd: Path, env: dict[str, str]) -> tuple[Process, str]:
    """``memberbot serve`` started, and its output until it listens."""
    server = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "serve",
        "--port",
        str(port),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert server.stdout is not None
    log = ""
    while "listening on" not in log:
        line = await asyncio.wait_for(server.stdout.readline(), STARTUP_TIMEOUT)
        assert line, f"serve exited early:\n{log}"
        log += line.decode()
    return server, log


async def health(port: int) -> dict[str, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/health") as response,
    ):
        assert response.status == 200
        return dict(await response.json())


async def stop(server: Process) -> str:
    """Ctrl-C, and the output until the process has ended."""
    server.send_signal(signal.SIGINT)
    rest, _ = await asyncio.wait_for(server.communicate(), STARTUP_TIMEOUT)
    return rest.decode()


async def test_the_log_level_is_a_setting(ctx: Context, tmp_path: Path) -> None:
    """At DEBUG the server logs every request it answers; a level it does not know is
    refused in one line."""
    env = process_env(ctx) | {"MEMBERBOT_LOG_LEVEL": "debug"}
    port = free_port()
    server, log = await serve(port, cwd=tmp_path, env=env)
    try:
        await health(port)
        log += await stop(server)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert "DEBUG aiohttp.access: 127.0.0.1 GET /health 200" in log
    assert "DEBUG aiosqlite" not in log  # a line per database call says nothing

    env["MEMBERBOT_LOG_LEVEL"] = "loud"
    status, output = await run("serve", "--port", str(port), cwd=tmp_path, env=env)
    assert status == 2
    assert "MEMBERBOT_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR" in output
    assert "Traceback" not in output


async def test_serve_on_a_taken_port_says_so(ctx: Context, tmp_path: Path) -> None:
    env = process_env(ctx)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, output = await run("serve", "--port", str(port), cwd=tmp_path, env=env)
    assert status == 2
    assert "memberbot: Cannot listen on that address" in output
    assert "Traceback" not in output


async def test_console_chat_registers_and_shows_points(ctx: Context, tmp_path: Path) -> None:
    env = process_env(ctx)
    typed = "1\nAlice <b>*_\n138 0013 8000\n1990-02-30\n1990-05-01\n1\n1\n"
    process = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "chat",
        "--user",
        "alice",
        "--lang",
        "en",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(typed.encode()), STARTUP_TIMEOUT)
    text = output.decode()
    assert process.returncode == 0, text
    assert "  1) Agree\n  2) Decline\n  3) 中文\n" in text
    assert "1990-02-30 is not a valid birthday (use YYYY-MM-DD)." in text
    assert "Name: Alice <b>*_\nMobile: +8613800138000\nBirthday: May 1, 1990" in text
    assert "your member number is M000001" in text
    assert "Points: 0\nTier: Member" in text
    found = await find_members(ctx, "13800138000")
    assert [(m.name, m.locale) for m in found] == [("Alice <b>*_", "en")]


async def test_console_chat_as_staff_runs_staff_commands(ctx: Context, tmp_path: Path) -> None:
    env = process_env(ctx)
    status, output = await run(
        "staff", "add", "--channel", "console", "--user-id", "boss", cwd=tmp_path, env=env
    )
    assert status == 0, output
    process = await asyncio.create_subprocess_exec(
        MEMBERBOT,
        "chat",
        "--staff",
        "--lang",
        "en",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output_bytes, _ = await asyncio.wait_for(process.communicate(b"/staff\n"), STARTUP_TIMEOUT)
    text = output_bytes.decode()
    assert process.returncode == 0, text
    assert "#1 boss — owner, all stores (console)" in text


LOADS_WECHAT_ONLY = """
import asyncio, sys
from bot.cli import app
from bot.composition import compose, open_context
from bot.settings import Settings

async def main():
    settings = Settings(wechat_token="t", wechat_app_id="wx1", wechat_app_secret="s")
    ctx = await open_context(settings)
    process = compose(ctx, settings)
    print(sorted(process.pushes))
    await process.close()
    await ctx.db.dispose()

asyncio.run(main())
print(sorted({m.split(".")[0] for m in sys.modules} & {"aiogram", "wechatpy"}))
"""


async def test_a_shop_without_telegram_does_not_load_aiogram(tmp_path: Path) -> None:
    """aiogram takes ~130 MB and ~4 s to import: only a shop on Telegram pays for it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LOADS_WECHAT_ONLY,
        cwd=tmp_path,
        env=process_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
    assert process.returncode == 0, output.decode()
    assert output.decode().splitlines()[-2:] == ["['wechat']", "['wechatpy']"]
