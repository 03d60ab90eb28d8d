"""Diagram scripts cannot leave an error object in task data (refused at deployment with a
French 4xx problem naming the element) and cannot use unbounded time or memory: every
size-multiplying operation is checked before it runs and the process's growth is watched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import bearer
from script_support import one_script_workflow

from engine.runtime import limits
from engine.runtime.errors import ExpressionError
from engine.runtime.expressions import check_expression

FIXTURES = Path(__file__).parents[1] / "fixtures"
LOOP = (FIXTURES / "bpmn" / "boucle.bpmn").read_text()


def _with_script(script: str) -> bytes:
    return LOOP.replace("<bpmn:script>n = 0</bpmn:script>",
                        f"<bpmn:script>{script}</bpmn:script>").encode()


@pytest.mark.parametrize("script", [
    "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    erreur = e",
    "erreur = ValueError('trop tard')",
    "liste = [KeyError]",
    "d = {}\ntry:\n    d['a']\nexcept KeyError as e:\n    d['erreur'] = e",
])
def test_a_script_that_would_keep_an_error_object_is_a_french_422_naming_the_element(
        script, client, db):
    response = client.post(
        "/api/v1/admin/process-models", headers=bearer(db, "demo-admin"),
        data={"file": [(io.BytesIO(_with_script(script.replace("<", "&lt;"))), "boucle.bpmn")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    text = response.get_data(as_text=True)
    assert "init" in text or "Initialiser" in text
    assert "erreur" in text.lower() and "conserv" in text


@pytest.mark.parametrize("script", [
    "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n"
    "    message = str(e)\n    detail = e.args",
    "try:\n    x = 1 / 0\nexcept (ZeroDivisionError, ValueError) as e:\n"
    "    raise ValueError('non') from e",
    "ok = isinstance(1, (KeyError, ValueError))",
    "if n < 0:\n    raise ValueError('négatif')",
])
def test_raising_catching_and_reading_errors_stays_allowed(script):
    assert check_expression(script, "exec") is None


def _run(script: str) -> ExpressionError:
    workflow = one_script_workflow(script)
    with pytest.raises(ExpressionError) as caught:
        workflow.do_engine_steps()
    return caught.value


@pytest.mark.parametrize("script", [
    "x = 'a' * 10 ** 9",
    "x = [0] * 10 ** 9",
    "x = 10 ** 10 ** 8",
    "x = 1 << 10 ** 10",
    "x = 'a'.ljust(10 ** 9)",
    "x = '\\t' * 1000\nx = x.expandtabs(10 ** 6)",
    "x = '%0*d' % (10 ** 9, 1)",
    "s = 'ab'\nfor i in range(100):\n    s = s + s",
    "s = 'ab'\nfor i in range(100):\n    s += s",
    "x = ''.join(['x' * 99999] * 1000)",
    "x = ('x' * 50000).replace('x', 'yy' * 1000)",
    "l = []\nwhile True:\n    l.append(1)",
    "d = {}\ni = 0\nwhile True:\n    d[i] = i\n    i = i + 1",
])
def test_a_script_asking_for_an_unbounded_value_fails_in_french_before_allocating(script):
    error = _run(script)
    assert "taille maximale" in str(error) or "interdit" in str(error), str(error)


def test_an_f_string_width_is_literal_and_bounded():
    assert "format calculé" in check_expression("f'{x:>{n}}'")
    assert "largeur" in check_expression("f'{x:>1000000000}'")
    assert check_expression("f'{x:>12}'") is None


def test_many_bounded_values_adding_up_are_stopped_by_the_memory_watch(monkeypatch):
    monkeypatch.setattr(limits, "SCRIPT_MEMORY_BYTES", 64 * 1024 * 1024)
    error = _run("l = []\nwhile True:\n    l.append('x' * 99999 + str(len(l)))")
    assert "mémoire autorisée" in str(error) or "taille maximale" in str(error)


@pytest.mark.parametrize(("script", "name", "expected"), [
    ("x = 'ab' * 3", "x", "ababab"),
    ("x = 2 ** 100", "x", 2 ** 100),
    ("x = [0] * 5", "x", [0, 0, 0, 0, 0]),
    ("x = 'a'.ljust(4, '.')", "x", "a..."),
    ("x = f'{7:>3}'", "x", "  7"),
    ("x = ', '.join(['a', 'b'])", "x", "a, b"),
    ("x = '%05d' % 42", "x", "00042"),
    ("x = 'aa'.replace('a', 'bc')", "x", "bcbc"),
    ("l = []\nfor i in range(10):\n    l.append(i)\nx = len(l)", "x", 10),
])
def test_ordinary_scripts_keep_working(script, name, expected):
    workflow = one_script_workflow(script)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data[name] == expected
