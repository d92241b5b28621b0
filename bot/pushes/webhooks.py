"""Posting webhook events to other systems' endpoints, signed as Stripe signs its own: the
``Memberbot-Signature`` header holds ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
under the endpoint's secret, so a receiver can check who sent the body and refuse a replay
of an old one (README "Webhooks" shows how in a few lines)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from core.integrations.deliveries import Target

TIMEOUT = ClientTimeout(total=10)  # a receiver answers at once and works afterwards


class WebhookFailed(Exception):
    """No 2xx answer: the reason, to be recorded (never the secret)."""


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, raw: bytes) -> str:
    signed = f"{timestamp}.".encode() + raw
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookSender:
    """One short-lived HTTP session per post: deliveries are few next to chat pushes, and no
    session is left open by a dispatcher that is stopped."""

    def __init__(self, timeout: ClientTimeout = TIMEOUT) -> None:
        self.timeout = timeout

    async def post(self, target: Target, payload: dict[str, Any], now: datetime) -> int:
        """The HTTP status of a 2xx answer; WebhookFailed otherwise."""
        raw = body(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "memberbot-webhooks",
            "Memberbot-Event-Id": str(payload["id"]),
            "Memberbot-Signature": signature(target.secret, int(now.timestamp()), raw),
        }
        try:
            async with (
                ClientSession(timeout=self.timeout) as session,
                session.post(target.url, data=raw, headers=headers, allow_redirects=False) as r,
            ):
                if not 200 <= r.status < 300:
                    raise WebhookFailed(f"HTTP {r.status}")
                return r.status
        except TimeoutError:
            raise WebhookFailed("no answer in time") from None
        except ClientError as exc:
            raise WebhookFailed(f"cannot connect: {type(exc).__name__}") from None
