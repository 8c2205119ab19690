"""The package's imports flow one way: no cycle between its modules (imports inside functions
and under ``TYPE_CHECKING`` count: they only hide a cycle from the interpreter) and no module
takes another module's private name (``from psymtl.x import _name``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = "psymtl"

def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    out = {}
    for path in sorted(SRC.joinpath(ROOT).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, node: ast.ImportFrom, path: Path) -> str | None:
    """The absolute module a ``from ... import`` names (relative imports resolved)."""
    if not node.level:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(mods: dict[str, Path]) -> Iterator[tuple[str, str, str, int]]:
    """(importer, imported module, imported name or '', line) for every import of a package
    module, wherever it stands in the file."""
    for module, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == ROOT:
                        yield module, alias.name, "", node.lineno
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, node, path)
                if not target or target.split(".")[0] != ROOT:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in mods:  # `from psymtl import tasks`: the module itself
                        yield module, sub, "", node.lineno
                    else:
                        yield module, target, alias.name, node.lineno


def graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports. Importing ``a.b.c`` also runs the package
    ``a.b`` (every package below the root, whose ``__init__`` imports nothing at load)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for src, dst, _, _ in imports(mods):
        parts = dst.split(".")
        for i in range(2, len(parts) + 1):
            target = ".".join(parts[:i])
            if target in mods and target != src:
                edges[src].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    edges = graph(modules())
    found = cycles(edges)
    detail = [" -> ".join(c) + "  (edges: " + ", ".join(
        f"{a}->{b}" for a in c for b in sorted(edges[a]) if b in c) + ")" for c in found]
    assert not found, "import cycles:\n" + "\n".join(detail)


def test_no_private_name_across_modules():
    found = [f"{src} line {line}: from {dst} import {name}"
             for src, dst, name, line in imports(modules())
             if name.startswith("_") and not name.startswith("__") and dst != src]
    assert not found, "private names imported across modules:\n" + "\n".join(found)


def test_the_checks_find_what_they_look_for():
    """The graph sees imports inside functions and under TYPE_CHECKING, relative ones too,
    and a cycle through them."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    mods = modules()
    pairs = {(s, d) for s, d, _, _ in imports(mods)}
    # a function-level import (saved.Ensemble loads the trainer when it is built) is seen
    assert ("psymtl.saved", "psymtl.trainer") in pairs
    tree = ast.parse("from .x import _y\nfrom .. import z\n")
    a, b = (n for n in tree.body if isinstance(n, ast.ImportFrom))
    fake = SRC / ROOT / "datasets" / "m.py"
    assert _resolve("psymtl.datasets.m", a, fake) == "psymtl.datasets.x"
    assert _resolve("psymtl.datasets.m", b, fake) == "psymtl"
