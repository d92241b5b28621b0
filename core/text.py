"""Text people type, judged alike wherever it is taken: what counts as saying nothing."""

from __future__ import annotations

import unicodedata


def blank(text: str) -> bool:
    """Nothing a reader would see: only spaces, line breaks, zero-width and control
    characters. ``strip()`` keeps a zero-width space (U+200B), so a "feedback" or a name of
    one would pass it and show as nothing."""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def has_controls(text: str) -> bool:
    """Control characters other than line breaks and tabs: no person types them (NUL, the
    terminal's escapes), and PostgreSQL cannot store NUL."""
    return any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text)
