"""Every code a person may read has a name: each audit action recorded anywhere in the code."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.i18n import gettext
from bot.names import ACTION_NAMES, action_name, actor_name

ROOT = Path(__file__).resolve().parents[1]


def _recorded_actions() -> set[str]:
    """The action argument of every ``audit.record``/``record_many`` call, and action
    constants (``"demo.started"``) named in such calls."""
    found: set[str] = set()
    for folder in ("core", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                target.id: node.value.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            constants.update(
                {
                    target.id: value.value
                    for node in ast.walk(tree)
                    if isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Tuple)
                    and isinstance(node.targets[0], ast.Tuple)
                    for target, value in zip(node.targets[0].elts, node.value.elts, strict=False)
                    if isinstance(target, ast.Name) and isinstance(value, ast.Constant)
                }
            )
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("record", "record_many")
                    and len(node.args) >= 4
                ):
                    arg = node.args[3]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.add(arg.value)
                    elif isinstance(arg, ast.Name) and isinstance(constants.get(arg.id), str):
                        found.add(constants[arg.id])
    return {a for a in found if "." in a}


def test_every_recorded_audit_action_has_a_name() -> None:
    recorded = _recorded_actions()
    assert len(recorded) > 30  # the scan finds the calls
    assert recorded - ACTION_NAMES.keys() == set()


def test_audit_codes_read_as_words_in_both_languages() -> None:
    def zh(message: str, **params: object) -> str:
        return gettext("zh_CN", message, **params)

    assert action_name(zh, "sale.refunded") == "消费退款"
    assert actor_name(zh, "staff:2") == "员工 #2"
    assert actor_name(zh, "system") == "系统自动"
    assert action_name(zh, "something.new") == "其他变更"
