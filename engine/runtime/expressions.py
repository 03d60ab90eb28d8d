"""Restricted expressions: the only way diagram code (conditions, scripts, timers) runs.

An uploaded diagram is code (docs/architecture.md, invariant 6). Every expression and script is
compiled by RestrictedPython after our own AST screening, and runs with a small whitelist
of builtins plus ``datetime``, ``date``, ``timedelta`` and ``timezone``. Guarantees:

- no ``import``, no name or attribute starting with ``_`` (so no dunder walks);
- no ``open``, ``eval``, ``exec``, ``compile``, ``getattr``/``setattr``/``delattr``/
  ``hasattr``, ``globals``/``locals``/``vars``/``dir``, ``breakpoint``, ``memoryview``:
  they are refused at compile time, even as variable names;
- attribute access goes through ``safer_getattr`` (no ``str.format``), item writes only on
  ``dict``/``list``/``set``; ``range`` is capped at 1000 items;
- no error object can reach task data, f-string widths are literal and bounded
  (`engine.runtime.screening`);
- time and memory are bounded: 2 s per evaluation, every size-multiplying operation checked
  before it runs, the process's growth watched while diagram code runs
  (`engine.runtime.sizes`, `engine.runtime.limits`);
- compilation is cached per source text (refusals too);
- every refusal or failure surfaces as a French message: `check_expression` returns it at
  deploy time, and at run time the script engine raises `ExpressionError`.

A script that hits a bound fails like any script error (a French incident the
administrator fixes); the deploy-time check refuses what it can see statically.
"""

from __future__ import annotations

import ast
import builtins
import functools
import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from types import CodeType, ModuleType
from typing import Any, Literal

from RestrictedPython import (
    PrintCollector,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_globals,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.Limits import limited_range
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.runtime.errors import ExpressionError, ExpressionRefused, ServiceCallError
from engine.runtime.limits import SCRIPT_FILENAME, ScriptTooLarge, ScriptTooLong, time_bound
from engine.runtime.screening import screen
from engine.runtime.script_errors import (
    describe,
    error_line,
    evaluation_message,
    unstorable_message,
    unstorable_values,
)
from engine.runtime.sizes import (
    BoundedPolicy,
    binary,
    bounded_method,
    check_binary,
    check_container,
)

Mode = Literal["eval", "exec"]

# (operator name, evaluated parameters as name → value, task data) → JSON-serializable result
ServiceHook = Callable[[str, dict[str, Any], dict[str, Any]], Any]

_SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "bool",
    "chr",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "ord",
    "repr",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "ArithmeticError",
    "Exception",
    "KeyError",
    "LookupError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
)

# Names an expression may use besides task data (task data may shadow them).
USER_NAMES: Mapping[str, Any] = {
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
}

_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "|=": operator.ior,
    "&=": operator.iand,
    "^=": operator.ixor,
}



@dataclass(frozen=True)
class _Compiled:
    code: CodeType | None
    error: str | None


def check_expression(source: str | None, mode: Mode = "eval") -> str | None:
    """Deploy-time check: None if `source` compiles under the restricted engine.

    Otherwise returns a French message ("Expression refusée : …") that says what is wrong.
    An empty expression is refused in "eval" mode (a condition must say something).
    """
    compiled = _compile(_normalize(source or "", mode), mode)
    if compiled.error is None:
        return None
    return f"Expression refusée : {compiled.error}."


def compile_expression(source: str, mode: Mode = "eval") -> CodeType:
    """Restricted code object for `source`; raises ExpressionRefused (French) if refused."""
    normalized = _normalize(source, mode)
    compiled = _compile(normalized, mode)
    if compiled.code is None:
        raise ExpressionRefused(compiled.error or "expression invalide", normalized)
    return compiled.code


def _normalize(source: str, mode: Mode) -> str:
    # Conditions come from XML text nodes and often carry surrounding newlines; eval()
    # would tolerate leading spaces, compile() does not.
    return source.strip() if mode == "eval" else source


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: Mode) -> _Compiled:
    """Screen then compile `source`; cached, refusals included."""
    if mode == "eval" and not source:
        return _Compiled(None, "l'expression est vide")
    try:
        tree = ast.parse(source, filename=SCRIPT_FILENAME, mode=mode)
    except SyntaxError as exc:
        return _Compiled(None, _syntax_error(exc, source, mode))
    error = screen(tree)
    if error is not None:
        return _Compiled(None, error)
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source, filename=SCRIPT_FILENAME, policy=BoundedPolicy)
    if result.errors or result.code is None:
        return _Compiled(None, _restricted_python_message(result.errors))
    return _Compiled(result.code, None)


_RESTRICTED_PYTHON_MESSAGES = (
    (
        "Augmented assignment of object items",
        "l'affectation augmentée (+=, -=…) d'un élément "
        "de liste ou de dictionnaire est interdite : écrivez x[i] = x[i] + …",
    ),
    ("Augmented assignment of attributes", "l'affectation augmentée d'un attribut est interdite"),
    ("Unpacking in comprehensions", "le dépaquetage dans une compréhension est interdit"),
    ("is a reserved name", "ce nom est réservé"),
)


def _restricted_python_message(errors: tuple[str, ...] | list[str]) -> str:
    """French wording for RestrictedPython's refusals (the first one is enough)."""
    if not errors:
        return "construction non autorisée"
    match = re.match(r"Line (\d+): (.*)", errors[0])
    line, detail = (match.group(1), match.group(2)) if match else ("?", errors[0])
    for marker, french in _RESTRICTED_PYTHON_MESSAGES:
        if marker in detail:
            return f"{french} (ligne {line})"
    statement = re.match(r"(\w+) statements are not allowed", detail)
    if statement:
        return f"l'instruction « {statement.group(1)} » est interdite (ligne {line})"
    return f"construction non autorisée à la ligne {line} (détail technique : {detail})"


def _syntax_error(exc: SyntaxError, source: str, mode: Mode) -> str:
    if mode == "eval":
        # A statement where an expression is expected: say why, and still name
        # what is forbidden in it (`import os` must read as refused, not as a typo).
        try:
            statement = ast.parse(source, filename=SCRIPT_FILENAME, mode="exec")
        except SyntaxError:
            pass
        else:
            forbidden = screen(statement)
            if forbidden is not None:
                return forbidden
            return "une expression est attendue ici, pas une instruction"
    return _syntax_message(exc, source)


def _syntax_message(exc: SyntaxError, source: str) -> str:
    line = exc.lineno or 1
    lines = source.splitlines() or [""]
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    message = f"erreur de syntaxe à la ligne {line}"
    if text:
        message += f" (« {text} »)"
    if _looks_like_iso_8601(source):
        message += ' ; une date ou une durée ISO 8601 s\'écrit entre guillemets, ex. "PT1H"'
    return message


def _looks_like_iso_8601(source: str) -> bool:
    text = source.strip().upper()
    return bool(text) and (text[0] in "PR" or text[:4].isdigit()) and " " not in text


def _getattr(obj: Any, name: str) -> Any:
    # safer_getattr returns None for a missing attribute; a typo must fail loudly instead.
    sentinel = object()
    value = safer_getattr(obj, name, sentinel)
    if value is sentinel:
        raise AttributeError(f"« {type(obj).__name__} » n'a pas d'attribut « {name} »")
    return bounded_method(obj, name, value)


def _write(obj: Any) -> Any:
    # Scripts may fill plain containers from task data, never mutate other objects.
    if type(obj) in (dict, list, set):
        check_container(obj)
        return obj
    raise TypeError(f"modification interdite d'un objet de type « {type(obj).__name__} »")


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    check_binary(op[:-1], target, value)
    try:
        return _INPLACE_OPERATORS[op](target, value)
    except KeyError:
        raise TypeError(f"opérateur « {op} » non autorisé") from None


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


def _build_builtins() -> dict[str, Any]:
    names = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    names.update({"None": None, "True": True, "False": False, "range": limited_range})
    return names


_BUILTINS: Mapping[str, Any] = _build_builtins()

# What RestrictedPython's rewritten code calls; always wins over task data.
_GUARDS: Mapping[str, Any] = {
    **{key: value for key, value in safe_globals.items() if key != "__builtins__"},
    "__builtins__": _BUILTINS,
    "__name__": "relais_expression",
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": _write,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    "_binary_": binary,
    "_print_": PrintCollector,
}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running everything under RestrictedPython.

    `evaluate` returns the value of an expression; `execute` runs a script and writes the
    variables it sets (not functions, modules or ``_`` names) back into the task data.
    Refusals raise ExpressionRefused; other errors propagate for the engine to wrap.
    `call_service` delegates to the `call_service` hook given at construction.
    """

    def __init__(
        self,
        call_service: ServiceHook | None = None,
        environment_globals: Mapping[str, Any] | None = None,
    ) -> None:
        extra = dict(environment_globals or {})
        bad = [name for name in extra if name.startswith("_")]
        if bad:
            raise ValueError(f"environment names must not start with '_': {bad}")
        super().__init__({**USER_NAMES, **extra})
        self._call_service = call_service

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        code = compile_expression(expression, "eval")
        return eval(code, self._namespace(context, external_context))  # noqa: S307 - restricted code

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        code = compile_expression(script, "exec")
        namespace = self._namespace(context, external_context)
        exec(code, namespace)  # noqa: S102 - restricted code
        self._write_back(namespace, context, external_context or {})
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> str:
        """Run a service task's operator through the hook; returns the JSON SpiffWorkflow expects.

        The hook receives the operator id, the evaluated parameters as a plain
        name → value mapping, and the task data; its result must be JSON-serializable.
        """
        if self._call_service is None:
            raise RuntimeError("aucun exécuteur de connecteurs n'est branché sur ce moteur")
        operation_name = kwargs.get("operation_name", "")
        raw_params = kwargs.get("operation_params") or {}
        params = {name: spec.get("value") for name, spec in raw_params.items()}
        result = self._call_service(operation_name, params, context)
        return json.dumps(result)

    def _namespace(
        self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        # Task data may shadow `date` & co.; it can never replace the guards or builtins.
        return {**self.globals, **(external_context or {}), **context, **_GUARDS}

    def _write_back(
        self,
        namespace: Mapping[str, Any],
        context: dict[str, Any],
        external_context: Mapping[str, Any],
    ) -> None:
        for key in [key for key in context if key not in namespace]:
            del context[key]  # the script deleted it
        for key, value in namespace.items():
            if self._is_environment_value(key, value, context, external_context):
                continue
            context[key] = value

    def _is_environment_value(
        self,
        key: str,
        value: Any,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any],
    ) -> bool:
        if key.startswith("_") or key in _GUARDS:
            return True
        if callable(value) or isinstance(value, ModuleType):
            return True
        for source in (self.globals, external_context):
            if key in source and source[key] is value and key not in context:
                return True
        return False


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose errors are French `ExpressionError`s.

    Also fixes SpiffWorkflow 3.2's `call_service` error path (it references an undefined
    name). SpiffWorkflow exceptions pass through unchanged.
    """

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            with time_bound():
                return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException:
            raise
        except (Exception, ScriptTooLong, ScriptTooLarge) as exc:
            raise ExpressionError(evaluation_message(exc, expression), task, exc) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        try:
            before = dict(task.data)
            with time_bound():
                result = self.environment.execute(script, task.data, external_context or {})
        except SpiffWorkflowException:
            raise
        except (Exception, ScriptTooLong, ScriptTooLarge) as exc:
            line = error_line(exc)
            where = f" (ligne {line})" if line else ""
            if isinstance(exc, ExpressionRefused):
                message = f"Script refusé : {exc.reason}"
            else:
                message = f"Erreur dans le script{where} : {describe(exc)}"
            error = ExpressionError(message, task, exc)
            error.line_number = line or None
            raise error from exc
        unstorable = unstorable_values(task.data, before)
        if unstorable:
            message = unstorable_message(task.data, unstorable)
            for key in unstorable:  # never kept: the instance's state must stay storable
                task.data.pop(key, None)
            raise ExpressionError(message, task)
        return result

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            name = kwargs.get("operation_name", "?")
            message = f"Le connecteur « {name} » a échoué : {describe(exc)}"
            raise ServiceCallError(message, task, exc) from exc


def make_script_engine(call_service: ServiceHook | None = None) -> PythonScriptEngine:
    """A script engine running conditions, scripts and timers under RestrictedPython.

    `call_service(operator_id, params, task_data)` is called for service tasks; without it
    a service task fails with a clear error. The engine is not serialized with a workflow:
    re-attach one after deserializing.
    """
    return RestrictedScriptEngine(environment=RestrictedEnvironment(call_service=call_service))
