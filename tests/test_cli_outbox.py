"""`memberbot outbox`: what the pushes are doing, by kind, with the latest reasons; and
`outbox send`, which drains it once with the configured channels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import loyalty
from core.clock import FixedClock
from core.context import Context
from core.people.registration import register_member
from tests.cli import invoke


async def test_outbox_counts_by_kind_and_says_why_a_push_did_not_go(
    cli_env: Context, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = cli_env
    clock.set(datetime.now(UTC))  # the command line runs on the real clock
    result = await invoke("outbox")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "The outbox is empty."

    member = await register_member(
        ctx, name="Ann", phone="13900000001", channel="telegram", external_id="77", locale="en"
    )
    await loyalty.record_sale(
        ctx, store="main", receipt_no="R-1", member_id=member.id, amount_fen=5_000
    )
    result = await invoke("outbox")
    assert result.exit_code == 0, result.output
    header, receipt = result.output.splitlines()
    assert header.split() == ["kind", "queued", "sending", "waiting", "sent", "failed", "skipped"]
    assert receipt.split() == ["receipt", "1", "0", "0", "0", "0", "0"]

    result = await invoke("outbox", "send")  # no Telegram bot configured here
    assert result.exit_code == 0, result.output
    result = await invoke("outbox")
    lines = result.output.splitlines()
    assert lines[1].split() == ["receipt", "1", "0", "0", "0", "0", "0"]  # still queued
    assert lines[3] == "Latest errors and reasons:"
    assert lines[4].endswith("receipt  queued: no sender here for Telegram")
    monkeypatch.setenv("MEMBERBOT_LOCALE", "zh_CN")
    lines = (await invoke("outbox")).output.splitlines()
    assert lines[1].split() == ["消费小票", "1", "0", "0", "0", "0", "0"]
    assert lines[4].endswith("消费小票  排队中：本机没有Telegram的发送通道")
