"""core/ stays framework-free: it must not import chat, web or bot code."""

from __future__ import annotations

import ast
from pathlib import Path

import core

FORBIDDEN = ("aiogram", "wechatpy", "aiohttp", "bot", "typer", "apscheduler")


def test_core_imports_no_chat_or_web_framework() -> None:
    offenders = []
    for path in Path(core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
