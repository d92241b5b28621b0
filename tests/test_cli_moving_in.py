"""``memberbot import balances``: moving in from another system, seen by the shop at the
command line and by the member in the points flow."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.dialogs.engine.types import Event, Reply, Sender
from bot.dialogs.registry import create_dialogs
from core.clock import FixedClock
from core.context import Context
from core.ledger.points import expire_points
from core.people.registration import register_member
from storage.models import LedgerRow, MigratedBalanceRow
from tests.cli import invoke
from tests.conftest import ZONE
from tests.factories import balance, count

BALANCES = (
    "phone,name,points,expires,tier,lifetime_spend_yuan\n"
    "13800138001,王芳,1200,2099-12-31,金卡,8650.00\n"
    "12345,李四,300,,,\n"
    '13800138003,赵六,"300;150","2099-06-30;2099-12-31",silver,"¥1,200"\n'
    "13800138004,钱七,50,2020-01-01,,\n"
)


async def say(ctx: Context, user: str, **event: str) -> list[Reply]:
    return await create_dialogs(ctx).handle(Event(Sender("console", user), **event))


async def test_import_balances_keeps_good_rows_lists_bad_ones_and_changes_nothing_twice(
    cli_env: Context, clock: FixedClock, tmp_path: Path
) -> None:
    here = await register_member(
        cli_env, name="王芳", phone="13800138001", locale="en", channel="console", external_id="u1"
    )
    source = tmp_path / "balances.csv"
    source.write_text(BALANCES, encoding="utf-8")

    result = await invoke("import", "balances", str(source))

    assert result.exit_code == 1
    assert "Imported: 2 new, 0 updated, 2 refused." in result.output
    assert "line 3: 12345 is not a valid mobile phone number." in result.stderr
    assert "line 5: The points expiring on 2020-01-01 have expired already." in result.stderr
    assert await balance(cli_env, here.id) == 1200
    lots = await count(cli_env, LedgerRow)

    again = await invoke("import", "balances", str(source))
    assert "Imported: 0 new, 0 updated, 2 refused." in again.output
    assert "Already on file and unchanged: 2." in again.output
    assert await count(cli_env, LedgerRow) == lots

    source.write_text("phone,name,points\n13800138001,王芳,5000\n", encoding="utf-8")
    changed = await invoke("import", "balances", str(source))
    assert changed.exit_code == 1
    assert "line 2: This member's balance was carried over on" in changed.stderr
    assert "with 1200 points" in changed.stderr
    assert await balance(cli_env, here.id) == 1200

    (points,) = await say(cli_env, "u1", text="/points")
    assert "Points: 1200" in points.text
    assert "Tier: Gold" in points.text
    assert "carried over" in points.text
    (why,) = await say(cli_env, "u1", payload=points.choices[0].payload)
    assert why.text == (
        "Points carried over from your previous membership.\nThey expire on Dec 31, 2099."
    )

    clock.set(datetime(2100, 1, 1, 0, 0, tzinfo=ZONE))
    expired = await expire_points(cli_env)
    assert expired.points == 1200 + 300 + 150
    assert await balance(cli_env, here.id) == 0


async def test_a_file_of_five_thousand_members_moves_in(cli_env: Context, tmp_path: Path) -> None:
    source = tmp_path / "balances.csv"
    rows = (
        f"139{i:08d},会员{i},{i % 700},2099-12-31,{'gold' if i % 10 == 0 else ''},{i % 9000}\n"
        for i in range(5000)
    )
    source.write_text(
        "phone,name,points,expires,tier,lifetime_spend_yuan\n" + "".join(rows), encoding="utf-8"
    )

    result = await invoke("import", "balances", str(source))

    assert result.exit_code == 0, result.output
    assert "Imported: 5000 new, 0 updated, 0 refused." in result.output
    assert await count(cli_env, MigratedBalanceRow) == 5000
