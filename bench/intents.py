"""Intents: how often free text reaches the flow a member meant. A labelled set
(``bench/intents_set.tsv``: Chinese and English, many phrasings per flow, the misfires of
issue 23 as traps, and messages that belong to no flow, labelled ``menu``) goes through the
real engine over a SQLite shop, each message from a registered member with no open
conversation. Counted: reached its flow (a "Did you mean" is not), a wrong flow started,
and what the matcher alone costs a message.

    .venv/bin/python -m bench intents [--show-misses]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import fill_shop, shop_database, utc_now, write_results
from bot import event_loop
from bot.dialogs.engine.dialogs import Dialogs, Flow, Turn
from bot.dialogs.engine.types import Event, Sender
from bot.dialogs.member import help
from bot.dialogs.registry import create_dialogs
from core.people import conversations

SET = Path(__file__).with_name("intents_set.tsv")
MENU = "menu"
REPEATS = 200  # the matcher's cost: the whole set this many times
_CJK = re.compile(r"[\u3400-\u9fff]")


def labelled() -> list[tuple[str, str]]:
    """(expected flow, message) of the set, comments and blank lines left out."""
    rows = []
    for line in SET.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            expected, _, text = line.partition("\t")
            rows.append((expected, text))
    return rows


def routed_to(dialogs: Dialogs) -> list[str]:
    """Where the engine routes each turn: a flow's name, ``menu``, or ``suggest:a,b``."""
    seen: list[str] = []
    route = dialogs._route

    def recording(turn: Turn, current: conversations.Conversation | None) -> tuple[Flow, str]:
        flow, step = route(turn, current)
        if flow.name == help.NAME:
            names = ",".join(t.flow for t in turn.suggestions)
            seen.append(f"suggest:{names}" if names else MENU)
        else:
            seen.append(flow.name)
        return flow, step

    dialogs._route = recording  # type: ignore[method-assign]
    return seen


async def _run(show_misses: bool) -> dict[str, Any]:
    rows = labelled()
    with tempfile.TemporaryDirectory() as folder:
        ctx = await shop_database(f"sqlite+aiosqlite:///{folder}/intents.db", utc_now())
        try:
            await fill_shop(ctx, len(rows), channel="console")
            dialogs = create_dialogs(ctx)
            seen = routed_to(dialogs)
            for number, (_, text) in enumerate(rows, start=1):
                await dialogs.handle(Event(Sender("console", str(number)), text=text))
        finally:
            await ctx.db.dispose()
    began = time.perf_counter()
    for _ in range(REPEATS):
        for _, text in rows:
            dialogs.matcher.match(text)
    cost_ms = (time.perf_counter() - began) / (REPEATS * len(rows)) * 1000
    tally: dict[str, Counter[str]] = {"zh": Counter(), "en": Counter()}
    for (expected, text), got in zip(rows, seen, strict=True):
        language = "zh" if _CJK.search(text) else "en"
        outcome = "right" if got == expected else "asked" if got.startswith("suggest:") else ""
        if not outcome:
            outcome = "menu" if got == MENU else "wrong"
        tally[language][outcome] += 1
        tally[language]["all"] += 1
        if show_misses and outcome != "right":
            print(f"  {outcome:5} {expected:9} → {got:22} {text}")
    figures: dict[str, Any] = {"messages": len(rows), "matcher_ms": round(cost_ms, 4)}
    for language, counts in tally.items():
        total = counts["all"]
        figures[language] = {
            "messages": total,
            "accuracy": round(counts["right"] / total, 4),
            "wrong_flow": round(counts["wrong"] / total, 4),
            "did_you_mean": round(counts["asked"] / total, 4),
            "menu_instead": round(counts["menu"] / total, 4),
        }
        print(
            f"{language}: {total} messages, {counts['right'] / total:.1%} reached their flow, "
            f"{counts['wrong'] / total:.1%} a wrong flow, {counts['asked'] / total:.1%} "
            f"asked 'Did you mean', {counts['menu'] / total:.1%} the menu instead"
        )
    right = sum(c["right"] for c in tally.values())
    wrong = sum(c["wrong"] for c in tally.values())
    figures["accuracy"] = round(right / len(rows), 4)
    figures["wrong_flow"] = round(wrong / len(rows), 4)
    return figures


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench intents")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    figures = event_loop.run(_run(args.show_misses))
    write_results(
        "intents",
        figures,
        f"intents: {figures['accuracy']:.1%} of {figures['messages']} messages reached their "
        f"flow, {figures['wrong_flow']:.1%} a wrong flow; matcher "
        f"{figures['matcher_ms']:.3f} ms a message",
    )


if __name__ == "__main__":
    asyncio.run(_run(True))
