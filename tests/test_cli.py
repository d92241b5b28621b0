"""The command line, in process: one clear line and a non-zero status for every mistake."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select

from bot.cli.running import read_settings, run
from core.context import Context
from core.errors import UnknownSale
from core.people.registration import register_member
from core.people.staff import Role, list_staff
from storage.models import AuditRow, MemberRow, SaleRow
from tests.cli import invoke


async def test_wrong_shop_file_stops_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shop.toml").write_text("[points]\nlifetime_months = -1\n", encoding="utf-8")
    monkeypatch.setenv("MEMBERBOT_SHOP_FILE", str(tmp_path / "shop.toml"))
    monkeypatch.delenv("MEMBERBOT_DATABASE_URL", raising=False)

    result = await invoke("db", "upgrade")

    assert result.exit_code == 2
    assert "points.lifetime_months" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "memberbot.db").exists()


async def test_wrong_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERBOT_TIMEZONE", "Mars/Olympus")
    result = await invoke("db", "upgrade")
    assert result.exit_code == 2
    assert "MEMBERBOT_TIMEZONE: unknown time zone 'Mars/Olympus'" in result.stderr
    monkeypatch.setenv("MEMBERBOT_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("MEMBERBOT_LOCALE", "fr")  # was English without a word
    result = await invoke("db", "upgrade")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "memberbot: MEMBERBOT_LOCALE: Input should be 'zh_CN' or 'en'",
    )


async def test_the_demo_is_not_mixed_into_a_shop_with_members(cli_env: Context) -> None:
    """A shop's own member on file: ``demo`` refuses and adds nothing (its fake sales
    would otherwise land on a real member whose phone is in the demo's block)."""
    await register_member(cli_env, name="Real Customer", phone="13800139922")
    result = await invoke("demo")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "memberbot: This database already has members or staff: the demo shop is loaded only "
        "into an empty one (point MEMBERBOT_DATABASE_URL at another file)."
    )
    async with cli_env.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(MemberRow)) == 1
        assert await s.scalar(select(func.count()).select_from(SaleRow)) == 0
        assert (
            await s.scalar(
                select(func.count()).select_from(AuditRow).where(AuditRow.action.like("demo%"))
            )
            == 0
        )


async def test_an_export_file_that_cannot_be_written_is_named(
    cli_env: Context, tmp_path: Path
) -> None:
    for path in (tmp_path, tmp_path / "no" / "such" / "folder.csv"):
        result = await invoke("members", "export", "-o", str(path))
        assert result.exit_code == 2
        assert result.stderr.startswith(f"memberbot: Cannot write {path}: ")


@pytest.mark.parametrize(
    "args",
    [("serve", "--port", "70000"), ("serve", "--port", "0"), ("outbox", "--errors", "-1")],
)
async def test_numbers_out_of_range_are_refused(cli_env: Context, args: tuple[str, ...]) -> None:
    """Port 70000 listened on 4464 (70000 - 65536) while the log said 70000."""
    result = await invoke(*args)
    assert result.exit_code == 2
    assert "Invalid value" in result.output and "Traceback" not in result.output


async def test_a_database_that_cannot_be_used_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No such folder, a file that is no database, a schema from a newer memberbot, a URL
    of another database: each said in one line, exit status 2, no traceback."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERBOT_LOCALE", "en")
    (tmp_path / "notes.db").write_text("not a database\n", encoding="utf-8")
    newer = tmp_path / "newer.db"
    monkeypatch.setenv("MEMBERBOT_DATABASE_URL", f"sqlite:///{newer}")
    assert (await invoke("db", "upgrade")).exit_code == 0
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    cases = {
        "sqlite:///no/such/folder/x.db": "Cannot use the database: unable to open database file",
        "sqlite:///notes.db": "Cannot use the database: file is not a database",
        f"sqlite:///{newer}": "This database was written by a newer memberbot (Can't locate "
        "revision identified by 'ffffffffffff'): run that version, or a backup of the database.",
        "mysql://shop@db/shop": "MEMBERBOT_DATABASE_URL: a sqlite:/// or postgresql:// URL "
        "(memberbot runs on those two)",
    }
    for url, said in cases.items():
        monkeypatch.setenv("MEMBERBOT_DATABASE_URL", url)
        result = await invoke("stats")
        assert (result.exit_code, result.stderr.strip()) == (2, f"memberbot: {said}"), url
    assert (tmp_path / "notes.db").read_text(encoding="utf-8") == "not a database\n"


async def test_a_dotenv_file_not_in_utf8_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes("MEMBERBOT_WECHAT_APP_ID=你好\n".encode("gbk"))
    result = await invoke("stats")
    assert result.exit_code == 2
    assert result.stderr.strip() == "memberbot: .env: not UTF-8 text (save it as UTF-8)"


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("MEMBERBOT_TELEGRAM_TOKEN", "12345:bad token", "not a bot token"),
        ("MEMBERBOT_TELEGRAM_TOKEN", "badtoken-badtoken", "not a bot token"),
        ("MEMBERBOT_TELEGRAM_API_BASE", "api.telegram.org", "an http:// or https:// address"),
    ],
)
async def test_telegram_settings_are_checked_and_the_token_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    """A token in the wrong form, or a Bot API address without its scheme (aiogram's error
    for that quoted the request URL, token and all), is one line naming the setting."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMBERBOT_TELEGRAM_TOKEN", "123456:SECRETsecretSECRET")
    monkeypatch.setenv(name, value)
    result = await invoke("telegram", "delete-webhook")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"memberbot: {name}: {said}")
    assert "SECRETsecret" not in result.output and "bad token" not in result.output


async def test_staff_add_gives_a_role(cli_env: Context) -> None:
    result = await invoke("staff", "add", "--user-id", "123456", "--role", "owner")
    assert result.exit_code == 0, result.output
    assert "is now owner" in result.output
    staff = await list_staff(cli_env)
    assert [(s.channel, s.external_id, s.role) for s in staff] == [
        ("telegram", "123456", Role.OWNER)
    ]

    refused = await invoke("staff", "add", "--user-id", "9", "--role", "clerk")
    assert refused.exit_code == 2
    assert "The value for store is not valid." in refused.stderr
    assert len(await list_staff(cli_env)) == 1

    # A Telegram id is a number ("@name" would be a staff account nobody can use); a name
    # has the members' limit.
    for args in (
        ("--user-id", "@lily", "--role", "owner"),
        ("--channel", "console", "--user-id", "two words", "--role", "owner"),
        ("--user-id", "77", "--role", "owner", "--name", "x" * 51),
    ):
        refused = await invoke("staff", "add", *args)
        assert refused.exit_code == 2, args
        assert "is not valid." in refused.stderr
    assert len(await list_staff(cli_env)) == 1


async def test_members_import_reports_bad_lines_and_keeps_good_rows(
    cli_env: Context, tmp_path: Path
) -> None:
    source = tmp_path / "members.csv"
    source.write_text(
        "phone,name,birthday\n"
        "13800138001,张三,1990-01-01\n"
        "12345,李四,\n"
        "13800138003,王五,2999-01-01\n"
        "13800138004,赵六,\n"
        ",孙七,\n",
        encoding="utf-8",
    )
    result = await invoke("members", "import", str(source))
    assert result.exit_code == 1
    assert "Imported: 2 new, 0 updated, 3 refused." in result.output
    assert "line 3: 12345 is not a valid mobile phone number." in result.stderr
    assert "line 4: 2999-01-01 is not a valid birthday" in result.stderr
    assert "line 6: The phone is missing." in result.stderr

    exported = tmp_path / "out.csv"
    result = await invoke("members", "export", "-o", str(exported))
    assert result.exit_code == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and "+8613800138004" in lines[2]

    again = await invoke("members", "import", str(exported))
    assert again.exit_code == 0, again.output
    assert "Imported: 0 new" in again.output


async def test_chat_as_staff_needs_a_console_staff_account(cli_env: Context) -> None:
    result = await invoke("chat", "--staff")
    assert result.exit_code == 2
    assert "No console staff account yet" in result.stderr


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"LANG": "en_US.UTF-8"}, "The database schema is up to date."),
        ({"LANG": "zh_CN.UTF-8"}, "数据库结构已是最新。"),
        ({"LANG": "zh_TW.UTF-8"}, "数据库结构已是最新。"),
        ({"LANG": "C.UTF-8"}, "The database schema is up to date."),
        ({}, "The database schema is up to date."),
        # POSIX order: LC_ALL over LC_MESSAGES over LANG.
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "The database schema is up"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "数据库结构已是最新。"),
        # MEMBERBOT_LOCALE, when set, wins over the system's language.
        ({"LANG": "zh_CN.UTF-8", "MEMBERBOT_LOCALE": "en"}, "The database schema is up"),
    ],
)
async def test_the_command_line_speaks_the_systems_language(
    cli_env: Context,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    expected: str,
) -> None:
    """A newcomer reading the English README on an English system gets English output."""
    for name in ("MEMBERBOT_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = await invoke("db", "upgrade")
    assert result.exit_code == 0
    assert result.stdout.startswith(expected)


async def test_staff_add_names_the_role_and_the_chat_app_in_chinese(
    cli_env: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMBERBOT_LOCALE", "zh_CN")
    result = await invoke("staff", "add", "--user-id", "123456", "--role", "owner")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "员工 #1：Telegram 123456 现在的角色是店主。"


async def test_an_error_names_a_store_by_its_name(
    cli_env: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a command could not do reads as the chat says it: "at 旗舰店", not "at main"."""

    async def work(ctx: Context) -> None:
        raise UnknownSale(store="main", receipt_no="C-261207-001")

    with pytest.raises(typer.Exit):
        await asyncio.to_thread(run, read_settings(), work)
    store = cli_env.shop.store("main")
    assert store is not None
    assert capsys.readouterr().err.strip() == (
        f"memberbot: No sale with receipt number C-261207-001 at {store.name_en}."
    )
