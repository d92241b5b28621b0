"""The project's modules import each other without a cycle, and the layers point one way.

A cycle is two concerns that cannot be read, tested or moved apart; an import inside a
function only hides it. So every import counts here, at any depth, except those under
``if TYPE_CHECKING:`` (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "core", "storage")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, but not the type checker's."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _imports_in(other)
            continue
        yield from _imports_in(child)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _imports(node)


def _targets(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that module ``name`` (at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the module ``pkg.mod`` when there is one.
            candidates = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        found |= {candidate for candidate in candidates if candidate in modules}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _targets(name, path, modules) for name, path in modules.items()}


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative: the graph is a few hundred deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle through a component, to name in the failure."""
    members = set(component)
    path = [component[0]]
    seen = {component[0]}
    while True:
        following = sorted(graph[path[-1]] & members)
        back = [target for target in following if target in seen]
        if back:
            return [*path[path.index(back[0]) :], back[0]]
        path.append(following[0])
        seen.add(following[0])


def test_no_module_imports_itself_or_a_cycle() -> None:
    graph = _graph()
    assert graph.get("core.loyalty"), "the import graph is empty"
    cycles = [
        f"{', '.join(component)} (e.g. {' -> '.join(_cycle(graph, component))})"
        for component in _components(graph)
        if len(component) > 1 or component[0] in graph[component[0]]
    ]
    assert not cycles, "modules that import each other:\n" + "\n".join(cycles)


def _imports_from(graph: dict[str, set[str]], source: str, target: str) -> set[str]:
    return {
        f"{name} -> {imported}"
        for name, imported_names in graph.items()
        if name.split(".")[0] == source
        for imported in imported_names
        if imported.split(".")[0] == target
    }


def test_layers_point_one_way() -> None:
    """bot builds on core, core on storage. Only Alembic's command-line entry reads the bot's
    settings, for the database address."""
    graph = _graph()
    assert _imports_from(graph, "core", "bot") == set()
    assert _imports_from(graph, "storage", "core") == set()
    assert _imports_from(graph, "storage", "bot") == {"storage.migrations.env -> bot.settings"}
