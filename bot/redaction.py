"""Secrets kept out of what memberbot prints and logs, whatever a library puts in its
messages: aiogram names the request URL in some errors, and that URL holds the bot token."""

from __future__ import annotations

import logging
from collections.abc import Iterable

HIDDEN = "***"
SHORTEST = 8  # shorter "secrets" (a test's "x") would blank out ordinary words


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= SHORTEST:
            text = text.replace(secret, HIDDEN)
    return text


class RedactingFilter(logging.Filter):
    """A handler's filter: every record's message and traceback with the secrets hidden."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= SHORTEST]
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if (hidden := redact(message, self.secrets)) != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self._formatter.formatException(record.exc_info), self.secrets)
        return True
