"""Hardened loading and deploy-time validation of process models (BPMN + DMN).

An uploaded diagram is code. `load_model` guarantees that:

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

The work is split along its seams: `engine.runtime.reading` (hardened XML),
`engine.runtime.rules` (Relais' rules), `engine.runtime.vocabulary` (the tables) and
`engine.runtime.spiff_errors` (SpiffWorkflow's errors in French); this module orchestrates
them and builds the specs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser

from engine.runtime import rules
from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.problems import INTERNAL_ERROR, file_problem
from engine.runtime.reading import MAX_DIAGRAM_BYTES, Document, content_hash, read_all
from engine.runtime.spiff import RelaisBpmnParser
from engine.runtime.spiff_errors import problem_from_spiff
from engine.runtime.vocabulary import BPMN_NS, FLOW_NODES, SPIFF_NS

__all__ = ["BPMN_NS", "FLOW_NODES", "MAX_DIAGRAM_BYTES", "SPIFF_NS", "LoadedModel",
           "content_hash", "load_model", "parse_specs"]

logger = logging.getLogger(__name__)


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
        raise ModelRejected([file_problem("", INTERNAL_ERROR)]) from None


def parse_specs(files: Mapping[str, bytes]) -> dict[str, BpmnProcessSpec]:
    """Parse only: hardened reading, then SpiffWorkflow's structural parse.

    Returns a spec for every process SpiffWorkflow deems executable (``isExecutable`` true
    or absent). Relais' deployment rules (roles, forms, connectors, supported elements,
    expressions) are not applied, and service tasks without a spiff operator are accepted
    with no operator: the result is for inspection and tests, never for deployment.
    Raises ModelRejected when reading or SpiffWorkflow's parse fails.
    """
    try:
        documents = read_all(files)
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
                problems.append(problem_from_spiff(exc, owner))
        if problems:
            raise ModelRejected(problems)
        return specs
    except ModelRejected:
        raise
    except Exception:
        logger.exception("unexpected error while parsing process specs")
        raise ModelRejected([file_problem("", INTERNAL_ERROR)]) from None


# --- Orchestration -----------------------------------------------------------------------


def _load(files: Mapping[str, bytes], forms_dir: Path) -> LoadedModel:
    documents = read_all(files)
    bpmn_documents = [doc for doc in documents if doc.kind == "bpmn"]
    executable = rules.executable_processes(bpmn_documents)
    problems: list[Problem] = []
    if not executable:
        problems.extend(rules.no_executable_process(bpmn_documents))

    blocking = list(rules.unsupported_elements(bpmn_documents, executable))
    problems.extend(blocking)
    problems.extend(rules.rule_problems(documents, executable, forms_dir))

    specs: dict[str, BpmnProcessSpec] = {}
    subprocess_specs: dict[str, dict[str, BpmnProcessSpec]] = {}
    if executable and not blocking:
        # SpiffWorkflow would trip on (or silently drop) unsupported elements: only run it
        # on models it can represent, and keep one problem per element.
        specs, subprocess_specs, spiff_problems = _build_specs(documents, executable)
        problems.extend(_new_problems(spiff_problems, problems))
        if not spiff_problems:
            problems.extend(rules.human_tasks_without_lane(specs, subprocess_specs))
    if problems:
        raise ModelRejected(problems)
    return LoadedModel(
        content_hash=content_hash(files),
        process_ids=tuple(executable),
        process_names={pid: rules.process_name(node) for pid, (_, node) in executable.items()},
        specs=specs,
        subprocess_specs=subprocess_specs,
        roles={pid: rules.lane_roles(node) for pid, (_, node) in executable.items()},
        forms=tuple(sorted(rules.referenced_forms(executable))),
    )


def _new_problems(candidates: list[Problem], known: list[Problem]) -> list[Problem]:
    seen = {(problem.file, problem.element_id) for problem in known if problem.element_id}
    return [p for p in candidates if not p.element_id or (p.file, p.element_id) not in seen]


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
    parser: SpiffBpmnParser, documents: Iterable[Document]
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
            problems.append(problem_from_spiff(exc, doc.file, schema_stage=True))
    return problems, failed


def _build_specs(
    documents: list[Document], executable: Mapping[str, tuple[str, etree._Element]]
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
            problems.append(problem_from_spiff(exc, file))
    return specs, subprocess_specs, problems


