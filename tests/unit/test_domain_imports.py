"""Cascades run one way: the consent domain imports neither routing nor the runtime (they
react to its events), and no module of consent, routing, dossiers or cases hides an import
inside a function to dodge a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).parents[2] / "engine"
# The connector plug-in registers consent's service tasks in the runtime's registry
# (`engine.runtime.connectors`, loaded by name) and consent's codes in the modeler's
# catalogue (`engine.runtime.catalogue`): the one consent module that names runtime.
CONNECTOR_PLUGIN = ENGINE / "consent" / "connectors.py"
PLUGIN_IMPORTS = {"engine.runtime", "engine.runtime.connectors", "engine.runtime.catalogue"}


def _modules(*domains: str) -> list[Path]:
    return sorted(p for d in domains for p in (ENGINE / d).rglob("*.py"))


def _imported(tree: ast.AST) -> set[str]:
    """Every module an import names (`from a import b` names `a` and `a.b`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_domains_are_there():
    assert len(_modules("consent")) >= 6 and len(_modules("routing", "dossiers", "cases")) >= 10


@pytest.mark.parametrize("path", _modules("consent"), ids=lambda p: p.name)
def test_consent_imports_neither_routing_nor_runtime(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed = PLUGIN_IMPORTS if path == CONNECTOR_PLUGIN else set()
    wrong = sorted(name for name in _imported(tree) - allowed
                   if name.startswith(("engine.routing", "engine.runtime")))
    assert wrong == []


OWN_MODULES = [*_modules("consent", "routing", "dossiers", "cases"),
               ENGINE / "runtime" / "handlers.py", ENGINE / "runtime" / "cancellation.py"]


@pytest.mark.parametrize("path", OWN_MODULES, ids=str)
def test_no_import_hides_in_a_function(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = [f"{path.name}:{node.lineno}"
              for func in ast.walk(tree)
              if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
              for node in ast.walk(func) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert hidden == []
