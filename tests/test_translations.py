"""Every text a person reads is translated: both catalogs hold every extracted message."""

from __future__ import annotations

import ast
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.error_texts import ERROR_TEXTS, FIELD_NAMES, describe
from bot.i18n import (
    LOCALES,
    LOCALES_DIR,
    extract_messages,
    format_day,
    format_entries,
    format_items,
    format_moment,
    format_money,
    gettext,
)
from core import errors

ROOT = Path(__file__).resolve().parents[1]
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
# ASCII punctuation touching Chinese characters or full-width marks.
ASCII_NEXT_TO_CHINESE = re.compile(f"[{CJK}][,.:;!?()]|[,:;!?()][{CJK}]")
# A text of placeholders and marks alone ("{when}，{where}"): its values are Chinese here.
VALUES_ONLY = re.compile(r"(?:\{[^{}]*\}|[^A-Za-z0-9])*\{[^{}]*\}(?:\{[^{}]*\}|[^A-Za-z0-9])*")
# What a Chinese text may write in Latin letters: names of products and channels, letters
# with a meaning of their own, and what the reader types or reads as a code.
LATIN_ALLOWED = {"memberbot", "WeChat", "Telegram", "QR", "ID", "VIP", "A", "B"} | {
    "CSV",
    "PNG",
    "JSON",
}
KEPT_AS_WRITTEN = re.compile(
    r"\{[^{}]*\}"  # placeholders
    r"|`[^`]*`"  # commands and code the reader types
    r"|/[a-z_]+(?: [a-z][a-z-]*)?"  # commands and their literal arguments: /event new
    r"|https?://\S+"
    r"|\bMEMBERBOT_[A-Z_]+\b"  # settings the reader sets
    r"|\b(?:YYYY-MM-DD|HH:MM)\b"  # formats the reader types
    r"|\b\d+[a-z]\b"  # amounts with a unit the reader types: 30d
)


def _catalog(locale: str) -> list[tuple[str, str]]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    return [
        (m.id if isinstance(m.id, str) else m.id[0], m.string)
        for m in catalog
        if m.id and isinstance(m.string, str)
    ]


def test_chinese_texts_use_full_width_punctuation() -> None:
    """``locales/punctuation.py`` fixes what this finds; the rest is for a person to write."""
    wrong = [
        text
        for _id, text in _catalog("zh_CN")
        if ASCII_NEXT_TO_CHINESE.search(text)
        or (VALUES_ONLY.fullmatch(text) and re.search(r"[,:;!?()]", text))
    ]
    assert wrong == []


def test_chinese_texts_have_no_english_words() -> None:
    wrong = {
        text: words
        for _id, text in _catalog("zh_CN")
        if (words := set(re.findall(r"[A-Za-z]+", KEPT_AS_WRITTEN.sub(" ", text))) - LATIN_ALLOWED)
    }
    assert wrong == {}


def test_english_texts_have_no_chinese() -> None:
    wrong = [text for _id, text in _catalog("en") if re.search(f"[{CJK}]", text)]
    assert wrong == []


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_is_complete(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and not m.fuzzy
    }
    assert set(extract_messages()) - translated == set()


def test_every_domain_error_has_a_text() -> None:
    codes = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    }
    assert codes - ERROR_TEXTS.keys() == set()


def test_errors_read_naturally_in_both_languages() -> None:
    error = errors.NotEnoughPoints(balance=80, needed=100)
    assert describe(error, "en", None) == "Not enough points: you have 80, this needs 100."
    assert describe(error, "zh_CN", None) == "积分不足：您有 80 积分，需要 100 积分。"
    refund = errors.RefundTooLarge(refundable_fen=1_050)
    assert "¥10.50" in describe(refund, "zh_CN", None)
    assert gettext("zh_CN", "The database schema is up to date.") != (
        "The database schema is up to date."
    )


def test_money_is_formatted_for_the_reader() -> None:
    assert format_money(23_800, "zh_CN") == "¥238.00"
    assert format_money(23_800, "en").endswith("¥238.00")


def test_kept_formats_tell_apart_what_shows_differently() -> None:
    """Formatted days and moments are kept; equal instants in two zones are two days."""
    shanghai = ZoneInfo("Asia/Shanghai")
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert format_day(evening, "en") == "Dec 1, 2026"
    assert format_day(evening.astimezone(shanghai), "en") == "Dec 2, 2026"
    assert format_moment(evening, "en", shanghai) == "Dec 2, 2026, 4:00:00\u202fAM"
    later = evening.replace(second=1)
    assert format_moment(later, "en", shanghai) == "Dec 2, 2026, 4:00:01\u202fAM"


def test_every_field_named_in_an_error_has_a_label() -> None:
    named: set[str] = set()
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "field"
                and isinstance(node.value, ast.Constant)
            ):
                named.add(node.value.value)
    assert named - FIELD_NAMES.keys() == set()


def test_the_default_shop_files_chinese_uses_full_width_punctuation() -> None:
    """Tier perks, reward and store names reach members as they are written in the shop
    file: its Chinese obeys the catalogs' rule (a perk list read "积分 1.1 倍,生日礼券")."""
    shop = tomllib.loads((ROOT / "core" / "shop_default.toml").read_text(encoding="utf-8"))
    texts: list[str] = []

    def collect(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(shop)
    assert [t for t in texts if ASCII_NEXT_TO_CHINESE.search(t)] == []


def test_lists_are_joined_as_the_reader_writes_them() -> None:
    assert format_items(["低频", "低消费"], "zh_CN") == "低频和低消费"
    assert format_items(["低频", "低消费", "咖啡"], "zh_CN") == "低频、低消费和咖啡"
    assert format_items(["coffee", "cakes", "tea"], "en") == "coffee, cakes, and tea"
    assert format_entries(["拿铁 ×2", "芝士蛋糕 ×1"], "zh_CN") == "拿铁 ×2、芝士蛋糕 ×1"
    assert format_entries(["Latte ×2", "Cheesecake ×1"], "en") == "Latte ×2, Cheesecake ×1"
