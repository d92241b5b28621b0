"""Translations and locale-aware formatting (Babel).

Catalogs are the ``.po`` files under ``locales/``; they are compiled in memory on first use,
so there is no build step and no binary ``.mo`` file in the repository. Source strings are
English; mark them with ``N_`` where they are defined and translate with ``gettext`` where
a person reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import format_skeleton as _format_skeleton
from babel.dates import format_time as _format_time
from babel.lists import format_list
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

ROOT = Path(__file__).resolve().parents[1]
LOCALES_DIR = ROOT / "locales"
# The marking functions, as babel.cfg and `pybabel extract -k` know them too.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "N_": None,
    "_": None,  # turn._("…") in dialogs
    "gettext": (2,),
    "ngettext": (2, 3),
}
DOMAIN = "messages"
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def extract_messages() -> list[str]:
    """Every string marked for translation in ``bot`` and ``core`` (source order aside)."""
    found: set[str] = set()
    for package in ("bot", "core"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return sorted(found)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(locale: str, message: str, /, **params: object) -> str:
    """Translate ``message`` into ``locale`` and fill in ``{named}`` parameters (any names:
    a campaign's ``{message}`` too, hence the positional-only arguments)."""
    text = translations(locale).gettext(message)
    return text.format(**params) if params else text


def ngettext(locale: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    text = translations(locale).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def locale_for_hint(hint: str | None) -> str:
    """Our locale for a platform's language code (Telegram's ``zh-hans``, ``en-GB``, …)."""
    code = (hint or "").replace("-", "_").lower()
    for locale in LOCALES:
        if code == locale.lower() or code.split("_")[0] == locale.split("_")[0]:
            return locale
    return DEFAULT_LOCALE


def localized(zh: str, en: str, locale: str) -> str:
    """Pick the shop file's Chinese or English name of a thing (tier, store, reward)."""
    return en if locale.split("_")[0] == "en" else zh


@cache
def _babel_locale(locale: str) -> Locale:
    """Parsed once per language: ``Locale.parse`` costs more than the formatting itself."""
    return Locale.parse(locale)


# Babel's formatting is pure and costs ~0.1 ms a call; pushes and replies format the same
# few amounts, days and the current second again and again, so the results are kept.


def format_items(items: Iterable[str], locale: str) -> str:
    """Items in a sentence, as the reader's language joins them: 咖啡、甜点和茶饮 / coffee,
    cakes, and tea."""
    return format_list(list(items), locale=_babel_locale(locale))


def format_entries(entries: Iterable[str], locale: str) -> str:
    """Entries listed side by side (tags, a receipt's lines), with no "and": 拿铁 ×2、芝士蛋糕 ×1
    / Latte ×2, Cheesecake ×1."""
    return ("、" if locale.startswith("zh") else ", ").join(entries)


@lru_cache(maxsize=4096)
def format_money(fen: int, locale: str, currency: str = "CNY") -> str:
    """Integer fen as the reader expects it, e.g. ¥238.00."""
    return format_currency(Decimal(fen) / 100, currency, locale=_babel_locale(locale))


def format_day(day: date | datetime, locale: str) -> str:
    """A datetime's own calendar day (as Babel takes it). Kept by date, not datetime: two
    datetimes of the same instant in different zones are equal keys but different days."""
    return _format_day(day.date() if isinstance(day, datetime) else day, locale)


@lru_cache(maxsize=1024)
def _format_day(day: date, locale: str) -> str:
    return _format_date(day, format="medium", locale=_babel_locale(locale))


def format_moment(moment: datetime, locale: str, zone: tzinfo) -> str:
    """Shown to the second, in ``zone``: equal instants are equal keys, rightly."""
    return _format_second(moment.replace(microsecond=0), locale, zone)


@lru_cache(maxsize=1024)
def _format_second(moment: datetime, locale: str, zone: tzinfo) -> str:
    return _format_datetime(moment, format="medium", tzinfo=zone, locale=_babel_locale(locale))


def format_time(moment: datetime, locale: str, zone: tzinfo) -> str:
    """The time of day of ``moment`` in ``zone``, short: 14:30 (zh_CN), 2:30 PM (en)."""
    return _format_time(moment, format="short", tzinfo=zone, locale=_babel_locale(locale))


@lru_cache(maxsize=1024)
def format_weekday(day: date, locale: str) -> str:
    """A day with its weekday, short, for a week's list: 1月5日周一 (zh_CN), Mon, Jan 5 (en)."""
    return _format_skeleton("MMMEd", day, locale=_babel_locale(locale))
