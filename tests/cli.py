"""Running the command line from async tests."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner, Result

from bot.cli import app


async def invoke(*args: str) -> Result:
    """Run ``memberbot ARGS`` in process. The commands run their own event loop, so they
    run in a thread of their own here."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))
