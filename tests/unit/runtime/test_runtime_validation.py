"""Deploy-time validation of process models, and a validated model actually running."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime import connectors
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.expressions import make_script_engine
from engine.runtime.loader import LoadedModel, content_hash, load_model

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_test" targetNamespace="http://relais.test/bpmn">
"""


def definitions(body: str) -> bytes:
    return (HEADER + body + "\n</bpmn:definitions>\n").encode("utf-8")


def lane(lane_id: str, name: str, *nodes: str) -> str:
    refs = "".join(f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in nodes)
    return f'<bpmn:lane id="{lane_id}" name="{name}">{refs}</bpmn:lane>'


def user_task(task_id: str, form: str | None, incoming: str, outgoing: str) -> str:
    extension = ""
    if form is not None:
        extension = (
            "<bpmn:extensionElements><spiffworkflow:properties>"
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
            "</spiffworkflow:properties></bpmn:extensionElements>"
        )
    return (
        f'<bpmn:userTask id="{task_id}" name="{task_id}">{extension}'
        f"<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>"
        "</bpmn:userTask>"
    )


def service_task(
    task_id: str,
    operator: str,
    params: dict[str, str],
    incoming: str,
    outgoing: str,
    result: str = "echo_result",
) -> str:
    parameters = "".join(
        f'<spiffworkflow:parameter id="{name}" type="str" value="{value}"/>'
        for name, value in params.items()
    )
    return (
        f'<bpmn:serviceTask id="{task_id}" name="{task_id}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="{result}">'
        f"<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>"
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        f"<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>"
        "</bpmn:serviceTask>"
    )


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    escaped = condition.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escaped}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


VALID_PROCESS = definitions(
    '<bpmn:process id="orientation" name="Orientation d\'une victime" isExecutable="true">'
    '<bpmn:laneSet id="LaneSet_1">'
    + lane(
        "Lane_IS",
        "IS",
        "start",
        "accueil",
        "classer",
        "echo",
        "gw",
        "end_minor",
        "end_consent",
        "end_old",
        "end_other",
    )
    + "</bpmn:laneSet>"
    '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
    + user_task("accueil", "accueil.json", "f1", "f2")
    + '<bpmn:scriptTask id="classer" name="Classer"><bpmn:incoming>f2</bpmn:incoming>'
    "<bpmn:outgoing>f3</bpmn:outgoing>"
    '<bpmn:script>categorie = "mineur" if age &lt; 18 else "majeur"\n'
    "etapes = [1, 2]\netapes[0] = etapes[0] + 10\ntotal = 1\ntotal += 1</bpmn:script>"
    "</bpmn:scriptTask>"
    + service_task("echo", "relais/echo", {"message": "'bonjour ' + categorie"}, "f3", "f4")
    + '<bpmn:exclusiveGateway id="gw" default="f_other"><bpmn:incoming>f4</bpmn:incoming>'
    "<bpmn:outgoing>f_minor</bpmn:outgoing><bpmn:outgoing>f_consent</bpmn:outgoing>"
    "<bpmn:outgoing>f_old</bpmn:outgoing><bpmn:outgoing>f_other</bpmn:outgoing>"
    "</bpmn:exclusiveGateway>"
    + "".join(
        f'<bpmn:endEvent id="{end}"><bpmn:incoming>{incoming}</bpmn:incoming></bpmn:endEvent>'
        for end, incoming in (
            ("end_minor", "f_minor"),
            ("end_consent", "f_consent"),
            ("end_old", "f_old"),
            ("end_other", "f_other"),
        )
    )
    + flow("f1", "start", "accueil")
    + flow("f2", "accueil", "classer")
    + flow("f3", "classer", "echo")
    + flow("f4", "echo", "gw")
    + flow("f_minor", "gw", "end_minor", "age < 18")
    + flow("f_consent", "gw", "end_consent", 'consent == "granted"')
    + flow("f_old", "gw", "end_old", "date_faits < date(2026, 1, 1)")
    + flow("f_other", "gw", "end_other")
    + "</bpmn:process>"
)


@pytest.fixture
def forms_dir(tmp_path: Path) -> Path:
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "accueil.json").write_text('{"type": "object"}', encoding="utf-8")
    return forms


def rejected(files: dict[str, bytes], forms_dir: Path) -> tuple[Problem, ...]:
    with pytest.raises(ModelRejected) as caught:
        load_model(files, forms_dir)
    problems = caught.value.problems
    assert problems
    for problem in problems:
        assert problem.reason and problem.reason[0].isupper()
    return problems


def find(problems: tuple[Problem, ...], element_id: str) -> Problem:
    matching = [problem for problem in problems if problem.element_id == element_id]
    assert matching, f"no problem for {element_id}: {problems}"
    return matching[0]


# --- A valid model loads and runs --------------------------------------------------------


def test_valid_model_loads(forms_dir: Path) -> None:
    model = load_model({"orientation.bpmn": VALID_PROCESS}, forms_dir)

    assert isinstance(model, LoadedModel)
    assert model.process_ids == ("orientation",)
    assert model.process_names == {"orientation": "Orientation d'une victime"}
    assert isinstance(model.specs["orientation"], BpmnProcessSpec)
    assert model.subprocess_specs == {"orientation": {}}
    assert model.roles == {"orientation": ("IS",)}
    assert model.forms == ("accueil.json",)
    assert model.content_hash == content_hash({"orientation.bpmn": VALID_PROCESS})
    assert len(model.content_hash) == 64


def test_content_hash_depends_on_content_only(forms_dir: Path) -> None:
    first = load_model({"orientation.bpmn": VALID_PROCESS}, forms_dir).content_hash
    again = load_model({"orientation.bpmn": bytes(VALID_PROCESS)}, forms_dir).content_hash
    assert first == again
    assert content_hash({"a.bpmn": b"x", "b.dmn": b"y"}) == content_hash(
        {"b.dmn": b"y", "a.bpmn": b"x"}
    )
    assert content_hash({"a.bpmn": b"xy"}) != content_hash({"a.bpmn": b"x", "y": b""})
    assert content_hash({"a.bpmn": b"x"}) != content_hash({"b.bpmn": b"x"})


def run_to_end(model: LoadedModel, data: dict[str, object]) -> tuple[BpmnWorkflow, list[tuple]]:
    """Run the model; service tasks wait (STARTED) and are completed as the outbox actor would."""
    calls: list[tuple] = []
    engine = make_script_engine()
    engine.service_requests = []
    workflow = BpmnWorkflow(
        model.specs["orientation"],
        model.subprocess_specs["orientation"],
        script_engine=engine,
    )
    workflow.do_engine_steps()
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert [task.task_spec.name for task in ready] == ["accueil"]
    assert ready[0].task_spec.lane == "IS"
    ready[0].data.update(data)
    ready[0].run()
    workflow.do_engine_steps()
    assert not workflow.is_completed()  # the service task waits for its connector
    for guid, operator, params in engine.service_requests:
        calls.append((operator, params))
        task = next(t for t in workflow.get_tasks(state=TaskState.STARTED)
                    if str(t.id) == guid)
        task.data[task.task_spec.result_variable] = connectors.get(operator).run(params)
        task.complete()
        workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow, calls


def finished_end(workflow: BpmnWorkflow) -> str:
    ends = [
        task.task_spec.name
        for task in workflow.get_tasks(state=TaskState.COMPLETED)
        if task.task_spec.name.startswith("end_")
    ]
    assert len(ends) == 1
    return ends[0]


@pytest.mark.parametrize(
    ("data", "expected_end"),
    [
        ({"age": 15, "consent": "refused", "date_faits": date(2026, 3, 1)}, "end_minor"),
        ({"age": 30, "consent": "granted", "date_faits": date(2026, 3, 1)}, "end_consent"),
        ({"age": 30, "consent": "refused", "date_faits": date(2025, 5, 1)}, "end_old"),
        ({"age": 30, "consent": "refused", "date_faits": date(2026, 3, 1)}, "end_other"),
    ],
)
def test_valid_model_runs_and_routes(
    forms_dir: Path, data: dict[str, object], expected_end: str
) -> None:
    model = load_model({"orientation.bpmn": VALID_PROCESS}, forms_dir)

    workflow, calls = run_to_end(model, data)

    assert finished_end(workflow) == expected_end
    expected_category = "mineur" if data["age"] < 18 else "majeur"  # type: ignore[operator]
    assert calls == [("relais/echo", {"message": f"bonjour {expected_category}"})]
    final = workflow.last_task.data
    assert final["categorie"] == expected_category
    assert final["etapes"] == [11, 2]
    assert final["total"] == 2
    assert final["echo_result"] == {"message": f"bonjour {expected_category}"}


def test_timer_expressions_run_under_the_restricted_engine(forms_dir: Path) -> None:
    diagram = definitions(
        '<bpmn:process id="attente" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f2</bpmn:outgoing>"
        '<bpmn:timerEventDefinition id="timer">'
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
        '"PT0S" if delai is None else delai</bpmn:timeDuration></bpmn:timerEventDefinition>'
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        + flow("f1", "start", "wait")
        + flow("f2", "wait", "end")
        + "</bpmn:process>"
    )
    model = load_model({"attente.bpmn": diagram}, forms_dir)
    workflow = BpmnWorkflow(model.specs["attente"], script_engine=make_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data["delai"] = None

    workflow.do_engine_steps()
    workflow.refresh_timers()
    workflow.do_engine_steps()

    assert workflow.is_completed()


# --- Each rule yields a precise problem --------------------------------------------------


INVALID_PROCESS = definitions(
    '<bpmn:process id="mauvais" isExecutable="true">'
    '<bpmn:laneSet id="LaneSet_1">'
    + lane("Lane_X", "Inconnu", "start", "missing_form")
    + lane("Lane_IS", "IS", "traversal", "unknown_op", "gw", "end_a", "end_b")
    + "</bpmn:laneSet>"
    '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
    + user_task("missing_form", "absent.json", "f1", "f2")
    + user_task("traversal", "../secret.json", "f2", "f3")
    + service_task("unknown_op", "acme/launch", {}, "f3", "f4")
    + '<bpmn:exclusiveGateway id="gw" default="f_b"><bpmn:incoming>f4</bpmn:incoming>'
    "<bpmn:outgoing>f_a</bpmn:outgoing><bpmn:outgoing>f_b</bpmn:outgoing>"
    "</bpmn:exclusiveGateway>"
    '<bpmn:endEvent id="end_a"><bpmn:incoming>f_a</bpmn:incoming></bpmn:endEvent>'
    '<bpmn:endEvent id="end_b"><bpmn:incoming>f_b</bpmn:incoming></bpmn:endEvent>'
    + flow("f1", "start", "missing_form")
    + flow("f2", "missing_form", "traversal")
    + flow("f3", "traversal", "unknown_op")
    + flow("f4", "unknown_op", "gw")
    + flow("f_a", "gw", "end_a", "__import__('os')")
    + flow("f_b", "gw", "end_b")
    + "</bpmn:process>"
)


def test_every_problem_is_reported_at_once(forms_dir: Path) -> None:
    problems = rejected({"mauvais.bpmn": INVALID_PROCESS}, forms_dir)

    ids = {problem.element_id for problem in problems}
    assert {"Lane_X", "missing_form", "traversal", "unknown_op", "f_a"} <= ids
    assert all(problem.file == "mauvais.bpmn" for problem in problems)


def test_unknown_lane_role(forms_dir: Path) -> None:
    problem = find(rejected({"m.bpmn": INVALID_PROCESS}, forms_dir), "Lane_X")
    assert problem.element_type == "lane"
    assert "Inconnu" in problem.reason
    assert "rôle" in problem.reason


def test_missing_form_file(forms_dir: Path) -> None:
    problem = find(rejected({"m.bpmn": INVALID_PROCESS}, forms_dir), "missing_form")
    assert problem.element_type == "userTask"
    assert "absent.json" in problem.reason
    assert "introuvable" in problem.reason


def test_form_name_with_path_traversal(forms_dir: Path) -> None:
    (forms_dir.parent / "secret.json").write_text("{}", encoding="utf-8")  # exists, still refused
    problem = find(rejected({"m.bpmn": INVALID_PROCESS}, forms_dir), "traversal")
    assert problem.element_type == "userTask"
    assert "sans chemin" in problem.reason


@pytest.mark.parametrize("name", ["sub/form.json", "sub\\form.json", "..", ".hidden.json"])
def test_form_names_with_paths_are_refused(forms_dir: Path, name: str) -> None:
    process = VALID_PROCESS.replace(b'value="accueil.json"', f'value="{name}"'.encode())
    problem = find(rejected({"p.bpmn": process}, forms_dir), "accueil")
    assert "nom de formulaire invalide" in problem.reason


def test_unknown_service_operator(forms_dir: Path) -> None:
    problem = find(rejected({"m.bpmn": INVALID_PROCESS}, forms_dir), "unknown_op")
    assert problem.element_type == "serviceTask"
    assert "acme/launch" in problem.reason
    assert "relais/echo" in problem.reason


def test_condition_that_does_not_compile(forms_dir: Path) -> None:
    problem = find(rejected({"m.bpmn": INVALID_PROCESS}, forms_dir), "f_a")
    assert problem.element_type == "sequenceFlow"
    assert "Expression refusée" in problem.reason
    assert "__import__" in problem.reason


def test_unknown_connector_parameter(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b'id="message"', b'id="destinataire"')
    problem = find(rejected({"p.bpmn": process}, forms_dir), "echo")
    assert "destinataire" in problem.reason
    assert "inconnu" in problem.reason


def test_connector_parameter_expression_is_checked(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b"value=\"'bonjour ' + categorie\"", b'value="open(1)"')
    problem = find(rejected({"p.bpmn": process}, forms_dir), "echo")
    assert "open" in problem.reason


def test_script_task_with_import(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b"etapes = [1, 2]", b"import os\netapes = [1, 2]")
    problem = find(rejected({"p.bpmn": process}, forms_dir), "classer")
    assert problem.element_type == "scriptTask"
    assert "imports sont interdits" in problem.reason


def test_pre_script_is_checked(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(
        b"<spiffworkflow:properties>",
        b"<spiffworkflow:preScript>x = ().__class__</spiffworkflow:preScript>"
        b"<spiffworkflow:properties>",
    )
    problem = find(rejected({"p.bpmn": process}, forms_dir), "accueil")
    assert "Pré-script" in problem.reason
    assert "__class__" in problem.reason


def test_bare_iso_duration_timer_is_refused_with_a_hint(forms_dir: Path) -> None:
    diagram = definitions(
        '<bpmn:process id="attente" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming>'
        '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition id="timer">'
        "<bpmn:timeDuration>P7D</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        + flow("f1", "start", "wait")
        + flow("f2", "wait", "end")
        + "</bpmn:process>"
    )
    problem = find(rejected({"t.bpmn": diagram}, forms_dir), "wait")
    assert problem.element_type == "intermediateCatchEvent"
    assert '"P7D"' in problem.reason


def test_complex_gateway_is_unsupported(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b"bpmn:exclusiveGateway", b"bpmn:complexGateway")
    problem = find(rejected({"p.bpmn": process}, forms_dir), "gw")
    assert problem.element_type == "complexGateway"
    assert "passerelle" in problem.reason


def test_compensation_and_signal_end_are_unsupported(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(
        b'<bpmn:endEvent id="end_old"><bpmn:incoming>f_old</bpmn:incoming></bpmn:endEvent>',
        b'<bpmn:endEvent id="end_old"><bpmn:incoming>f_old</bpmn:incoming>'
        b'<bpmn:compensateEventDefinition id="c1"/></bpmn:endEvent>',
    ).replace(
        b'<bpmn:endEvent id="end_other"><bpmn:incoming>f_other</bpmn:incoming></bpmn:endEvent>',
        b'<bpmn:endEvent id="end_other"><bpmn:incoming>f_other</bpmn:incoming>'
        b'<bpmn:signalEventDefinition id="s1"/></bpmn:endEvent>',
    )
    problems = rejected({"p.bpmn": process}, forms_dir)
    assert "compensation" in find(problems, "end_old").reason
    assert "signal" in find(problems, "end_other").reason
    assert find(problems, "end_other").element_type == "endEvent"


def test_data_store_reference_is_unsupported(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(
        b'<bpmn:startEvent id="start">',
        b'<bpmn:dataStoreReference id="store_ref"/><bpmn:startEvent id="start">',
    )
    problem = find(rejected({"p.bpmn": process}, forms_dir), "store_ref")
    assert problem.element_type == "dataStoreReference"


def test_no_executable_process(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b'isExecutable="true"', b'isExecutable="false"')
    problem = find(rejected({"p.bpmn": process}, forms_dir), "orientation")
    assert problem.element_type == "process"
    assert 'isExecutable="true"' in problem.reason


def test_user_task_outside_any_lane(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b"<bpmn:flowNodeRef>accueil</bpmn:flowNodeRef>", b"")
    problem = find(rejected({"p.bpmn": process}, forms_dir), "accueil")
    assert problem.element_type == "userTask"
    assert "couloir" in problem.reason


def test_call_activity_to_a_missing_process(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(
        b'<bpmn:scriptTask id="classer" name="Classer">',
        b'<bpmn:callActivity id="appel" calledElement="ailleurs"><bpmn:incoming>x</bpmn:incoming>'
        b'</bpmn:callActivity><bpmn:scriptTask id="classer" name="Classer">',
    )
    problem = find(rejected({"p.bpmn": process}, forms_dir), "appel")
    assert problem.element_type == "callActivity"
    assert "ailleurs" in problem.reason


def test_spiffworkflow_structural_errors_become_problems(forms_dir: Path) -> None:
    # A gateway flow without condition that is not the default: SpiffWorkflow refuses it.
    process = VALID_PROCESS.replace(b' default="f_other"', b"")
    problem = find(rejected({"p.bpmn": process}, forms_dir), "f_other")
    assert "condition" in problem.reason


def test_schema_violations_become_problems(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(b' targetNamespace="http://relais.test/bpmn"', b"")
    problems = rejected({"p.bpmn": process}, forms_dir)
    assert any("schéma BPMN" in problem.reason and problem.line for problem in problems)


def test_unexpected_errors_never_escape(forms_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    def explode(self: object, process_id: str, required: bool = True) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(SpiffBpmnParser, "get_spec", explode)
    problems = rejected({"p.bpmn": VALID_PROCESS}, forms_dir)
    assert "boom" not in " ".join(problem.reason for problem in problems)

    monkeypatch.setattr("engine.runtime.rules.executable_processes", explode)
    problems = rejected({"p.bpmn": VALID_PROCESS}, forms_dir)
    assert "erreur interne" in problems[0].reason


def test_a_dmn_alone_is_not_a_model(forms_dir: Path) -> None:
    dmn = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" '
        b'namespace="http://relais.test/dmn"/>'
    )
    problems = rejected({"d.dmn": dmn}, forms_dir)
    assert ".bpmn" in problems[0].reason


def test_dmn_cells_are_checked(forms_dir: Path) -> None:
    dmn = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" '
        b'name="DRD" namespace="http://relais.test/dmn">'
        b'<decision id="orienter" name="Orienter"><decisionTable id="table">'
        b'<input id="in_age" label="Age"><inputExpression id="ie" typeRef="integer">'
        b"<text>age</text></inputExpression></input>"
        b'<output id="out" name="orientation" typeRef="string"/>'
        b'<rule id="r1"><inputEntry id="ie1"><text>&lt; 18</text></inputEntry>'
        b'<outputEntry id="oe1"><text>"mineur"</text></outputEntry></rule>'
        b'<rule id="r2"><inputEntry id="ie2"><text>-</text></inputEntry>'
        b'<outputEntry id="oe2"><text>__import__("os")</text></outputEntry></rule>'
        b"</decisionTable></decision></definitions>"
    )
    problems = rejected({"p.bpmn": VALID_PROCESS, "d.dmn": dmn}, forms_dir)
    problem = find(problems, "oe2")
    assert problem.file == "d.dmn"
    assert problem.element_type == "outputEntry"
    assert all(p.element_id not in {"ie1", "ie2", "oe1"} for p in problems)


def test_condition_on_a_flow_leaving_a_task_is_refused(forms_dir: Path) -> None:
    # SpiffWorkflow would follow this flow whatever the condition says.
    process = VALID_PROCESS.replace(
        b'<bpmn:sequenceFlow id="f2" sourceRef="accueil" targetRef="classer"/>',
        b'<bpmn:sequenceFlow id="f2" sourceRef="accueil" targetRef="classer">'
        b"<bpmn:conditionExpression>age &gt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    problem = find(rejected({"p.bpmn": process}, forms_dir), "f2")
    assert problem.element_type == "sequenceFlow"
    assert "ignorée" in problem.reason


def test_boundary_event_without_type_is_refused(forms_dir: Path) -> None:
    process = VALID_PROCESS.replace(
        b'<bpmn:startEvent id="start">',
        b'<bpmn:boundaryEvent id="bord" attachedToRef="accueil"/><bpmn:startEvent id="start">',
    )
    problem = find(rejected({"p.bpmn": process}, forms_dir), "bord")
    assert problem.element_type == "boundaryEvent"


def test_problems_render_for_reports_and_json(forms_dir: Path) -> None:
    with pytest.raises(ModelRejected) as caught:
        load_model({"m.bpmn": INVALID_PROCESS}, forms_dir)
    report = caught.value.report()
    assert report.startswith("Modèle refusé : ")
    assert "- m.bpmn, lane « Lane_X » : " in report
    as_dict = find(caught.value.problems, "Lane_X").as_dict()
    assert set(as_dict) == {"file", "element_id", "element_type", "reason", "line"}


def test_dmn_decision_loads_and_runs_under_the_restricted_engine(forms_dir: Path) -> None:
    dmn = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" '
        b'name="DRD" namespace="http://relais.test/dmn">'
        b'<decision id="orienter" name="Orienter"><decisionTable id="table">'
        b'<input id="in_age" label="Age"><inputExpression id="ie" typeRef="integer">'
        b"<text>age</text></inputExpression></input>"
        b'<output id="out" name="orientation" typeRef="string"/>'
        b'<rule id="r1"><inputEntry id="ie1"><text>&lt; 18</text></inputEntry>'
        b'<outputEntry id="oe1"><text>"mineur"</text></outputEntry></rule>'
        b'<rule id="r2"><inputEntry id="ie2"><text>-</text></inputEntry>'
        b'<outputEntry id="oe2"><text>"majeur"</text></outputEntry></rule>'
        b"</decisionTable></decision></definitions>"
    )
    bpmn = definitions(
        '<bpmn:process id="regles" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:businessRuleTask id="regle"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>orienter</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements>"
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        "</bpmn:businessRuleTask>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        + flow("f1", "start", "regle")
        + flow("f2", "regle", "end")
        + "</bpmn:process>"
    )
    model = load_model({"regles.bpmn": bpmn, "orienter.dmn": dmn}, forms_dir)

    for age, expected in ((10, "mineur"), (40, "majeur")):
        workflow = BpmnWorkflow(model.specs["regles"], script_engine=make_script_engine())
        workflow.get_tasks(state=TaskState.READY)[0].data["age"] = age
        workflow.do_engine_steps()
        assert workflow.is_completed()
        assert workflow.last_task.data["orientation"] == expected


def test_dmn_decision_missing(forms_dir: Path) -> None:
    bpmn = definitions(
        '<bpmn:process id="regles" isExecutable="true">'
        '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:businessRuleTask id="regle"><bpmn:extensionElements>'
        "<spiffworkflow:calledDecisionId>absente</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements>"
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        "</bpmn:businessRuleTask>"
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
        + flow("f1", "start", "regle")
        + flow("f2", "regle", "end")
        + "</bpmn:process>"
    )
    problem = find(rejected({"regles.bpmn": bpmn}, forms_dir), "regle")
    assert problem.element_type == "businessRuleTask"
    assert "DMN" in problem.reason
