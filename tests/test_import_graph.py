"""mmcore's modules depend on each other one way: no import cycle, however the import is hidden.

Every module of ``python/mmcore`` is parsed with :mod:`ast`; every import counts, including those
under ``if TYPE_CHECKING:`` and inside functions (a hidden cycle is still a cycle), relative
imports are resolved, and ``import mmcore.x`` of a package means ``mmcore/x/__init__.py``.
``from mmcore.x import y`` means the submodule ``mmcore.x.y`` when one exists, else ``mmcore.x``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "python"


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """``mmcore/feeds/feed.py`` -> ``mmcore.feeds.feed``; ``x/__init__.py`` -> ``x``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect_modules(root: Path = PACKAGE_ROOT, package: str = "mmcore") -> dict[str, Path]:
    """Every module of ``package`` under ``root`` by dotted name."""
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base.pop()
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that the module ``name`` imports anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        # `import a.b.c` names a.b.c; if it is not one of ours, its nearest enclosing one
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base)
    return found


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """module -> the mmcore modules it imports."""
    modules = collect_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_sees_hidden_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "mmcore"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mmcore.b import B\n"
    )
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text("from ..a import x\nimport mmcore.sub\n")
    graph = import_graph(tmp_path)
    assert graph["mmcore.a"] == {"mmcore.b"}
    assert graph["mmcore.b"] == {"mmcore.sub.c"}
    assert graph["mmcore.sub"] == {"mmcore.sub.c"}
    assert graph["mmcore.sub.c"] == {"mmcore.a", "mmcore.sub"}
    assert find_cycle(graph) == ["mmcore.a", "mmcore.b", "mmcore.sub.c", "mmcore.a"]


def test_no_import_cycle_between_mmcore_modules() -> None:
    graph = import_graph()
    assert "mmcore.feeds.feed" in graph and graph["mmcore.runner"], "the graph is empty"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
