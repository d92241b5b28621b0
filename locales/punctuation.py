"""Give the Chinese catalog full-width punctuation: ``.venv/bin/python locales/punctuation.py``.

Chinese sentences take ，。：；！？（）and “”; placeholders (``{name}``), commands (``/sale``),
numbers and times (``1,200.50``, ``14:00``), URLs, ``code spans`` and Latin words keep their
ASCII punctuation. Re-runnable: it only rewrites what is still ASCII next to Chinese, prints
each change for review, and ``--check`` only lists them (exit 1 when there are any).
tests/test_translations.py refuses what this leaves, so a new text is caught either way.
"""

from __future__ import annotations

import re
import sys

from babel.messages.pofile import read_po, write_po

from bot.i18n import LOCALES_DIR

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")
# Full-width marks that count as Chinese context, like the characters themselves.
FULL_WIDTH = "，。：；！？（）「」“”、《》…—"
# Spans whose ASCII punctuation belongs to them and is kept as it is.
PROTECTED = re.compile(
    r"\{[^{}]*\}"  # placeholders
    r"|`[^`]*`"  # commands and code the reader types
    r"|https?://\S+"  # URLs
    r"|\d+(?:[.,:]\d+)+"  # amounts, decimals, times
    r"|\b\d+\.(?=\s)"  # list numbers "1. "
    r"|\.{3}"  # an ellipsis is rewritten on its own
)
FULL = {",": "，", ".": "。", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}


def _chinese(ch: str) -> bool:
    return bool(ch) and (bool(CJK_CHAR.match(ch)) or ch in FULL_WIDTH)


def _neighbour(text: str, index: int, step: int) -> str:
    """The nearest character that is not a space, skipping over placeholders."""
    i = index + step
    while 0 <= i < len(text):
        ch = text[i]
        if ch == " ":
            i += step
            continue
        if ch in "{}":  # a placeholder stands for a value written in the sentence
            i = text.find("}", i) + 1 if step > 0 else text.rfind("{", 0, i) - 1
            continue
        return ch
    return ""


def _shielded(text: str) -> set[int]:
    return {i for m in PROTECTED.finditer(text) for i in range(m.start(), m.end())}


def _paren_pairs(text: str, shielded: set[int]) -> dict[int, int]:
    pairs, stack = {}, []
    for i, ch in enumerate(text):
        if i in shielded:
            continue
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            pairs[stack.pop()] = i
    return pairs


def values_only(text: str) -> bool:
    """A text of placeholders and marks alone ("{when},{where}"): in the Chinese catalog its
    values are Chinese, so its marks are too."""
    rest = re.sub(r"\{[^{}]*\}", "", text)
    return "{" in text and not re.search(f"[A-Za-z0-9{CJK}]", rest)


def fix(text: str) -> str:
    """``text`` with full-width punctuation wherever it punctuates Chinese."""
    everywhere = values_only(text)
    if not CJK_CHAR.search(text) and not everywhere:
        return text
    text = re.sub(f"(?<=[{CJK}])\\.{{3}}", "……", text)
    shielded = _shielded(text)
    chars = list(text)
    for open_, close in _paren_pairs(text, shielded).items():
        inside = text[open_ + 1 : close]
        around = _neighbour(text, open_, -1) + _neighbour(text, close, 1)
        if everywhere or CJK_CHAR.search(inside) or any(_chinese(ch) for ch in around):
            chars[open_], chars[close] = "（", "）"
    text = "".join(chars)  # full-width brackets are Chinese context for the marks below
    for i, ch in enumerate(text):
        if i in shielded or ch not in ",.:;!?":
            continue
        before = _neighbour(text, i, -1)
        after = _neighbour(text, i, 1)
        if ch == "." and not _chinese(before):
            continue  # a full stop after Latin text, a version, an abbreviation
        after_value = ch != "." and text[i - 1 : i] == "}"  # "{name}:" but not "{number}."
        if everywhere or _chinese(before) or (ch != "." and _chinese(after)) or after_value:
            chars[i] = FULL[ch]
    out = "".join(chars)
    out = _quotes(out)
    # Full-width marks carry their own spacing: drop the ASCII spaces around them.
    out = re.sub(r"(?<=[，。：；！？）])[ ]+(?=\S)", "", out)
    out = re.sub(r"(?<=\S)[ ]+(?=[（])", "", out)
    return out


def _quotes(text: str) -> str:
    """Straight double quotes around Chinese become “ and ”."""
    if text.count('"') % 2:
        return text
    parts = text.split('"')
    return "".join(
        part + ("" if n == len(parts) - 1 else "“" if n % 2 == 0 else "”")
        for n, part in enumerate(parts)
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    path = LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    changed = 0
    for message in catalog:
        if not message.id or not isinstance(message.string, str):
            continue
        new = fix(message.string)
        if new != message.string:
            changed += 1
            print(f"- {message.string!r}\n+ {new!r}")
            message.string = new
    if not check and changed:
        with path.open("wb") as f:
            write_po(f, catalog, no_location=True, sort_output=True, width=100)
    print(f"{changed} translations {'to change' if check else 'changed'}.")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
