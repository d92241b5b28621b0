"""The terminal channel: a chat in the console, buttons shown as numbered choices.

It only translates: a line typed → an event (a number picks that choice of the last
message), replies → text; images are written to files and their path is shown.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import TextIO

from bot.dialogs.engine.dialogs import Dialogs
from bot.dialogs.engine.types import Button, Event, Reply, Sender
from bot.pushes import texts
from core.pushes.work_queue import Push, Recipient

CHANNEL = "console"


def render(replies: list[Reply], image_dir: Path) -> tuple[str, list[Button]]:
    """The text to print and the numbered choices it offers."""
    lines: list[str] = []
    choices: list[Button] = []
    for reply in replies:
        lines.append(_plain(reply.text))
        if reply.image is not None:
            path = image_dir / reply.image_name
            path.write_bytes(reply.image)
            lines.append(f"[{path}]")
        for button in reply.choices:
            choices.append(button)
            lines.append(f"  {len(choices)}) {_plain(button.label)}")
    return "\n".join(lines), choices


def _plain(text: str) -> str:
    """What people typed, shown and not obeyed by the terminal: control characters (an
    escape sequence in a member's feedback) are written out as ``\\x1b``."""
    return "".join(
        f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" and c not in "\n\t" else c
        for c in text
    )


def event_for(line: str, sender: Sender, choices: list[Button]) -> Event:
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return Event(sender, payload=choices[int(text) - 1].payload)
    for button in choices:
        if text and text.casefold() == button.label.casefold():
            return Event(sender, payload=button.payload)
    return Event(sender, text=line)


async def chat(
    dialogs: Dialogs, sender: Sender, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Talk until end of input (Ctrl-D) or an interrupt."""
    choices: list[Button] = []
    image_dir = Path(tempfile.mkdtemp(prefix="memberbot-"))
    event = Event(sender, text="/start")
    while True:
        text, choices = render(await dialogs.handle(event), image_dir)
        stdout.write(text + "\n> ")
        stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            stdout.write("\n")
            return
        event = event_for(line.rstrip("\n"), sender, choices)


class ConsolePushes:
    """Pushes to console accounts are printed between the prompts (its buttons are for the
    chat apps; staff reach the same actions by command, e.g. /alerts)."""

    def __init__(self, stdout: TextIO = sys.stdout) -> None:
        self.stdout = stdout

    async def send(
        self, recipient: Recipient, message: texts.Message, via: str, push: Push
    ) -> None:
        for reply in message.replies:
            self.stdout.write(f"\n[{recipient.external_id}] \U0001f4e3 {_plain(reply.text)}\n> ")
        self.stdout.flush()
