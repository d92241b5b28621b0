"""`memberbot stats`: the owner's key figures as a table in the terminal, in the settings'
language, and the trend as a PNG file on request."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from bot.i18n import format_money
from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.people.registration import register_member
from core.pushes import winback
from tests.cli import invoke
from tests.conftest import ZONE


def parse(lines: list[str]) -> dict[str, str]:
    """The table's rows by label; every value starts in the same column."""
    table = {}
    columns = set()
    for line in lines:
        label, value = re.split(r" {2,}", line.strip(), maxsplit=1)
        table[label] = value
        columns.add(len(line) - len(value))
    assert len(columns) == 1, lines
    return table


async def shop_with_sales(ctx: Context, clock: FixedClock) -> None:
    clock.set(datetime(2025, 12, 1, 12, tzinfo=ZONE))
    a = (await register_member(ctx, name="甲", phone="13800000001", home_store="main")).id
    b = (await register_member(ctx, name="乙", phone="13800000002", home_store="riverside")).id
    for day, store, member, yuan in (
        (2, "main", a, 238),
        (3, "riverside", b, 100),
        (4, "main", a, 1_000),
        (4, "riverside", a, 62),
    ):
        clock.set(datetime(2026, 1, day, 12, tzinfo=ZONE))
        await loyalty.record_sale(
            ctx,
            store=store,
            receipt_no=f"R-{day}-{store}",
            member_id=member,
            amount_fen=yuan * 100,
            notify=False,
        )


async def test_stats_prints_the_key_figures(cli_env: Context, clock: FixedClock) -> None:
    await shop_with_sales(cli_env, clock)

    result = await invoke("stats", "--from", "2026-01-01", "--to", "2026-01-05")

    assert result.exit_code == 0, result.output
    heading, *lines = result.output.splitlines()
    assert heading == "all stores, Jan 1, 2026 – Jan 5, 2026"
    table = parse(lines)
    assert table["Members"] == "2"
    assert table["Silver"] == "1"  # a crossed ¥1,000 on the 4th
    assert table["Purchases"] == "4"
    assert table["Net sales"] == format_money(140_000, "en")
    assert table["Average ticket"] == format_money(35_000, "en")
    assert table["Buyers who came back"] == "50.0% (1 of 2)"
    assert table["Points issued"] == str(20 + 10 + 100)  # ¥62 earns nothing
    assert table["Potential (never bought)"] == "0"
    assert table["Feedback"] == "0 (average rating 0.0)"

    store = await invoke("stats", "--store", "riverside", "--from", "2026-01-01")
    assert store.exit_code == 0, store.output
    assert store.output.startswith("Riverside store, Jan 1, 2026 – ")
    assert parse(store.output.splitlines()[1:])["Net sales"] == format_money(16_200, "en")


async def test_stats_in_chinese_and_with_a_chart(
    cli_env: Context, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await shop_with_sales(cli_env, clock)
    monkeypatch.setenv("MEMBERBOT_LOCALE", "zh_CN")
    chart = tmp_path / "trend.png"

    result = await invoke(
        "stats", "--store", "main", "--period", "last-year", "--chart", str(chart)
    )

    assert result.exit_code == 0, result.output
    assert result.output.startswith("旗舰店")
    assert "普通" in result.output  # tier names from the shop file, in Chinese
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--period", "fortnight"),
        ("--from", "2026-13-01"),
        ("--to", "2026-01-05"),
        ("--from", "2026-01-05", "--to", "2026-01-01"),
        ("--from", "0001-01-01"),  # the period before it, the comparison, is before year 1
        ("--from", "1000-01-01"),
        ("--from", "2020-01-01", "--to", "9999-12-31"),
    ],
)
async def test_stats_refuses_a_bad_period(cli_env: Context, args: tuple[str, ...]) -> None:
    result = await invoke("stats", *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == "memberbot: The value for period is not valid."


async def test_stats_says_when_the_chart_cannot_be_written(
    cli_env: Context, tmp_path: Path
) -> None:
    result = await invoke("stats", "--chart", str(tmp_path / "missing" / "trend.png"))
    assert result.exit_code == 2
    assert result.stderr.startswith("memberbot: Cannot write ")
    assert "Traceback" not in result.output


async def test_stats_of_an_unknown_store(cli_env: Context) -> None:
    result = await invoke("stats", "--store", "nowhere")
    assert result.exit_code == 2
    assert "There is no store with the code nowhere." in result.stderr


async def test_stats_show_what_the_winback_messages_brought(
    cli_env: Context, clock: FixedClock
) -> None:
    """Two members silent for 200 days get the win-back message on 1 July; one buys ¥88
    ten days later."""
    ctx = cli_env
    ids = []
    for n in (1, 2):
        found = await register_member(
            ctx,
            name=f"M{n}",
            phone=f"1380000010{n}",
            marketing_consent=True,
            channel="telegram",
            external_id=str(n),
        )
        ids.append(found.id)
        clock.set(datetime(2025, 12, 13, 12, tzinfo=ZONE))
        await loyalty.record_sale(
            ctx, store="main", receipt_no=f"OLD-{n}", member_id=found.id, amount_fen=100
        )
    clock.set(datetime(2026, 7, 1, 10, tzinfo=ZONE))
    assert await winback.win_back(ctx) == 2
    clock.set(datetime(2026, 7, 11, 15, tzinfo=ZONE))
    await loyalty.record_sale(
        ctx, store="main", receipt_no="BACK-1", member_id=ids[0], amount_fen=8_800
    )

    result = await invoke("stats", "--from", "2026-07-01", "--to", "2026-07-31")
    assert result.exit_code == 0, result.output
    table = parse(result.output.splitlines()[1:])
    assert table["Win-back messages sent"] == "0.0% (0 of 2)"  # no dispatcher ran here
    assert table["came back within 30 days"] == "50.0% (1 of 2)"
    assert table["their purchases"] == format_money(8_800, "en")
