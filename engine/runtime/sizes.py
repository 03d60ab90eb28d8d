"""Bounds on the size of the values diagram code builds.

The time bound (`engine.runtime.limits`) interrupts diagram code between bytecodes, so one
C call that allocates gigabytes (``"x" * 10**10``, ``10 ** 10 ** 8``, ``"".ljust(10**9)``)
would run to its end before it. Every operation that can multiply a size in one call is
therefore checked *before* it runs: text and sequences stay under `MAX_ITEMS` items,
integers under `MAX_INT_BITS` bits, containers filled in place under `MAX_ITEMS` entries.
What many bounded values add up to is bounded by the memory watch of `limits.time_bound`.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sized
from typing import Any

from RestrictedPython.transformer import RestrictingNodeTransformer

MAX_ITEMS = 100_000  # characters of a text, items of a list, entries of a dict or set
MAX_INT_BITS = 10_000  # about 3,000 decimal digits

_SEQUENCES = (str, bytes, list, tuple)
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift,
    "%": operator.mod,
}
_AST_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%",
}


class ValueTooLarge(ValueError):
    """Diagram code asked for a value beyond the bounds (French message)."""


def _too_large(what: str) -> ValueTooLarge:
    return ValueTooLarge(f"{what} dépasserait la taille maximale autorisée "
                         f"({MAX_ITEMS:,} éléments, entiers de {MAX_INT_BITS:,} bits)"
                         .replace(",", " "))


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_binary(symbol: str, left: Any, right: Any) -> None:
    """Refuse, before computing it, a result of `left symbol right` beyond the bounds."""
    if symbol == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        if len(left) + len(right) > MAX_ITEMS:
            raise _too_large("cette concaténation")
    elif symbol == "*":
        _check_repeat(left, right)
    elif symbol == "**" and _int(left) and _int(right) and right > 0 and abs(left) > 1:
        if left.bit_length() * right > MAX_INT_BITS:
            raise _too_large("cette puissance")
    elif symbol == "<<" and _int(left) and _int(right) and left != 0:
        if left.bit_length() + right > MAX_INT_BITS:
            raise _too_large("ce décalage")
    elif symbol == "%" and isinstance(left, str | bytes):
        _check_percent_format(left)


def _check_repeat(left: Any, right: Any) -> None:
    if _int(left) and _int(right):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _too_large("ce produit")
        return
    sequence, count = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
    if isinstance(sequence, _SEQUENCES) and _int(count) and len(sequence) * count > MAX_ITEMS:
        raise _too_large("cette répétition")


def _check_percent_format(template: str | bytes) -> None:
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    if "*" in text:
        raise ValueTooLarge("une largeur « * » dans un format « % » est interdite")
    digits = "".join(c if c.isdigit() else " " for c in text).split()
    if any(int(number) > MAX_ITEMS for number in digits):
        raise _too_large("ce format")


def binary(symbol: str, left: Any, right: Any) -> Any:
    """`left symbol right`, refused beforehand if its result would be beyond the bounds."""
    check_binary(symbol, left, right)
    return _BINARY[symbol](left, right)


# --- methods that grow a value in one call ---------------------------------------------------

_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_GROWING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})


def bounded_method(obj: Any, name: str, method: Any) -> Any:
    """The method itself, or a wrapper checking its result's size first."""
    if isinstance(obj, str | bytes) and name in _WIDTH_METHODS:
        return _width_checked(method, name)
    if isinstance(obj, str | bytes) and name == "join":
        return _join_checked(obj, method)
    if isinstance(obj, str | bytes) and name == "replace":
        return _replace_checked(obj, method)
    if isinstance(obj, list | dict | set) and name in _GROWING_METHODS:
        return _growth_checked(obj, method)
    return method


def _width_checked(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    def checked(*args: Any) -> Any:
        widths = [a for a in args if _int(a)] or [8]  # expandtabs() defaults to 8
        if name == "expandtabs":
            raise_if = len(method.__self__) * widths[0] > MAX_ITEMS
        else:
            raise_if = widths[0] > MAX_ITEMS
        if raise_if:
            raise _too_large(f"« {name} »")
        return method(*args)
    return checked


def _join_checked(separator: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def checked(items: Any) -> Any:
        parts = list(items)
        if len(parts) > MAX_ITEMS:
            raise _too_large("cet assemblage")
        total = len(separator) * max(len(parts) - 1, 0)
        total += sum(len(p) for p in parts if isinstance(p, Sized))
        if total > MAX_ITEMS:
            raise _too_large("cet assemblage")
        return method(parts)
    return checked


def _replace_checked(text: str | bytes, method: Callable[..., Any]) -> Callable[..., Any]:
    def checked(old: Any, new: Any, *args: Any) -> Any:
        count = text.count(old) if isinstance(old, type(text)) else 0
        if args and _int(args[0]) and args[0] >= 0:
            count = min(count, args[0])
        if isinstance(new, Sized) and isinstance(old, Sized) \
                and len(text) + count * (len(new) - len(old)) > MAX_ITEMS:
            raise _too_large("ce remplacement")
        return method(old, new, *args)
    return checked


def _growth_checked(container: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        added = 1
        if method.__name__ in ("extend", "update") and args and isinstance(args[0], Sized):
            added = len(args[0])
        if len(container) + added > MAX_ITEMS:
            raise _too_large("ce conteneur")
        return method(*args, **kwargs)
    return checked


def check_container(obj: Any) -> None:
    """Before an item is written (`d[k] = v`): the container stays under the bound."""
    if isinstance(obj, Sized) and len(obj) >= MAX_ITEMS:
        raise _too_large("ce conteneur")


class BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with `+ * ** << %` routed through `_binary_` (`binary`)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _AST_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        name = ast.copy_location(ast.Name("_binary_", ast.Load()), node)
        call = ast.Call(func=name, args=[ast.copy_location(ast.Constant(symbol), node),
                                         node.left, node.right], keywords=[])
        return ast.copy_location(call, node)
