"""Hardened loading and deploy-time validation of process models (BPMN + DMN).

An uploaded diagram is code (DESIGN.md, invariant 6). `load_model` guarantees that:

1. every file is at most `MAX_DIAGRAM_BYTES`, has no DOCTYPE (so no entity, no DTD: the
   raw bytes are refused before any XML parser runs) and is parsed by our own lxml parser
   (entities unresolved, no network, no DTD, no huge trees) — SpiffWorkflow only ever
   receives our parsed trees;
2. the model is validated against Relais' rules, every problem is collected, and the model
   is refused as a whole with `ModelRejected(problems)`; each `Problem` names the file,
   the element id and BPMN type, and says in French what to do;
3. nothing else escapes: any unexpected error becomes a `ModelRejected` too.

Rules (they apply to processes marked ``isExecutable="true"``; other processes, such as a
partner's pool drawn for context, are ignored unless none is executable):

- only elements SpiffWorkflow 3.2 executes faithfully are accepted (`SUPPORTED_ELEMENTS`,
  `EVENT_DEFINITIONS`); those it would reject or silently ignore are refused, among them
  complex gateways, compensation, link events, data stores, ad hoc sub-processes, data
  assignments and resource assignments (tasks go to roles through lanes);
- each lane that holds nodes names a role of the catalogue; each user or manual task sits
  in such a lane;
- a user task's ``formJsonSchemaFilename`` (and ``formUiSchemaFilename``) is a plain file
  name that exists in the forms directory;
- a service task's ``spiffworkflow:serviceTaskOperator`` is a registered connector and its
  parameters are those the connector declares;
- every condition, script, pre/post-script, timer, loop and payload expression (and DMN
  cell) compiles under the restricted expression engine;
- a call activity calls an executable process of the same deployment;
- SpiffWorkflow's own parser (with its XSD validation) accepts the model.

`parse_specs` is the "parse only" door: same hardening, SpiffWorkflow's structural parse,
none of Relais' deployment rules. It is used to check that reference models (the MIWG
suite) parse into process specs; it never produces a deployable model.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins import ManualTaskMixin, UserTaskMixin
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from engine.identity.roles import Role, is_known_role
from engine.runtime import connectors
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.expressions import Mode, check_expression
from engine.runtime.spiff import RelaisBpmnParser

logger = logging.getLogger(__name__)

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = frozenset(DMN_SCHEMAS)
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")

# Flow nodes and structure SpiffWorkflow 3.2's SpiffBpmnParser executes (checked against
# its PARSER_CLASSES / OVERRIDE_PARSER_CLASSES and the spiff serializer).
FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "subProcess",
        "transaction",
        "callActivity",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
    }
)
SUPPORTED_ELEMENTS = FLOW_NODES | frozenset(
    {
        # flows, lanes, annotations
        "sequenceFlow",
        "conditionExpression",
        "incoming",
        "outgoing",
        "laneSet",
        "lane",
        "childLaneSet",
        "flowNodeRef",
        "documentation",
        "textAnnotation",
        "text",
        "association",
        "group",
        "property",
        "auditing",
        "monitoring",
        # data objects and task I/O
        "dataObject",
        "dataObjectReference",
        "dataState",
        "dataInputAssociation",
        "dataOutputAssociation",
        "sourceRef",
        "targetRef",
        "ioSpecification",
        "dataInput",
        "dataOutput",
        "inputSet",
        "outputSet",
        "dataInputRefs",
        "dataOutputRefs",
        "optionalInputRefs",
        "optionalOutputRefs",
        "whileExecutingInputRefs",
        "whileExecutingOutputRefs",
        "inputSetRefs",
        "outputSetRefs",
        # scripts, timers, loops
        "script",
        "timeDate",
        "timeDuration",
        "timeCycle",
        "condition",
        "standardLoopCharacteristics",
        "loopCondition",
        "multiInstanceLoopCharacteristics",
        "loopCardinality",
        "loopDataInputRef",
        "loopDataOutputRef",
        "inputDataItem",
        "outputDataItem",
        "completionCondition",
        "operationRef",
    }
)

# Event definitions SpiffWorkflow honours, per event type; anything else would be ignored
# silently (a signal end event would end without signalling), so it is refused.
EVENT_DEFINITIONS: Mapping[str, frozenset[str]] = {
    "startEvent": frozenset({"message", "signal", "timer", "conditional"}),
    "endEvent": frozenset({"message", "cancel", "error", "escalation", "terminate"}),
    "intermediateCatchEvent": frozenset({"message", "signal", "timer", "conditional"}),
    "intermediateThrowEvent": frozenset({"message", "signal", "escalation"}),
    "boundaryEvent": frozenset(
        {"cancel", "error", "escalation", "message", "signal", "timer", "conditional"}
    ),
}

_EVENT_LABELS = {
    "message": "de message",
    "signal": "de signal",
    "timer": "de minuterie",
    "conditional": "conditionnel",
    "cancel": "d'annulation",
    "error": "d'erreur",
    "escalation": "d'escalade",
    "terminate": "de fin immédiate",
    "compensate": "de compensation",
    "link": "de lien",
}

_RESOURCE_ADVICE = (
    "retirez l'attribution de ressources et placez la tâche dans le couloir (lane) du rôle "
    "qui doit l'exécuter"
)
_REFUSED_ADVICE = {
    "complexGateway": "remplacez la passerelle complexe par une passerelle inclusive ou "
    "exclusive avec des conditions",
    "adHocSubProcess": "modélisez les tâches du sous-processus ad hoc avec des passerelles",
    "dataStoreReference": "retirez la référence au stockage de données : les données d'un "
    "dossier sont conservées par Relais, pas par le diagramme",
    "dataStore": "retirez le stockage de données : les données d'un dossier sont conservées "
    "par Relais, pas par le diagramme",
    "performer": _RESOURCE_ADVICE,
    "humanPerformer": _RESOURCE_ADVICE,
    "potentialOwner": _RESOURCE_ADVICE,
    "assignment": "les affectations de données ne sont pas exécutées : utilisez une tâche de "
    "script",
    "transformation": "les transformations de données ne sont pas exécutées : utilisez une "
    "tâche de script",
}
_DEFAULT_ADVICE = "retirez-le ou remplacez-le par un élément pris en charge"

# Where diagram code lives, relative to an executable process: (xpath, mode, label).
_EXPRESSION_SITES: tuple[tuple[str, Mode, str], ...] = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "eval", "Condition"),
    (".//bpmn:scriptTask/bpmn:script", "exec", "Script"),
    (".//spiffworkflow:preScript", "exec", "Pré-script"),
    (".//spiffworkflow:postScript", "exec", "Post-script"),
    (".//bpmn:timerEventDefinition/bpmn:timeDate", "eval", "Date de la minuterie"),
    (".//bpmn:timerEventDefinition/bpmn:timeDuration", "eval", "Durée de la minuterie"),
    (".//bpmn:timerEventDefinition/bpmn:timeCycle", "eval", "Cycle de la minuterie"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval", "Condition de l'événement"),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "eval", "Condition de boucle"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "eval", "Cardinalité"),
    (".//bpmn:completionCondition", "eval", "Condition de fin"),
    (".//spiffworkflow:messagePayload", "eval", "Contenu du message"),
    (
        ".//spiffworkflow:processVariableCorrelation/spiffworkflow:expression",
        "eval",
        "Expression de corrélation",
    ),
)
# Same, relative to <definitions> (messages, signals, errors and correlations).
_DEFINITIONS_EXPRESSION_SITES: tuple[tuple[str, Mode, str], ...] = (
    ("./bpmn:message//spiffworkflow:messagePayload", "eval", "Contenu du message"),
    ("./bpmn:signal//spiffworkflow:payloadExpression", "eval", "Contenu du signal"),
    ("./bpmn:error//spiffworkflow:payloadExpression", "eval", "Contenu de l'erreur"),
    ("./bpmn:escalation//spiffworkflow:payloadExpression", "eval", "Contenu de l'escalade"),
    (
        ".//bpmn:correlationPropertyRetrievalExpression/bpmn:formalExpression",
        "eval",
        "Expression de corrélation",
    ),
)
_OWNER_TYPES = FLOW_NODES | frozenset(
    {
        "sequenceFlow",
        "process",
        "message",
        "signal",
        "error",
        "escalation",
        "correlationProperty",
        "adHocSubProcess",
        "dataInputAssociation",
        "dataOutputAssociation",
        "lane",
        "decision",
        "decisionTable",
        "rule",
    }
)
_CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
_TIMER_TAGS = frozenset({"timeDate", "timeDuration", "timeCycle"})
_BARE_ISO_8601 = re.compile(r"^(R\d*/)?P[0-9YMWDTHS.,]+$", re.IGNORECASE)
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_HARDENING_REFUSAL = (
    "le fichier contient une déclaration DOCTYPE ou des entités XML, refusées pour des "
    "raisons de sécurité : ré-exportez le diagramme depuis le modeleur"
)
_INTERNAL_ERROR = (
    "le modèle n'a pas pu être analysé à cause d'une erreur interne ; il est refusé par "
    "précaution. Transmettez le fichier à l'équipe technique"
)


@dataclass(frozen=True)
class LoadedModel:
    """A validated process model, ready to be stored as an immutable version.

    - `content_hash`: SHA-256 of the files (names and bytes, order-independent): identical
      content, same hash;
    - `process_ids`: the processes marked executable, in file then document order;
      `process_names[pid]` is the process's ``name`` (its id when unnamed), for display;
    - `specs[pid]` and `subprocess_specs[pid]` are what ``BpmnWorkflow(spec,
      subprocess_specs, script_engine=…)`` needs to start `pid`;
    - `roles[pid]`: the roles named by the process's lanes; `forms`: the form files used.
    """

    content_hash: str
    process_ids: tuple[str, ...]
    process_names: dict[str, str]
    specs: dict[str, BpmnProcessSpec]
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]]
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Document:
    file: str
    kind: Literal["bpmn", "dmn"]
    root: etree._Element


def content_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 hex of the sorted (name, bytes) pairs, each length-prefixed (unambiguous)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for chunk in (name.encode("utf-8"), bytes(files[name])):
            digest.update(len(chunk).to_bytes(8, "big"))
            digest.update(chunk)
    return digest.hexdigest()


def load_model(files: Mapping[str, bytes], forms_dir: Path) -> LoadedModel:
    """Harden, validate and parse a process model; raise ModelRejected listing every problem.

    `files` maps file names to bytes: one or more ``.bpmn`` and optional ``.dmn``.
    Files that cannot be read safely (size, DOCTYPE, malformed XML) stop the analysis
    after all files have been read; otherwise every rule is checked before raising.
    """
    try:
        return _load(files, Path(forms_dir))
    except ModelRejected:
        raise
    except Exception:
        logger.exception("unexpected error while loading a process model")
        raise ModelRejected([_file_problem("", _INTERNAL_ERROR)]) from None


def parse_specs(files: Mapping[str, bytes]) -> dict[str, BpmnProcessSpec]:
    """Parse only: hardened reading, then SpiffWorkflow's structural parse.

    Returns a spec for every process SpiffWorkflow deems executable (``isExecutable`` true
    or absent). Relais' deployment rules (roles, forms, connectors, supported elements,
    expressions) are not applied, and service tasks without a spiff operator are accepted
    with no operator: the result is for inspection and tests, never for deployment.
    Raises ModelRejected when reading or SpiffWorkflow's parse fails.
    """
    try:
        documents = _read_all(files)
        parser = _new_parser(lenient=True)
        problems, failed = _add_documents(parser, documents)
        specs: dict[str, BpmnProcessSpec] = {}
        for process_id in parser.get_process_ids():
            owner = parser.get_process_parser(process_id).filename or ""
            if owner in failed:
                continue
            try:
                specs[process_id] = parser.get_spec(process_id)
            except Exception as exc:
                problems.append(_problem_from_spiff(exc, owner))
        if problems:
            raise ModelRejected(problems)
        return specs
    except ModelRejected:
        raise
    except Exception:
        logger.exception("unexpected error while parsing process specs")
        raise ModelRejected([_file_problem("", _INTERNAL_ERROR)]) from None


# --- Orchestration -----------------------------------------------------------------------


def _load(files: Mapping[str, bytes], forms_dir: Path) -> LoadedModel:
    documents = _read_all(files)
    bpmn_documents = [doc for doc in documents if doc.kind == "bpmn"]
    executable = _executable_processes(bpmn_documents)
    problems: list[Problem] = []
    if not executable:
        problems.extend(_no_executable_process(bpmn_documents))

    blocking = list(_unsupported_elements(bpmn_documents, executable))
    problems.extend(blocking)
    problems.extend(_rule_problems(documents, executable, forms_dir))

    specs: dict[str, BpmnProcessSpec] = {}
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]] = {}
    if executable and not blocking:
        # SpiffWorkflow would trip on (or silently drop) unsupported elements: only run it
        # on models it can represent, and keep one problem per element.
        specs, subprocess_specs, spiff_problems = _build_specs(documents, executable)
        problems.extend(_new_problems(spiff_problems, problems))
        if not spiff_problems:
            problems.extend(_human_tasks_without_lane(specs, subprocess_specs))
    if problems:
        raise ModelRejected(problems)
    return LoadedModel(
        content_hash=content_hash(files),
        process_ids=tuple(executable),
        process_names={pid: _process_name(node) for pid, (_, node) in executable.items()},
        specs=specs,
        subprocess_specs=subprocess_specs,
        roles={pid: _lane_roles(node) for pid, (_, node) in executable.items()},
        forms=tuple(sorted(_referenced_forms(executable))),
    )


def _new_problems(candidates: list[Problem], known: list[Problem]) -> list[Problem]:
    seen = {(problem.file, problem.element_id) for problem in known if problem.element_id}
    return [p for p in candidates if not p.element_id or (p.file, p.element_id) not in seen]


# --- Hardened reading --------------------------------------------------------------------


def _read_all(files: Mapping[str, bytes]) -> list[_Document]:
    """Read every file safely; raise ModelRejected if any cannot be read."""
    if not files:
        raise ModelRejected(
            [_file_problem("", "aucun fichier fourni : joignez au moins un diagramme .bpmn")]
        )
    documents: list[_Document] = []
    problems: list[Problem] = []
    for name in sorted(files):
        result = _read_document(name, files[name])
        if isinstance(result, Problem):
            problems.append(result)
        else:
            documents.append(result)
    if not problems and not any(doc.kind == "bpmn" for doc in documents):
        problems.append(
            _file_problem(
                "",
                "aucun diagramme .bpmn fourni : une table de décision .dmn ne se déploie pas seule",
            )
        )
    if problems:
        raise ModelRejected(problems)
    return documents


def _read_document(name: str, data: bytes) -> _Document | Problem:
    kind = _file_kind(name)
    if kind is None:
        return _file_problem(
            name,
            "type de fichier non pris en charge : seuls les fichiers .bpmn et .dmn sont acceptés",
        )
    if not isinstance(data, bytes | bytearray | memoryview):
        return _file_problem(
            name, "contenu illisible : le fichier doit être transmis tel quel (octets)"
        )
    raw = bytes(data)
    if len(raw) > MAX_DIAGRAM_BYTES:
        return _file_problem(
            name,
            f"le fichier fait {len(raw)} octets, au-delà de la "
            "limite de 2 Mio : allégez le diagramme ou découpez-le en plusieurs "
            "processus",
        )
    if _declares_doctype(raw):
        return _file_problem(name, _HARDENING_REFUSAL)
    try:
        root = etree.fromstring(raw, _xml_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        where = f" (ligne {line})" if line else ""
        return _file_problem(
            name,
            f"le fichier n'est pas un XML bien formé{where} : "
            "corrigez-le ou ré-exportez-le depuis le modeleur (détail technique : "
            f"{_shorten(exc.msg or '')})",
            line,
        )
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return _file_problem(name, _HARDENING_REFUSAL)
    return _check_root(name, kind, root)


def _file_kind(name: str) -> Literal["bpmn", "dmn"] | None:
    lowered = name.lower() if isinstance(name, str) else ""
    if lowered.endswith(".bpmn"):
        return "bpmn"
    if lowered.endswith(".dmn"):
        return "dmn"
    return None


def _declares_doctype(raw: bytes) -> bool:
    """True if the bytes hold a DOCTYPE or ENTITY declaration in any usual encoding.

    Checked on the raw bytes so that no parser ever sees a DTD; the docinfo check after
    parsing is a second net.
    """
    encodings = ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    markers = ("<!DOCTYPE", "<!ENTITY")
    return any(marker.encode(enc) in raw for marker in markers for enc in encodings)


def _xml_parser() -> etree.XMLParser:
    # A fresh parser per file: lxml parsers are not meant to be shared across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _check_root(name: str, kind: str, root: etree._Element) -> _Document | Problem:
    qname = etree.QName(root)
    if kind == "bpmn" and (qname.namespace, qname.localname) != (BPMN_NS, "definitions"):
        return _file_problem(
            name,
            "ce fichier n'est pas un diagramme BPMN 2.0 "
            "(l'élément racine doit être bpmn:definitions)",
        )
    if kind == "dmn" and (
        qname.namespace not in DMN_NAMESPACES or qname.localname != "definitions"
    ):
        return _file_problem(
            name,
            "ce fichier n'est pas une table de décision DMN prise en charge (DMN 1.1, 1.2 ou 1.3)",
        )
    return _Document(name, "bpmn" if kind == "bpmn" else "dmn", root)


# --- Processes ---------------------------------------------------------------------------


def _executable_processes(
    documents: Iterable[_Document],
) -> dict[str, tuple[str, etree._Element]]:
    """Processes explicitly marked isExecutable="true": id → (file, element), in order."""
    found: dict[str, tuple[str, etree._Element]] = {}
    for doc in documents:
        for process in doc.root.iterfind("bpmn:process", NS):
            process_id = process.get("id")
            if process_id and process.get("isExecutable") == "true":
                found.setdefault(process_id, (doc.file, process))
    return found


def _no_executable_process(documents: Iterable[_Document]) -> Iterator[Problem]:
    for doc in documents:
        processes = doc.root.findall("bpmn:process", NS)
        if not processes:
            yield _file_problem(doc.file, "le fichier ne contient aucun processus")
        for process in processes:
            yield _problem(
                doc.file,
                process,
                "aucun processus n'est exécutable : marquez le "
                'processus à déployer comme exécutable (isExecutable="true")',
            )


def _process_name(process: etree._Element) -> str:
    return (process.get("name") or "").strip() or process.get("id", "")


def _lane_roles(process: etree._Element) -> tuple[str, ...]:
    return tuple(sorted({lane.get("name", "") for lane in _node_lanes(process)}))


def _referenced_forms(executable: Mapping[str, tuple[str, etree._Element]]) -> set[str]:
    return {
        value
        for _, process in executable.values()
        for task in process.iterfind(".//bpmn:userTask", NS)
        for _name, value in _form_properties(task)
        if value
    }


# --- Supported elements ------------------------------------------------------------------


def _unsupported_elements(
    documents: Iterable[_Document], executable: Mapping[str, tuple[str, etree._Element]]
) -> Iterator[Problem]:
    """Elements SpiffWorkflow would reject or silently ignore (they block its parse)."""
    for doc in documents:
        for store in doc.root.iterfind("bpmn:dataStore", NS):
            yield _problem(
                doc.file,
                store,
                "l'élément « dataStore » n'est pas pris en charge "
                "par Relais : " + _REFUSED_ADVICE["dataStore"],
            )
    for file, process in executable.values():
        yield from _walk_unsupported(file, process)
        yield from _unsupported_events(file, process)
        yield from _misplaced_conditions(file, process)
        for node in process.iterfind(".//*[@isForCompensation='true']"):
            yield _problem(
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
            advice = _REFUSED_ADVICE.get(local, _DEFAULT_ADVICE)
            # Elements without id (a transformation…) are reported on their owner.
            where = child if child.get("id") else _owner(child)
            yield _problem(
                file, where, f"l'élément « {local} » n'est pas pris en charge par Relais : {advice}"
            )
            continue  # its content is moot
        yield from _walk_unsupported(file, child)


def _unsupported_events(file: str, process: etree._Element) -> Iterator[Problem]:
    for event_type, allowed in EVENT_DEFINITIONS.items():
        for event in process.iterfind(f".//bpmn:{event_type}", NS):
            if event_type == "boundaryEvent" and not _event_definitions(event):
                yield _problem(
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
                    yield _problem(
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
                    label = _EVENT_LABELS.get(kind, f"« {kind} »")
                    yield _problem(
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
        if etree.QName(node).localname in _CONDITIONAL_GATEWAYS
    }
    for flow in process.iterfind(".//bpmn:sequenceFlow", NS):
        if (
            flow.find("bpmn:conditionExpression", NS) is not None
            and flow.get("sourceRef") not in gateways
        ):
            yield _problem(
                file,
                flow,
                "une condition sur ce flux serait ignorée : seules les "
                "passerelles exclusives ou inclusives évaluent des conditions ; "
                "ajoutez une passerelle avant ce flux",
            )


# --- Relais rules ------------------------------------------------------------------------


def _rule_problems(
    documents: list[_Document],
    executable: Mapping[str, tuple[str, etree._Element]],
    forms_dir: Path,
) -> Iterator[Problem]:
    for file, process in executable.values():
        yield from _lane_problems(file, process)
        yield from _form_problems(file, process, forms_dir)
        yield from _service_task_problems(file, process)
        yield from _script_task_problems(file, process)
        yield from _call_activity_problems(file, process, executable)
        for xpath, mode, label in _EXPRESSION_SITES:
            yield from _expression_problems(file, process.iterfind(xpath, NS), mode, label)
    files_with_processes = {file for file, _ in executable.values()}
    for doc in documents:
        if doc.kind == "bpmn" and doc.file in files_with_processes:
            for xpath, mode, label in _DEFINITIONS_EXPRESSION_SITES:
                yield from _expression_problems(doc.file, doc.root.iterfind(xpath, NS), mode, label)
        elif doc.kind == "dmn":
            yield from _dmn_problems(doc)


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
            yield _problem(
                file,
                lane,
                f"ce couloir n'a pas de nom : nommez-le d'après le rôle "
                f"qui exécute ses tâches ({roles})",
            )
        elif not is_known_role(name):
            yield _problem(
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
            yield _problem(
                file,
                task,
                "une propriété spiffworkflow:property doit avoir "
                "un nom (name) et une valeur (value)",
            )
        for name, value in _form_properties(task):
            reason = _form_file_problem(value, forms_dir)
            if reason:
                yield _problem(file, task, f"{name} : {reason}")


def _form_file_problem(value: str, forms_dir: Path) -> str | None:
    if not value:
        return "le nom du formulaire est vide : indiquez un fichier du dossier des formulaires"
    if "/" in value or "\\" in value or ".." in value or not _SAFE_FILE_NAME.match(value):
        return (
            f"nom de formulaire invalide « {_shorten(value, 80)} » : indiquez seulement un "
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
            yield _problem(
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
            yield _problem(
                file,
                task,
                f"le connecteur « {operator_id} » n'existe pas : choisissez parmi {known}",
            )
            continue
        for reason in connectors.get(operator_id).parameter_problems(names):
            yield _problem(file, task, reason)


def _service_parameter_problems(
    file: str, task: etree._Element, operator: etree._Element
) -> Generator[Problem, None, set[str]]:
    """Yield each parameter's problems; return the set of parameter names given."""
    names: set[str] = set()
    for param in operator.iterfind("spiffworkflow:parameters/spiffworkflow:parameter", NS):
        name, value = param.get("id"), param.get("value")
        if not name or value is None or param.get("type") is None:
            yield _problem(
                file,
                task,
                "chaque paramètre du connecteur doit avoir un "
                "identifiant (id), un type et une valeur (value)",
            )
            continue
        names.add(name)
        error = check_expression(value, "eval")
        if error:
            yield _problem(file, task, f"paramètre « {name} » : {error}")
    return names


def _script_task_problems(file: str, process: etree._Element) -> Iterator[Problem]:
    for task in process.iterfind(".//bpmn:scriptTask", NS):
        script = task.find("bpmn:script", NS)
        if script is None or not (script.text or "").strip():
            yield _problem(
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
            yield _problem(
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
        if error is None and etree.QName(element).localname in _TIMER_TAGS:
            error = _timer_hint(source)
        if error:
            yield _problem(file, _owner(element), f"{label} « {_shorten(source)} » : {error}")


def _timer_hint(source: str) -> str | None:
    # `PT1H` is a valid Python name, so it compiles, then fails when the timer starts.
    text = source.strip()
    if _BARE_ISO_8601.match(text):
        return f'une durée ISO 8601 s\'écrit entre guillemets : "{text}"'
    return None


def _dmn_problems(doc: _Document) -> Iterator[Problem]:
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
            yield _problem(doc.file, element, f"cellule « {_shorten(source)} » : {error}")


def _dmn_entry_error(source: str) -> str | None:
    # An input entry is either a full expression (`"a"`, `dmninputexpr > 3` via `?`) or a
    # right-hand side (`< 18`) that SpiffWorkflow prefixes with the input expression.
    expression = source.replace("?", "dmninputexpr")
    error = check_expression(expression)
    if error is None or check_expression(f"dmninputexpr {expression}") is None:
        return None
    return error


# --- SpiffWorkflow -----------------------------------------------------------------------


class _LenientServiceTaskParser(ServiceTaskParser):
    """Accepts a service task without spiff operator (structure-only parsing)."""

    def create_task(self):  # type: ignore[no-untyped-def]
        if self.parse_extensions().get("serviceTaskOperator") is not None:
            return super().create_task()
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            operation_name=None,
            operation_params={},
            result_variable=None,
            **self.bpmn_attributes,
        )


class _StructuralParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (
            _LenientServiceTaskParser,
            SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")][1],
        ),
    }


def _new_parser(lenient: bool = False) -> SpiffBpmnParser:
    # A fresh XSD validator per parse keeps lxml's error log private to this call.
    validator = BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})
    # The deploying parser builds our AsyncServiceTask (see engine.runtime.spiff).
    return (_StructuralParser if lenient else RelaisBpmnParser)(validator=validator)


def _add_documents(
    parser: SpiffBpmnParser, documents: Iterable[_Document]
) -> tuple[list[Problem], set[str]]:
    """Hand our parsed trees to SpiffWorkflow; returns problems and the files that failed."""
    problems: list[Problem] = []
    failed: set[str] = set()
    for doc in sorted(documents, key=lambda d: d.kind != "dmn"):  # DMN first
        try:
            if doc.kind == "dmn":
                parser.add_dmn_xml(doc.root, filename=doc.file)
            else:
                parser.add_bpmn_xml(doc.root, filename=doc.file)
        except Exception as exc:
            failed.add(doc.file)
            problems.append(_problem_from_spiff(exc, doc.file, schema_stage=True))
    return problems, failed


def _build_specs(
    documents: list[_Document], executable: Mapping[str, tuple[str, etree._Element]]
) -> tuple[dict[str, BpmnProcessSpec], dict[str, dict[str, BpmnProcessSpec]], list[Problem]]:
    parser = _new_parser()
    problems, failed = _add_documents(parser, documents)
    specs: dict[str, BpmnProcessSpec] = {}
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]] = {}
    for process_id, (file, _) in executable.items():
        if file in failed:
            continue
        try:
            specs[process_id] = parser.get_spec(process_id)
            subprocess_specs[process_id] = parser.get_subprocess_specs(process_id)
        except Exception as exc:
            problems.append(_problem_from_spiff(exc, file))
    return specs, subprocess_specs, problems


def _human_tasks_without_lane(
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
                _sentence(
                    "cette tâche humaine n'est dans aucun couloir : placez-la dans le couloir "
                    "(lane) du rôle qui doit l'exécuter"
                ),
            )


_SPIFF_TRANSLATIONS: tuple[tuple[str, str], ...] = (
    ("No start event found", "le processus n'a pas d'événement de début : ajoutez-en un"),
    (
        "Multiple outgoing flows are not supported",
        "cet élément a plusieurs flux sortants : placez une passerelle après lui",
    ),
    (
        "Non-default exclusive outgoing sequence flow without condition",
        "ce flux sortant de "
        "passerelle n'a pas de condition : ajoutez-en une ou faites-en le flux par défaut",
    ),
    (
        "Exactly one start event is required in a SubWorkflow",
        "un sous-processus doit avoir exactement un événement de début",
    ),
    ("A SubWorkflow Must contain an End event", "un sous-processus doit avoir un événement de fin"),
    (
        "A Service Task must have an operator",
        "cette tâche de service n'a pas d'opérateur (spiffworkflow:serviceTaskOperator)",
    ),
    (
        "A loopMaximum or loopCondition must be specified",
        "une boucle doit avoir un maximum (loopMaximum) ou une condition (loopCondition)",
    ),
    (
        "A multiinstance task must specify",
        "une tâche multi-instance doit préciser soit une "
        "cardinalité, soit une collection d'entrée (une seule des deux)",
    ),
    (
        "The loop input data reference is missing",
        "la collection d'entrée de la tâche "
        "multi-instance est absente de ses entrées (ioSpecification)",
    ),
    (
        "The loop output data reference is missing",
        "la collection de sortie de la tâche "
        "multi-instance est absente de ses sorties (ioSpecification)",
    ),
    (
        "Cancel Events may only be used with transactions",
        "un événement d'annulation ne s'utilise que sur une transaction",
    ),
    (
        "No DMN Diagram available with id",
        "la table de décision DMN appelée est introuvable : "
        "joignez le fichier .dmn ou corrigez calledDecisionId",
    ),
    ("The process '", "le processus appelé est introuvable parmi les fichiers déployés"),
    ("Duplicate process ID", "deux processus portent le même identifiant : renommez l'un d'eux"),
    (
        "Data Store with name",
        "les stockages de données ne sont pas pris en charge : retirez-les du diagramme",
    ),
    (
        "There is no support implemented for this task type",
        "ce type d'élément n'est pas pris en charge",
    ),
    ("When looking for a task spec", "un flux de séquence pointe vers un élément introuvable"),
    ("Unknown Time Specification", "la minuterie n'a ni date, ni durée, ni cycle"),
    ("Time Specification Error", "la minuterie est mal définie"),
    (
        "Cannot resolve dataInputAssociation",
        "une association de données d'entrée pointe vers un objet de données introuvable",
    ),
    (
        "Cannot resolve dataOutputAssociation",
        "une association de données de sortie pointe vers un objet de données introuvable",
    ),
    (
        "Conditional event definition with missing condition",
        "l'événement conditionnel n'a pas de condition",
    ),
    ("Malformed Output Expression", "une cellule de sortie DMN n'est pas une expression valide"),
    ("No decisions found", "la table DMN ne contient aucune décision"),
    (
        "Multiple decision tables are not current supported",
        "une seule table de décision par décision DMN est prise en charge",
    ),
    (
        "Expected a",
        "l'événement fait référence à une définition (message, signal, erreur ou "
        "escalade) introuvable",
    ),
    ("Invalid Script Task", "cette tâche de script n'a pas de script"),
)


def _problem_from_spiff(exc: Exception, file: str, schema_stage: bool = False) -> Problem:
    """Turn any SpiffWorkflow parse error into a French Problem (no traceback, no repr)."""
    if not isinstance(exc, ValidationException):
        logger.warning("SpiffWorkflow parse error in %s", file, exc_info=exc)
        return _file_problem(
            file,
            "le moteur BPMN n'a pas pu analyser ce modèle "
            f"({type(exc).__name__}) : vérifiez le diagramme dans le modeleur",
        )
    message = str(exc.args[0]) if exc.args else ""
    element_id = exc.id or None
    element_type = _local_tag(exc.tag) if element_id else None
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else None
    file = exc.file_name or file
    if schema_stage and not element_id and line:
        detail = _shorten(message.replace("{" + BPMN_NS + "}", "bpmn:"), 300)
        return _file_problem(
            file,
            f"le fichier ne respecte pas le schéma BPMN 2.0 "
            f"(ligne {line}) : corrigez-le ou ré-exportez-le depuis le modeleur "
            f"(détail technique : {detail})",
            line,
        )
    return Problem(file, element_id, element_type, _sentence(_translate(message)), line)


def _translate(message: str) -> str:
    if "RecursionError" in message:
        return (
            "le diagramme est trop long ou trop imbriqué pour être analysé : découpez-le "
            "en sous-processus"
        )
    if "is not executable" in message:
        return 'le processus appelé n\'est pas exécutable : marquez-le isExecutable="true"'
    for prefix, french in _SPIFF_TRANSLATIONS:
        if message.startswith(prefix):
            return f"{french}."
    return (
        f"le moteur BPMN refuse cet élément (détail technique : {_shorten(message, 300)}) : "
        "corrigez le diagramme dans le modeleur"
    )


# --- Helpers -----------------------------------------------------------------------------


def _problem(file: str, element: etree._Element, reason: str) -> Problem:
    return Problem(
        file=file,
        element_id=element.get("id"),
        element_type=etree.QName(element).localname,
        reason=_sentence(reason),
        line=element.sourceline,
    )


def _file_problem(file: str, reason: str, line: int | None = None) -> Problem:
    """A problem about a whole file (no element)."""
    return Problem(file, None, None, _sentence(reason), line)


def _sentence(reason: str) -> str:
    reason = reason.strip().rstrip(".") + "."
    return reason[0].upper() + reason[1:]


def _owner(element: etree._Element) -> etree._Element:
    """The element a modeler shows for `element`: a flow node, a flow, a message…

    A condition is reported on its sequence flow, a timer on its event, a script on its task.
    """
    current = element.getparent()
    while current is not None:
        if etree.QName(current).localname in _OWNER_TYPES and current.get("id"):
            return current
        current = current.getparent()
    return element


def _local_tag(tag: str | None) -> str | None:
    if not tag:
        return None
    if tag.startswith("{"):
        return tag.split("}", 1)[1]
    return tag.split(":", 1)[-1]


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
