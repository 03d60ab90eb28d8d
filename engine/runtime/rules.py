"""Relais' deployment rules for process models (see `engine.runtime.loader`).

Each check yields French `Problem`s and never stops at the first: the whole model is
judged, then refused as a whole. The rules apply to processes marked
``isExecutable="true"``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins import ManualTaskMixin, UserTaskMixin

from engine.identity.roles import Role, is_known_role
from engine.runtime import connectors
from engine.runtime.errors import Problem
from engine.runtime.expressions import Mode, check_expression
from engine.runtime.problems import file_problem, owner, problem, sentence, shorten
from engine.runtime.reading import Document
from engine.runtime.vocabulary import (
    BPMN_NS,
    CONDITIONAL_GATEWAYS,
    DEFAULT_ADVICE,
    DEFINITIONS_EXPRESSION_SITES,
    EVENT_DEFINITIONS,
    EVENT_LABELS,
    EXPRESSION_SITES,
    FORM_PROPERTIES,
    NEVER_PREFILLED,
    NS,
    PREFILL,
    REFUSED_ADVICE,
    SUPPORTED_ELEMENTS,
    TIMER_TAGS,
)
from engine.territory.slots import SLOTS, slot_of_variable

_BARE_ISO_8601 = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.,]+$", re.IGNORECASE)
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


# --- Processes ---------------------------------------------------------------------------


def executable_processes(
    documents: Iterable[Document],
) -> dict[str, tuple[str, etree._Element]]:
    """Processes explicitly marked isExecutable="true": id → (file, element), in order."""
    found: dict[str, tuple[str, etree._Element]] = {}
    for doc in documents:
        for process in doc.root.iterfind("bpmn:process", NS):
            process_id = process.get("id")
            if process_id and process.get("isExecutable") == "true":
                found.setdefault(process_id, (doc.file, process))
    return found


def no_executable_process(documents: Iterable[Document]) -> Iterator[Problem]:
    for doc in documents:
        processes = doc.root.findall("bpmn:process", NS)
        if not processes:
            yield file_problem(doc.file, "le fichier ne contient aucun processus")
        for process in processes:
            yield problem(
                doc.file,
                process,
                "aucun processus n'est exécutable : marquez le "
                'processus à déployer comme exécutable (isExecutable="true")',
            )


def process_name(process: etree._Element) -> str:
    return (process.get("name") or "").strip() or process.get("id", "")


def lane_roles(process: etree._Element) -> tuple[str, ...]:
    return tuple(sorted({lane.get("name", "") for lane in _node_lanes(process)}))


def referenced_forms(executable: Mapping[str, tuple[str, etree._Element]]) -> set[str]:
    return {
        value
        for _, process in executable.values()
        for task in process.iterfind(".//bpmn:userTask", NS)
        for _name, value in _form_properties(task)
        if value
    }


# --- Supported elements ------------------------------------------------------------------


def unsupported_elements(
    documents: Iterable[Document], executable: Mapping[str, tuple[str, etree._Element]]
) -> Iterator[Problem]:
    """Elements SpiffWorkflow would reject or silently ignore (they block its parse)."""
    for doc in documents:
        for store in doc.root.iterfind("bpmn:dataStore", NS):
            yield problem(
                doc.file,
                store,
                "l'élément « dataStore » n'est pas pris en charge "
                "par Relais : " + REFUSED_ADVICE["dataStore"],
            )
    for file, process in executable.values():
        yield from _walk_unsupported(file, process)
        yield from _unsupported_events(file, process)
        yield from _misplaced_conditions(file, process)
        for node in process.iterfind(".//*[@isForCompensation='true']"):
            yield problem(
                file,
                node,
                "les activités de compensation ne sont pas prises en "
                "charge : modélisez l'annulation avec un chemin explicite",
            )


def _walk_unsupported(file: str, element: etree._Element) -> Iterator[Problem]:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace != BPMN_NS or qname.localname == "extensionElements":
            continue  # extensions are read by the specific checks; XSD judges the rest
        local = qname.localname
        if local.endswith("EventDefinition") or local == "eventDefinitionRef":
            continue  # judged per event type by _unsupported_events
        if local not in SUPPORTED_ELEMENTS:
            advice = REFUSED_ADVICE.get(local, DEFAULT_ADVICE)
            # Elements without id (a transformation…) are reported on their owner.
            where = child if child.get("id") else owner(child)
            yield problem(
                file, where, f"l'élément « {local} » n'est pas pris en charge par Relais : {advice}"
            )
            continue  # its content is moot
        yield from _walk_unsupported(file, child)


def _unsupported_events(file: str, process: etree._Element) -> Iterator[Problem]:
    for event_type, allowed in EVENT_DEFINITIONS.items():
        for event in process.iterfind(f".//bpmn:{event_type}", NS):
            if event_type == "boundaryEvent" and not _event_definitions(event):
                yield problem(
                    file,
                    event,
                    "un événement de bordure doit avoir un type "
                    "(minuterie, message, signal, erreur, escalade, condition)",
                )
            for definition in event:
                if not isinstance(definition.tag, str):
                    continue
                qname = etree.QName(definition)
                if qname.namespace != BPMN_NS:
                    continue
                if qname.localname == "eventDefinitionRef":
                    yield problem(
                        file,
                        event,
                        "les références à des définitions d'événement "
                        "partagées ne sont pas prises en charge : définissez "
                        "l'événement sur place",
                    )
                    continue
                if not qname.localname.endswith("EventDefinition"):
                    continue
                kind = qname.localname.removesuffix("EventDefinition")
                if kind not in allowed:
                    label = EVENT_LABELS.get(kind, f"« {kind} »")
                    yield problem(
                        file,
                        event,
                        f"un événement {label} n'est pas pris en "
                        f"charge sur un élément {event_type} : le moteur l'ignorerait ;"
                        " changez le type d'événement",
                    )


def _event_definitions(event: etree._Element) -> list[etree._Element]:
    return [
        child
        for child in event
        if isinstance(child.tag, str)
        and etree.QName(child).namespace == BPMN_NS
        and etree.QName(child).localname.endswith("EventDefinition")
    ]


def _misplaced_conditions(file: str, process: etree._Element) -> Iterator[Problem]:
    """Conditions SpiffWorkflow honours only on exclusive and inclusive gateways' flows."""
    gateways = {
        node.get("id")
        for node in process.iterfind(".//*[@id]")
        if etree.QName(node).localname in CONDITIONAL_GATEWAYS
    }
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        if (
            flow.find("bpmn:conditionExpression", NS) is not None
            and flow.get("sourceRef") not in gateways
        ):
            yield problem(
                file,
                flow,
                "une condition sur ce flux serait ignorée : seules les "
                "passerelles exclusives ou inclusives évaluent des conditions ; "
                "ajoutez une passerelle avant ce flux",
            )


# --- Relais rules ------------------------------------------------------------------------


def rule_problems(
    documents: list[Document],
    executable: Mapping[str, tuple[str, etree._Element]],
    forms_dir: Path,
) -> Iterator[Problem]:
    for file, process in executable.values():
        yield from _lane_problems(file, process)
        yield from _partner_problems(file, process)
        yield from _form_problems(file, process, forms_dir)
        yield from _service_task_problems(file, process)
        yield from _script_task_problems(file, process)
        yield from _call_activity_problems(file, process, executable)
        for xpath, mode, label in EXPRESSION_SITES:
            yield from _expression_problems(file, process.iterfind(xpath, NS), mode, label)
    files_with_processes = {file for file, _ in executable.values()}
    for doc in documents:
        if doc.kind == "bpmn" and doc.file in files_with_processes:
            for xpath, mode, label in DEFINITIONS_EXPRESSION_SITES:
                yield from _expression_problems(doc.file, doc.root.iterfind(xpath, NS), mode, label)
        elif doc.kind == "dmn":
            yield from _dmn_problems(doc)


def _partner_problems(file: str, process: etree._Element) -> Iterator[Problem]:
    """A data input `organisation_<SLOT>` declares a territory partner: the slot must exist."""
    for data_input in process.iterfind("./bpmn:ioSpecification/bpmn:dataInput", NS):
        slot = slot_of_variable(data_input.get("name"))
        if slot is not None and slot not in SLOTS:
            yield problem(file, data_input, f"le partenaire « {slot} » n'existe pas dans les "
                          f"paramètres des territoires : choisissez parmi {', '.join(SLOTS)}")


def _node_lanes(process: etree._Element) -> Iterator[etree._Element]:
    """Lanes that hold flow nodes directly (leaf lanes): they give tasks their role."""
    for lane in process.iterfind(".//bpmn:lane", NS):
        if (
            lane.find("bpmn:childLaneSet", NS) is None
            and lane.find("bpmn:flowNodeRef", NS) is not None
        ):
            yield lane


def _lane_problems(file: str, process: etree._Element) -> Iterator[Problem]:
    roles = ", ".join(role.value for role in Role)
    for lane in _node_lanes(process):
        name = lane.get("name") or ""
        if not name.strip():
            yield problem(
                file,
                lane,
                f"ce couloir n'a pas de nom : nommez-le d'après le rôle "
                f"qui exécute ses tâches ({roles})",
            )
        elif not is_known_role(name):
            yield problem(
                file,
                lane,
                f"le couloir « {name} » ne correspond à aucun rôle "
                f"connu : renommez-le avec l'un des rôles {roles}",
            )


def _spiff_properties(task: etree._Element) -> list[etree._Element]:
    path = "bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property"
    return task.findall(path, NS)


def _form_properties(task: etree._Element) -> Iterator[tuple[str, str]]:
    """(property name, file name) of the task's form properties."""
    for prop in _spiff_properties(task):
        name = prop.get("name")
        if name in FORM_PROPERTIES:
            yield name, prop.get("value") or ""


def _form_problems(file: str, process: etree._Element, forms_dir: Path) -> Iterator[Problem]:
    for task in process.iterfind(".//bpmn:userTask", NS):
        if any(p.get("name") is None or p.get("value") is None for p in _spiff_properties(task)):
            # SpiffWorkflow would crash on it with a KeyError.
            yield problem(
                file,
                task,
                "une propriété spiffworkflow:property doit avoir "
                "un nom (name) et une valeur (value)",
            )
        for name, value in _form_properties(task):
            reason = _form_file_problem(value, forms_dir)
            if reason:
                yield problem(file, task, f"{name} : {reason}")
        yield from _prefill_problems(file, task)


def _prefill_problems(file: str, task: etree._Element) -> Iterator[Problem]:
    for prop in _spiff_properties(task):
        field = (prop.get("name") or "").removeprefix(PREFILL)
        if (prop.get("name") or "").startswith(PREFILL) and field in NEVER_PREFILLED:
            yield problem(
                file,
                task,
                f"« {PREFILL}{field} » fixe à l'avance la réponse de la personne (décision, "
                "mode de recueil ou présentation du consentement) : seule la personne la "
                "donne ; retirez cette propriété",
            )


def _form_file_problem(value: str, forms_dir: Path) -> str | None:
    if not value:
        return "le nom du formulaire est vide : indiquez un fichier du dossier des formulaires"
    if "/" in value or "\\" in value or ".." in value or not _SAFE_FILE_NAME.match(value):
        return (
            f"nom de formulaire invalide « {shorten(value, 80)} » : indiquez seulement un "
            "nom de fichier (lettres, chiffres, « . », « - », « _ »), sans chemin"
        )
    if not (forms_dir / value).is_file():
        return (
            f"le formulaire « {value} » est introuvable dans le dossier des formulaires : "
            "ajoutez le fichier ou corrigez le nom"
        )
    return None


def _service_task_problems(file: str, process: etree._Element) -> Iterator[Problem]:
    known = ", ".join(connector.id for connector in connectors.all_connectors()) or "aucun"
    for task in process.iterfind(".//bpmn:serviceTask", NS):
        operator = task.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if operator is None:
            yield problem(
                file,
                task,
                "cette tâche de service n'a pas d'opérateur : "
                "choisissez un connecteur (spiffworkflow:serviceTaskOperator) "
                f"parmi : {known}",
            )
            continue
        operator_id = operator.get("id") or ""
        names = yield from _service_parameter_problems(file, task, operator)
        if not connectors.is_registered(operator_id):
            yield problem(
                file,
                task,
                f"le connecteur « {operator_id} » n'existe pas : choisissez parmi {known}",
            )
            continue
        for reason in connectors.get(operator_id).parameter_problems(names):
            yield problem(file, task, reason)


def _service_parameter_problems(
    file: str, task: etree._Element, operator: etree._Element
) -> Generator[Problem, None, set[str]]:
    """Yield each parameter's problems; return the set of parameter names given."""
    names: set[str] = set()
    for param in operator.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS):
        name, value = param.get("id"), param.get("value")
        if not name or value is None or param.get("type") is None:
            yield problem(
                file,
                task,
                "chaque paramètre du connecteur doit avoir un "
                "identifiant (id), un type et une valeur (value)",
            )
            continue
        names.add(name)
        error = check_expression(value, "eval")
        if error:
            yield problem(file, task, f"paramètre « {name} » : {error}")
    return names


def _script_task_problems(file: str, process: etree._Element) -> Iterator[Problem]:
    for task in process.iterfind(".//bpmn:scriptTask", NS):
        script = task.find("bpmn:script", NS)
        if script is None or not (script.text or "").strip():
            yield problem(
                file,
                task,
                "cette tâche de script n'a pas de script : écrivez-le "
                "ou remplacez la tâche par une tâche simple",
            )


def _call_activity_problems(
    file: str, process: etree._Element, executable: Mapping[str, tuple[str, etree._Element]]
) -> Iterator[Problem]:
    for activity in process.iterfind(".//bpmn:callActivity", NS):
        called = activity.get("calledElement") or ""
        if called not in executable:
            yield problem(
                file,
                activity,
                f"le processus appelé « {called} » n'est pas un "
                "processus exécutable de ce déploiement : joignez son fichier et "
                'marquez-le isExecutable="true"',
            )


def _expression_problems(
    file: str, elements: Iterable[etree._Element], mode: Mode, label: str
) -> Iterator[Problem]:
    for element in elements:
        source = element.text or ""
        error = check_expression(source, mode)
        if error is None and etree.QName(element).localname in TIMER_TAGS:
            error = _timer_hint(source)
        if error:
            yield problem(file, owner(element), f"{label} « {shorten(source)} » : {error}")


def _timer_hint(source: str) -> str | None:
    # `PT1H` is a valid Python name, so it compiles, then fails when the timer starts.
    text = source.strip()
    if _BARE_ISO_8601.match(text):
        return f'une durée ISO 8601 s\'écrit entre guillemets : "{text}"'
    return None


def _dmn_problems(doc: Document) -> Iterator[Problem]:
    for element in doc.root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local not in ("inputExpression", "inputEntry", "outputEntry"):
            continue
        text_node = next((c for c in element if etree.QName(c).localname == "text"), None)
        source = (text_node.text or "").strip() if text_node is not None else ""
        if not source or (local == "inputEntry" and source == "-"):
            continue
        error = _dmn_entry_error(source) if local == "inputEntry" else check_expression(source)
        if error:
            yield problem(doc.file, element, f"cellule « {shorten(source)} » : {error}")


def _dmn_entry_error(source: str) -> str | None:
    # An input entry is either a full expression (`"a"`, `dmninputexpr > 3` via `?`) or a
    # right-hand side (`< 18`) that SpiffWorkflow prefixes with the input expression.
    expression = source.replace("?", "dmninputexpr")
    error = check_expression(expression)
    if error is None or check_expression(f"dmninputexpr {expression}") is None:
        return None
    return error


def human_tasks_without_lane(
    specs: Mapping[str, BpmnProcessSpec],
    subprocess_specs: Mapping[str, Mapping[str, BpmnProcessSpec]],
) -> Iterator[Problem]:
    """User and manual tasks need a lane: it is how Relais knows which role does them."""
    seen: set[tuple[str, str]] = set()
    all_specs = list(specs.values())
    for subs in subprocess_specs.values():
        all_specs.extend(spec for spec in subs.values() if spec is not None)
    for spec in all_specs:
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, UserTaskMixin | ManualTaskMixin) or task_spec.lane:
                continue
            key = (spec.file or "", task_spec.bpmn_id or task_spec.name)
            if key in seen:
                continue
            seen.add(key)
            element_type = "userTask" if isinstance(task_spec, UserTaskMixin) else "manualTask"
            yield Problem(
                key[0],
                key[1],
                element_type,
                sentence(
                    "cette tâche humaine n'est dans aucun couloir : placez-la dans le couloir "
                    "(lane) du rôle qui doit l'exécuter"
                ),
            )

