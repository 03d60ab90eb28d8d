"""The house's structure, measured from the imports (issue: one-way domain cascades): the
domain packages of engine/ (and webhooks/) import each other without any circle, and no
module of a domain imports another domain inside a function to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOMAINS = ("agenda", "audit", "cases", "consent", "documents", "dossiers", "figures",
           "identity", "itp", "keys", "routing", "runtime", "situations", "territory")


def _domain(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "webhooks":
        return "webhooks"
    if parts[0] == "engine" and len(parts) > 1 and parts[1] in DOMAINS:
        return parts[1]
    return None


def _files() -> dict[str, list[Path]]:
    found = {d: sorted((ROOT / "engine" / d).rglob("*.py")) for d in DOMAINS}
    found["webhooks"] = sorted((ROOT / "webhooks").rglob("*.py"))
    return found


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, outside any function?) for every import of `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function |= {id(inner) for inner in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) not in in_function) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names]
                                     if node.module == "engine" else [])
            found += [(n, id(node) not in in_function) for n in names]
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {d: set() for d in _files()}
    for domain, paths in _files().items():
        for path in paths:
            for module, _top in _imports(path):
                other = _domain(module)
                if other and other != domain:
                    graph[domain].add(other)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_domains_import_each_other_without_a_circle():
    assert _cycle(_graph()) is None, " → ".join(_cycle(_graph()) or [])


def test_the_circle_check_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]


def test_no_domain_imports_another_inside_a_function():
    hidden = [(str(path.relative_to(ROOT)), module)
              for domain, paths in _files().items() for path in paths
              for module, top in _imports(path)
              if not top and _domain(module) not in (None, domain)]
    assert hidden == []
