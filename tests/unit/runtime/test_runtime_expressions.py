"""Restricted expressions: attacks refused at deploy time and at run time, ordinary code works."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime import limits, spiff
from engine.runtime.errors import ExpressionError, ExpressionRefused, ServiceCallError
from engine.runtime.expressions import (
    RestrictedEnvironment,
    check_expression,
    compile_expression,
    make_script_engine,
)
from engine.runtime.loader import parse_specs

ATTACKS = [
    "import os",
    "__import__('os')",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd')",
    "getattr(x, '__class__')",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "x.__dict__",
    "date.__subclasses__()",
    "[c for c in ().__class__.__mro__]",
    "(lambda: 1).__code__",
    "from os import path",
    "_ = 1",
    "(x for x in []).gi_frame.f_back.f_globals",
    "e.tb_frame",
]


@pytest.mark.parametrize("source", ATTACKS)
@pytest.mark.parametrize("mode", ["eval", "exec"])
def test_attacks_are_refused_at_deploy_time(source: str, mode: str) -> None:
    message = check_expression(source, mode)  # type: ignore[arg-type]
    assert message is not None
    assert message.startswith("Expression refusée : ")
    assert "Traceback" not in message


@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_are_refused_at_run_time(source: str) -> None:
    environment = RestrictedEnvironment()
    with pytest.raises(ExpressionRefused) as caught:
        environment.execute(source, {"x": 1})
    assert str(caught.value).startswith("Expression refusée : ")
    with pytest.raises(ExpressionRefused):
        environment.evaluate(source, {"x": 1})


def test_refusal_messages_say_what_is_wrong() -> None:
    assert "imports sont interdits" in (check_expression("import os", "exec") or "")
    assert "imports sont interdits" in (check_expression("import os") or "")
    assert "« __import__ »" in (check_expression("__import__('os')") or "")
    assert "« __class__ »" in (check_expression("().__class__.__base__") or "")
    assert "« open » n'est pas autorisé" in (check_expression("open('/etc/passwd')") or "")
    assert "« getattr »" in (check_expression("getattr(x, '__class__')") or "")
    assert "« eval »" in (check_expression("eval('1')") or "")
    assert "introspection « gi_frame »" in (check_expression("(i for i in x).gi_frame") or "")
    assert "syntaxe" in (check_expression("age <") or "")
    assert "vide" in (check_expression("   ") or "")


def test_str_format_is_blocked_at_run_time() -> None:
    # `format` can walk attributes from inside a string: safer_getattr refuses it.
    environment = RestrictedEnvironment()
    with pytest.raises(NotImplementedError):
        environment.evaluate("'{0.__class__}'.format(x)", {"x": 1})


def test_builtins_outside_the_whitelist_do_not_exist() -> None:
    environment = RestrictedEnvironment()
    for source in ("type(1)", "object", "print.__self__", "__builtins__", "input('x')"):
        with pytest.raises((NameError, ExpressionRefused)):
            environment.evaluate(source, {})


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ('consent == "granted"', {"consent": "granted"}, True),
        ('consent == "granted"', {"consent": "refused"}, False),
        ("age < 18", {"age": 15}, True),
        ("age < 18", {"age": 18}, False),
        ("date_faits < date(2026, 1, 1)", {"date_faits": date(2025, 12, 31)}, True),
        ("date_faits < date(2026, 1, 1)", {"date_faits": date(2026, 1, 1)}, False),
        ("date.fromisoformat(date_faits) < date(2026, 1, 1)", {"date_faits": "2025-06-01"}, True),
        (
            "date_faits + timedelta(days=3) > date(2026, 1, 1)",
            {"date_faits": date(2025, 12, 30)},
            True,
        ),
        ("datetime(2026, 1, 1, 12).hour", {}, 12),
        ("(a + b) * 2 - 1", {"a": 1, "b": 2}, 5),
        ("a / b", {"a": 3, "b": 2}, 1.5),
        ("[1, 2, 3][1]", {}, 2),
        ('{"a": [1, 2]}["a"][-1]', {}, 2),
        ('d["k"]', {"d": {"k": "v"}}, "v"),
        ('d.get("absent", 0)', {"d": {}}, 0),
        ("len(items)", {"items": [1, 2, 3]}, 3),
        ("min(items)", {"items": [4, 2, 3]}, 2),
        ("max(items)", {"items": [4, 2, 3]}, 4),
        ('"IS" in roles', {"roles": ["IS", "CMP"]}, True),
        ("categorie not in ('A', 'B')", {"categorie": "C"}, True),
        ("sum(i * 2 for i in items)", {"items": [1, 2]}, 6),
        ("[i for i in items if i > 1]", {"items": [1, 2, 3]}, [2, 3]),
        ("sorted(items, reverse=True)", {"items": [1, 3, 2]}, [3, 2, 1]),
        ("nom.upper()", {"nom": "relais"}, "RELAIS"),
        ("None if x is None else x", {"x": None}, None),
        ('"PT1H"', {}, "PT1H"),
    ],
)
def test_ordinary_expressions_work(expression: str, data: dict, expected: object) -> None:
    assert check_expression(expression) is None
    assert RestrictedEnvironment().evaluate(expression, data) == expected


def test_scripts_write_variables_back_to_task_data() -> None:
    environment = RestrictedEnvironment()
    data: dict = {"age": 15, "liste": [1, 2], "fiche": {}, "temporaire": 1}
    script = (
        "mineur = age < 18\n"
        "total = 0\n"
        "for index, valeur in enumerate(liste):\n"
        "    total += valeur * index\n"
        "liste.append(3)\n"
        "fiche['statut'] = 'ouvert'\n"
        "echeance = (date(2026, 1, 1) + timedelta(days=7)).isoformat()\n"
        "def double(v):\n"
        "    return v * 2\n"
        "doublé = double(2)\n"
        "del temporaire\n"
    )

    assert environment.execute(script, data) is True

    assert data == {
        "age": 15,
        "liste": [1, 2, 3],
        "fiche": {"statut": "ouvert"},
        "mineur": True,
        "total": 2,
        "echeance": "2026-01-08",
        "doublé": 4,
        "index": 1,
        "valeur": 2,
    }


def test_task_data_may_shadow_helpers_but_not_guards() -> None:
    environment = RestrictedEnvironment()
    assert environment.evaluate("date", {"date": "2025-01-01"}) == "2025-01-01"
    # A data key named like a guard never replaces it.
    assert environment.evaluate("d['a']", {"d": {"a": 1}, "_getitem_": None}) == 1


def test_writes_to_arbitrary_objects_are_refused() -> None:
    with pytest.raises(TypeError):
        RestrictedEnvironment().execute("d.year = 3", {"d": date(2025, 1, 1)})
    with pytest.raises(TypeError):
        RestrictedEnvironment().execute("t[0] = 3", {"t": (1, 2)})


def test_range_is_capped() -> None:
    with pytest.raises(ValueError):
        RestrictedEnvironment().evaluate("range(10 ** 9)", {})


def test_compilation_is_cached() -> None:
    assert compile_expression("age < 18") is compile_expression("age < 18")
    assert compile_expression("  age < 18\n") is compile_expression("age < 18")


def test_make_script_engine_uses_the_restricted_environment() -> None:
    engine = make_script_engine()
    assert isinstance(engine, PythonScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)
    assert isinstance(engine.environment, BasePythonScriptEngineEnvironment)


def test_call_service_delegates_to_the_hook() -> None:
    seen = []

    def hook(operator: str, params: dict, task_data: dict) -> dict:
        seen.append((operator, params, task_data))
        return {"ok": True, "at": "2026-01-01"}

    environment = RestrictedEnvironment(call_service=hook)
    result = environment.call_service(
        {"dossier": 7},
        operation_name="relais/echo",
        operation_params={"message": {"value": "bonjour", "type": "str"}},
    )

    assert json.loads(result) == {"ok": True, "at": "2026-01-01"}
    assert seen == [("relais/echo", {"message": "bonjour"}, {"dossier": 7})]


def test_call_service_without_hook_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="aucun exécuteur de connecteurs"):
        RestrictedEnvironment().call_service({}, operation_name="relais/echo")


# --- Through SpiffWorkflow: errors surface as French task errors ---------------------------


def script_workflow(script: str, call_service=None) -> BpmnWorkflow:  # type: ignore[no-untyped-def]
    """A one-script process parsed WITHOUT deploy checks, to exercise run-time defences."""
    escaped = script.replace("&", "&amp;").replace("<", "&lt;")
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="d" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="svc"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="relais/echo" resultVariable="r">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="message" type="str" value="'x'"/>
        </spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="svc"/>
    <bpmn:sequenceFlow id="f3" sourceRef="svc" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()
    spec = parse_specs({"p.bpmn": bpmn})["p"]
    return BpmnWorkflow(spec, script_engine=make_script_engine(call_service))


@pytest.mark.parametrize(
    "attack",
    [
        "import os",
        "x = __import__('os')",
        "open('/etc/passwd')",
        "x = ().__class__.__base__.__subclasses__()",
    ],
)
def test_attack_in_a_script_task_fails_the_task_in_french(attack: str) -> None:
    workflow = script_workflow(attack)

    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()

    error = caught.value
    assert isinstance(error, ExpressionError)
    assert str(error).startswith("Script refusé : ")
    assert error.task.task_spec.name == "script"
    assert workflow.get_tasks(state=TaskState.ERROR)


def test_runtime_errors_are_french_and_located() -> None:
    workflow = script_workflow("a = 1\nb = inconnu + 1")

    with pytest.raises(ExpressionError) as caught:
        workflow.do_engine_steps()

    message = str(caught.value)
    assert message == (
        "Erreur dans le script (ligne 2) : « inconnu » n'est pas défini "
        "(ni donnée de la tâche, ni fonction autorisée)"
    )
    assert caught.value.line_number == 2


def test_service_task_reaches_the_hook_and_stores_its_result() -> None:
    def hook(operator: str, params: dict, task_data: dict) -> dict:
        return {"operator": operator, **params}

    workflow = script_workflow("a = 1", call_service=hook)
    workflow.do_engine_steps()

    assert workflow.is_completed()
    assert workflow.last_task.data["r"] == {"operator": "relais/echo", "message": "x"}


def test_service_task_failure_is_a_french_task_error() -> None:
    def hook(operator: str, params: dict, task_data: dict) -> dict:
        raise ConnectionError("réseau indisponible")

    workflow = script_workflow("a = 1", call_service=hook)
    with pytest.raises(ServiceCallError) as caught:
        workflow.do_engine_steps()

    assert str(caught.value).startswith("Le connecteur « relais/echo » a échoué : ")
    assert isinstance(caught.value.__cause__, ConnectionError)


def test_expression_error_in_evaluate_names_the_expression() -> None:
    engine = make_script_engine()
    workflow = script_workflow("a = 1")
    task = workflow.get_tasks(state=TaskState.READY)[0]

    with pytest.raises(ExpressionError) as caught:
        engine.evaluate(task, "1 / zero", {"zero": 0})
    assert str(caught.value) == "Erreur dans l'expression « 1 / zero » : division par zéro"

    with pytest.raises(ExpressionError) as caught:
        engine.evaluate(task, "getattr(x, '__class__')")
    assert str(caught.value).startswith("Expression refusée : « getattr » n'est pas autorisé")


def test_engine_results_keep_plain_types() -> None:
    engine = make_script_engine()
    workflow = script_workflow("a = 1")
    task = workflow.get_tasks(state=TaskState.READY)[0]
    task.data.update({"debut": datetime(2026, 1, 1), "delai": timedelta(days=1)})
    assert engine.evaluate(task, "(debut + delai).date()") == date(2026, 1, 2)


def test_a_script_leaving_an_unstorable_value_in_task_data_fails_in_french_and_keeps_it_out(
) -> None:
    # Error objects are refused before (engine.runtime.screening); a set is the other case.
    workflow = script_workflow("erreur = {1, 2}")

    with pytest.raises(ExpressionError) as caught:
        workflow.do_engine_steps()

    assert str(caught.value).startswith(
        "Le script laisse dans les données une valeur qui ne peut pas être conservée : "
        "« erreur » (set)")
    [failed] = workflow.get_tasks(state=TaskState.ERROR)
    assert "erreur" not in failed.data
    assert json.loads(spiff.dump_state(workflow))  # the state stays storable


@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "while True:\n    try:\n        x = 1\n    except Exception:\n        pass",
])
def test_a_script_that_runs_too_long_is_stopped_in_french(monkeypatch, script: str) -> None:
    monkeypatch.setattr(limits, "SCRIPT_SECONDS", 0.2)
    workflow = script_workflow(script)
    started = time.monotonic()

    with pytest.raises(ExpressionError) as caught:
        workflow.do_engine_steps()

    assert time.monotonic() - started < 5
    assert "dépasse la durée maximale de 0.2 s" in str(caught.value)
    assert workflow.get_tasks(state=TaskState.ERROR)


def test_platform_code_is_not_slowed_by_the_time_bound() -> None:
    assert make_script_engine().environment.evaluate("sum(range(100))", {}) == 4950


def test_a_bare_except_that_would_swallow_the_time_bound_is_refused() -> None:
    error = check_expression("try:\n    x = 1\nexcept:\n    pass", "exec")
    assert error is not None and "except:" in error
    assert check_expression("try:\n    x = 1\nexcept KeyError:\n    pass", "exec") is None
