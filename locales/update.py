"""Refresh the catalogs after strings changed: ``.venv/bin/python locales/update.py``.

Extracts every marked string from bot/ and core/ (bot.i18n.extract_messages), keeps
existing translations, fills the English catalog with the source text (source strings are
English) and lists the Chinese translations still missing; tests/test_translations.py fails
until there are none.
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES, LOCALES_DIR, extract_messages

SOURCE_LOCALE = "en"


def update(locale: str, messages: list[str]) -> list[str]:
    """Rewrite one catalog; returns the messages that still lack a translation."""
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = Catalog(locale=locale)
    if path.exists():
        with path.open("rb") as f:
            old = read_po(f, locale=locale)
    catalog = Catalog(locale=locale, project="memberbot", fuzzy=False)
    missing = []
    for message in messages:
        previous = old.get(message)
        text = previous.string if previous and previous.string else ""
        if not text and locale == SOURCE_LOCALE:
            text = message
        if not text:
            missing.append(message)
        catalog.add(message, text)
    with path.open("wb") as f:
        write_po(f, catalog, no_location=True, sort_output=True, width=100)
    return missing


def main() -> int:
    messages = extract_messages()
    missing = {locale: update(locale, messages) for locale in LOCALES}
    for locale, texts in missing.items():
        for text in texts:
            print(f"{locale}: untranslated: {text!r}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
