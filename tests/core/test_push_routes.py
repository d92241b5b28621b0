"""Where a push goes: quiet hours, freshness, WeChat's windows and templates, as a pure
function of what the queue knows."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.pushes.routes import Later, Send, Skip, route
from core.pushes.work_queue import Push, Recipient
from core.shop_file import load_shop
from tests.conftest import ZONE

RULES = load_shop().pushes
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=ZONE)
ALL = ("telegram", "wechat", "console")


def push(kind: str, *accounts: Recipient, created: datetime = NOON) -> Push:
    return Push(1, kind, {}, created, 1, 1, None, accounts)


def wechat(message_ago: timedelta | None = None, *, sent: int = 0, **more: object) -> Recipient:
    return Recipient(
        1,
        "wechat",
        "o-1",
        last_message_at=NOON - message_ago if message_ago is not None else None,
        cs_since_message=sent,
        **more,  # type: ignore[arg-type]
    )


TELEGRAM = Recipient(2, "telegram", "42")


def test_marketing_waits_out_the_quiet_hours_and_service_does_not() -> None:
    late = datetime(2026, 3, 2, 22, 30, tzinfo=ZONE)
    decision = route(
        push("birthday", TELEGRAM, created=late), late, RULES, ZONE, channels=ALL, templates=()
    )
    assert decision == Later(datetime(2026, 3, 3, 9, 0, tzinfo=ZONE), "quiet hours")
    early = datetime(2026, 3, 3, 8, 59, tzinfo=ZONE)
    assert isinstance(
        route(
            push("winback", TELEGRAM, created=late), early, RULES, ZONE, channels=ALL, templates=()
        ),
        Later,
    )
    assert route(
        push("receipt", TELEGRAM, created=late), late, RULES, ZONE, channels=ALL, templates=()
    ) == Send(TELEGRAM, "telegram")
    nine = datetime(2026, 3, 3, 9, 0, tzinfo=ZONE)
    assert route(
        push("birthday", TELEGRAM, created=late), nine, RULES, ZONE, channels=ALL, templates=()
    ) == Send(TELEGRAM, "telegram")


def test_nothing_is_sent_once_stale_or_without_an_account() -> None:
    later = NOON + timedelta(hours=RULES.fresh_hours, seconds=1)
    assert isinstance(
        route(push("receipt", TELEGRAM), later, RULES, ZONE, channels=ALL, templates=()), Skip
    )
    assert route(push("receipt"), NOON, RULES, ZONE, channels=ALL, templates=()) == Skip(
        "no reachable chat account"
    )


def test_an_account_without_a_sender_here_is_left_for_another_dispatcher() -> None:
    decision = route(
        push("receipt", TELEGRAM), NOON, RULES, ZONE, channels=("console",), templates=()
    )
    assert decision == Later(NOON + timedelta(minutes=1), "no sender here for telegram")


def test_wechat_windows_and_templates() -> None:
    fresh = wechat(timedelta(hours=47))
    assert route(push("birthday", fresh), NOON, RULES, ZONE, channels=ALL, templates=()) == Send(
        fresh, "wechat_cs"
    )
    used_up = wechat(timedelta(hours=1), sent=5)
    closed = wechat(timedelta(hours=49))
    for account in (used_up, closed):
        assert route(
            push("receipt", account), NOON, RULES, ZONE, channels=ALL, templates=("receipt",)
        ) == Send(account, "wechat_template")
        # never marketing as a template; no template configured for refunds: both wait
        assert isinstance(
            route(
                push("birthday", account), NOON, RULES, ZONE, channels=ALL, templates=("receipt",)
            ),
            Later,
        )
        assert (
            route(
                push("refund", account), NOON, RULES, ZONE, channels=ALL, templates=("receipt",)
            ).at
            is None
        )  # type: ignore[union-attr]
        # … or take the member's other account
        assert route(
            push("birthday", account, TELEGRAM), NOON, RULES, ZONE, channels=ALL, templates=()
        ) == Send(TELEGRAM, "telegram")
    clicked = wechat(None, last_event_at=NOON - timedelta(seconds=59), cs_since_event=2)
    assert route(push("birthday", clicked), NOON, RULES, ZONE, channels=ALL, templates=()) == Send(
        clicked, "wechat_cs"
    )
    third = wechat(None, last_event_at=NOON - timedelta(seconds=59), cs_since_event=3)
    minute = wechat(None, last_event_at=NOON - timedelta(seconds=61))
    for account in (third, minute):
        assert isinstance(
            route(push("birthday", account), NOON, RULES, ZONE, channels=ALL, templates=()), Later
        )
