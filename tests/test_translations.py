"""Every text a person reads is translated: both catalogs hold every extracted message."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, LOCALES_DIR, extract_messages, format_money, gettext
from bot.messages import ERROR_TEXTS, FIELD_NAMES, describe
from core import errors

ROOT = Path(__file__).resolve().parents[1]


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
    assert describe(error, "en") == "Not enough points: you have 80, this needs 100."
    assert describe(error, "zh_CN") == "积分不足:您有 80 积分,需要 100 积分。"
    refund = errors.RefundTooLarge(refundable_fen=1_050)
    assert "¥10.50" in describe(refund, "zh_CN")
    assert gettext("zh_CN", "The database schema is up to date.") != (
        "The database schema is up to date."
    )


def test_money_is_formatted_for_the_reader() -> None:
    assert format_money(23_800, "zh_CN") == "¥238.00"
    assert format_money(23_800, "en").endswith("¥238.00")


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
