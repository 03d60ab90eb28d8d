"""Our own screening of diagram code, before RestrictedPython compiles it: French reasons
for what is refused at deployment (and again, from the cache, at run time).

Besides imports, dunder walks and the dangerous builtins, two rules keep a script's result
storable and its size bounded:
- an error object never reaches task data: an exception class or a name bound by
  ``except … as e`` may only be raised, caught, tested with ``isinstance`` or read through
  ``str(e)`` / ``repr(e)`` / ``e.args`` (task data is saved as JSON; the value would be lost);
- an f-string's format spec is a literal with a bounded width (``f"{x:>{n}}"`` could ask for
  a string of any size in one C call, before the time bound can interrupt it).
"""

from __future__ import annotations

import ast
import re

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from engine.runtime.sizes import MAX_ITEMS

# Dangerous even when RestrictedPython would let the name through: refused outright.
FORBIDDEN_NAMES = frozenset({
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr",
    "globals", "locals", "vars", "dir", "breakpoint", "memoryview",
})

# The exception classes scripts may use (they are in the restricted builtins).
EXCEPTION_NAMES = frozenset({
    "ArithmeticError", "Exception", "KeyError", "LookupError", "TypeError", "ValueError",
    "ZeroDivisionError",
})

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "les imports sont interdits",
    ast.ImportFrom: "les imports sont interdits",
    ast.ClassDef: "les définitions de classe sont interdites",
    ast.Global: "« global » est interdit",
    ast.Nonlocal: "« nonlocal » est interdit",
    ast.AsyncFunctionDef: "le code asynchrone est interdit",
    ast.Await: "le code asynchrone est interdit",
    ast.AsyncFor: "le code asynchrone est interdit",
    ast.AsyncWith: "le code asynchrone est interdit",
    ast.Yield: "« yield » est interdit",
    ast.YieldFrom: "« yield » est interdit",
}

# Calls through which an error object may pass without escaping into task data.
_READING_CALLS = frozenset({"str", "repr", "isinstance"})
_WIDTH = re.compile(r"(\d+)")


def screen(tree: ast.AST) -> str | None:
    """The first offence in reading order, as a French reason, or None."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    caught = {node.name for node in ast.walk(tree)
              if isinstance(node, ast.ExceptHandler) and node.name}
    offences = []
    for node in ast.walk(tree):
        reason = _offence(node) or _error_object_escapes(node, parents, caught) \
            or _unbounded_format(node)
        if reason is not None:
            # Order by where the offending node ends: `().__class__.__base__` names
            # `__class__` first, as a reader would.
            end = (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)
            offences.append((end, reason))
    return min(offences)[1] if offences else None


def _offence(node: ast.AST) -> str | None:
    refused = _REFUSED_NODES.get(type(node))
    if refused is not None:
        return refused
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            return f"le nom « {node.id} » commence par « _ », c'est interdit"
        if node.id in FORBIDDEN_NAMES:
            return f"« {node.id} » n'est pas autorisé"
    elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return f"l'attribut « {node.attr} » commence par « _ », c'est interdit"
    elif isinstance(node, ast.Attribute) and node.attr in INSPECT_ATTRIBUTES:
        # Frames and code objects lead back to the host's globals.
        return f"l'attribut d'introspection « {node.attr} » est interdit"
    elif isinstance(node, ast.arg) and node.arg.startswith("_"):
        return f"le paramètre « {node.arg} » commence par « _ », c'est interdit"
    elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("_"):
        return f"l'argument « {node.arg} » commence par « _ », c'est interdit"
    elif isinstance(node, ast.ExceptHandler) and node.type is None:
        # It would also catch the time bound (see engine.runtime.limits).
        return "« except: » sans type est interdit : nommez l'erreur attendue"
    return None


def _error_object_escapes(node: ast.AST, parents: dict[ast.AST, ast.AST],
                          caught: set[str]) -> str | None:
    """An exception class or caught error used other than to raise, catch, test or read it."""
    if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
        return None
    if node.id not in EXCEPTION_NAMES and node.id not in caught:
        return None
    if _harmless(node, parents):
        return None
    if node.id in caught:
        return (f"l'erreur « {node.id} » ne peut pas être conservée dans les données : "
                f"gardez-en le texte avec str({node.id})")
    return (f"« {node.id} » ne peut servir qu'à lever ou intercepter une erreur "
            f"(raise, except, isinstance) : un objet erreur ne peut pas être conservé")


def _harmless(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Tuple):  # `except (KeyError, ValueError)`, isinstance(x, (…))
        node, parent = parent, parents.get(parent)
    if isinstance(parent, ast.Raise | ast.ExceptHandler | ast.Attribute):
        return True  # raise X / raise … from e, except X, e.args
    if isinstance(parent, ast.Call):
        if parent.func is node:  # X("…") is harmless only when raised at once
            return isinstance(parents.get(parent), ast.Raise)
        return isinstance(parent.func, ast.Name) and parent.func.id in _READING_CALLS
    return False


def _unbounded_format(node: ast.AST) -> str | None:
    if not (isinstance(node, ast.FormattedValue) and node.format_spec is not None):
        return None
    spec = node.format_spec
    if not all(isinstance(part, ast.Constant) for part in getattr(spec, "values", [])):
        return "un format calculé (« {x:{n}} ») est interdit : écrivez la largeur en chiffres"
    text = "".join(str(part.value) for part in spec.values)  # type: ignore[attr-defined]
    if any(int(number) > MAX_ITEMS for number in _WIDTH.findall(text)):
        return f"une largeur de format au-delà de {MAX_ITEMS:,} caractères est interdite" \
            .replace(",", " ")
    return None
