"""Where a push goes now, or why not yet: the shop's and the platforms' rules, as one pure
function over what the queue knows (``core.pushes.work_queue.Push``).

- Marketing waits out the quiet hours (shop time); nothing is sent once it is stale.
- The account the member used last is tried first. Telegram (and the console) take any
  message. WeChat takes customer-service messages only inside its reply windows: 48 hours
  and 5 messages after the member's last message, one minute and 3 messages after a menu
  click, follow or scan (all configurable). Outside them, a service kind goes as a template
  message where the shop configured one; marketing never does (WeChat forbids it).
- Nothing possible now: wait for the member's next message, or skip when no account is left.
  An account on a channel this dispatcher has no sender for is left to the one that has.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.pushes.outbox import is_marketing
from core.pushes.work_queue import WECHAT_CS, Push, Recipient
from core.shop import PushRules

WECHAT_TEMPLATE = "wechat_template"
ELSEWHERE_RETRY = timedelta(minutes=1)


@dataclass(frozen=True)
class Send:
    recipient: Recipient
    via: str  # the channel's name, or WECHAT_CS / WECHAT_TEMPLATE


@dataclass(frozen=True)
class Later:
    """Not now: at ``at``, or (``at`` None) when the member writes again."""

    at: datetime | None
    reason: str


@dataclass(frozen=True)
class Skip:
    reason: str


Route = Send | Later | Skip


def route(
    push: Push,
    now: datetime,
    rules: PushRules,
    zone: ZoneInfo,
    *,
    channels: Collection[str],
    templates: Collection[str],
) -> Route:
    """``channels``: those this dispatcher can send on; ``templates``: the kinds with a
    WeChat template configured."""
    if now - push.created_at > timedelta(hours=rules.fresh_hours):
        return Skip("stale: not sendable in time")
    marketing = is_marketing(push.kind)
    if marketing and (quiet_until := marketing_waits_until(now, rules, zone)) is not None:
        return Later(quiet_until, "quiet hours")
    if not push.recipients:
        return Skip("no reachable chat account")
    accounts = [r for r in push.recipients if r.channel in channels]
    if not accounts:  # another dispatcher (e.g. ``memberbot chat`` for the console) sends it
        elsewhere = ", ".join(sorted({r.channel for r in push.recipients}))
        return Later(now + ELSEWHERE_RETRY, f"no sender here for {elsewhere}")
    for account in accounts:
        if account.channel != "wechat":
            return Send(account, account.channel)
        if _window_open(account, now, rules):
            return Send(account, WECHAT_CS)
    if not marketing and push.kind in templates:
        wechat = next(a for a in accounts if a.channel == "wechat")
        return Send(wechat, WECHAT_TEMPLATE)
    return Later(None, "WeChat reply window closed: waiting for the member's next message")


def _window_open(account: Recipient, now: datetime, rules: PushRules) -> bool:
    message, event = account.last_message_at, account.last_event_at
    if (
        message is not None
        and now < message + timedelta(hours=rules.wechat_window_hours)
        and account.cs_since_message < rules.wechat_window_messages
    ):
        return True
    return (
        event is not None
        and now < event + timedelta(seconds=rules.wechat_event_window_seconds)
        and account.cs_since_event < rules.wechat_event_window_messages
    )


def marketing_waits_until(now: datetime, rules: PushRules, zone: ZoneInfo) -> datetime | None:
    """When marketing queued ``now`` may go: None at once, else the end of the quiet hours
    (what staff who send a campaign are told)."""
    if not rules.is_quiet(now.astimezone(zone).time()):
        return None
    return _quiet_end(now, rules, zone)


def _quiet_end(now: datetime, rules: PushRules, zone: ZoneInfo) -> datetime:
    """The next moment the quiet hours end, shop time."""
    local = now.astimezone(zone)
    end = local.replace(
        hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0, microsecond=0
    )
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)
