"""Free text to a flow: each flow declares what members say to mean it (``Intents``, example
phrases per language), the shop file may add phrases, and the ``Matcher`` weighs a message
against all of them.

Messages and phrases are compared as sets of words, never as substrings ("appointment" is
not "point", "facebook" is not "book"): English words split at word boundaries (with plural
and -ing endings folded), Chinese split into words by jieba over a small dictionary (the
shop's vocabulary in ``intent_words`` plus every short Chinese phrase declared), so 积分兑换
is the words 积分 + 兑换 and weighs toward rewards, not points. A word weighs more the fewer
flows use it; a message scores against each phrase by the cosine of their weighted words.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import jieba

from bot.dialogs.engine.intent_words import DETAILS, STOPWORDS, WORDS

START = "start"
CONFIDENT = 0.62  # a best score at least this, clear of the next flow's by MARGIN: start it
MARGIN = 0.12
CLOSE = 0.45  # a best score at least this (and not confident): ask "Did you mean …?"
SUGGESTED = 3  # at most this many flows offered
UNKNOWN_WEIGHT = 0.8  # a word no phrase has: the message says something else too
STOP_WEIGHT = 0.1
_PART = "~"  # marks a character of a longer Chinese word
_CJK = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[a-z0-9]+")
_DETAIL = re.compile(r"\d+(?:[ap]m|st|nd|rd|th)?|[零〇一二两三四五六七八九十]+")


@dataclass(frozen=True)
class Intents:
    """What members write to mean a flow (``step`` START) or one of its stateless steps
    that only shows or asks (``step`` and ``value``, as a button of it would carry), as
    example phrases per language. ``label`` names it in "Did you mean …?" (else the flow's
    menu label)."""

    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    step: str = START
    value: str = ""
    label: str = ""


@dataclass(frozen=True)
class Target:
    """Where a matched message goes: a flow's start, or one of its asking steps."""

    flow: str
    step: str = START
    value: str = ""
    label: str = ""


@dataclass(frozen=True)
class Verdict:
    """A matcher's answer: ``start`` when confident, else up to three ``suggestions``
    (a close call), else neither (the menu)."""

    start: Target | None = None
    suggestions: tuple[Target, ...] = ()
    score: float = 0.0


def _tokenizer(words: Iterable[str]) -> jieba.Tokenizer:
    """jieba over our own small dictionary: its default one (350,000 words) would cost
    ~50 MB and a second at start-up for words no member uses with a shop."""
    tokenizer = jieba.Tokenizer()
    lines = "".join(f"{word} 100\n" for word in sorted(set(words)))
    tokenizer.FREQ, tokenizer.total = tokenizer.gen_pfdict(io.BytesIO(lines.encode()))
    tokenizer.initialized = True
    return tokenizer


def _stem(word: str) -> str:
    """English endings folded, so "vouchers", "booking" and "booked" meet their phrases."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def _unknown(word: str) -> float:
    """The weight of a word no phrase has: it says the message is about something else,
    unless it is a detail of the request (a day, a time, a number)."""
    bare = word.lstrip(_PART)
    if bare in STOPWORDS or _is_detail(bare):
        return STOP_WEIGHT
    return UNKNOWN_WEIGHT / 2 if word[0] == _PART else UNKNOWN_WEIGHT


def _is_detail(word: str) -> bool:
    """A day, a time or a number: what a request carries, not what it asks for."""
    return word in DETAILS or _DETAIL.fullmatch(word) is not None


class Matcher:
    """Messages weighed against every declared phrase; built once at start-up."""

    def __init__(self, phrases: Mapping[Target, Sequence[str]]) -> None:
        # A two-character phrase is a word by itself.
        chinese = (p for ps in phrases.values() for p in ps for p in _CJK.findall(p) if len(p) == 2)
        self._jieba = _tokenizer((*WORDS, *chinese))
        examples = [
            (target, frozenset(self.words(phrase)))
            for target, ps in phrases.items()
            for phrase in ps
        ]
        flows_of: dict[str, set[str]] = defaultdict(set)
        for target, words in examples:
            for word in words:
                flows_of[word].add(target.flow)
        count = len({target.flow for target in phrases}) + 1
        self._weight = {
            word: STOP_WEIGHT
            if word.lstrip(_PART) in STOPWORDS or _is_detail(word.lstrip(_PART))
            else math.log(count / len(flows) + 0.5) * (0.5 if word[0] == _PART else 1.0)
            for word, flows in flows_of.items()
        }
        self._index: dict[str, list[int]] = defaultdict(list)
        self._examples: list[tuple[Target, frozenset[str], float]] = []
        for target, words in examples:
            if not words:
                continue
            for word in words:
                self._index[word].append(len(self._examples))
            self._examples.append((target, words, self._norm(words)))

    def words(self, text: str) -> list[str]:
        """The words of ``text``: Latin ones stemmed, Chinese ones as jieba splits them."""
        text = unicodedata.normalize("NFKC", text).lower()
        found = [w if w in STOPWORDS else _stem(w) for w in _LATIN.findall(text)]
        for run in _CJK.findall(text):
            for word in self._jieba.lcut(run, HMM=False):
                if _is_detail(word):
                    found.append(word)
                    continue
                # Its characters too, at a quarter of their weight: 换什么 still meets 能换.
                found += [word, *(_PART + c for c in word)]
        return found

    def _norm(self, words: Iterable[str]) -> float:
        weight = self._weight
        total = sum(weight.get(w, _unknown(w)) ** 2 for w in words)
        return math.sqrt(total)

    def match(self, text: str) -> Verdict:
        """Where ``text`` goes: a confident flow, a close call, or nowhere."""
        words = frozenset(self.words(text))
        if not words:
            return Verdict()
        norm = self._norm(words)
        best: dict[Target, float] = {}
        for index in {i for w in words for i in self._index.get(w, ())}:
            target, example, example_norm = self._examples[index]
            shared = sum(self._weight[w] ** 2 for w in words & example)
            score = shared / (norm * example_norm)
            if score > best.get(target, 0.0):
                best[target] = score
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < CLOSE:
            return Verdict()
        top, score = ranked[0]
        rival = next((s for t, s in ranked if t.flow != top.flow), 0.0)
        if score >= CONFIDENT and score - rival >= MARGIN:
            return Verdict(start=top, score=score)
        offered: list[Target] = []
        for target, value in ranked:
            if value < max(CLOSE, score - 0.25) or len(offered) == SUGGESTED:
                break
            if all(t.flow != target.flow for t in offered):
                offered.append(target)
        return Verdict(suggestions=tuple(offered), score=score)
