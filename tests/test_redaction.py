"""Secrets never reach a log line, whatever a library wrote into its message or error."""

from __future__ import annotations

import io
import logging

from bot.redaction import RedactingFilter, redact

TOKEN = "123456:SECRETsecretSECRET"


def test_a_token_in_a_message_or_a_traceback_is_hidden() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter([TOKEN, "short"]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("menu not set: %s", f"InvalidUrlClientError: api/bot{TOKEN}/setMyCommands")
        try:
            raise RuntimeError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getMe")
        except RuntimeError:
            logger.exception("telegram failed")
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert TOKEN not in written
    assert "menu not set: InvalidUrlClientError: api/bot***/setMyCommands" in written
    assert "RuntimeError: cannot reach https://api.telegram.org/bot***/getMe" in written


def test_short_values_are_not_taken_for_secrets() -> None:
    assert redact("a short note", ["short"]) == "a short note"
    assert redact(f"bot{TOKEN}", [TOKEN]) == "bot***"
