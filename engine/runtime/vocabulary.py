"""The vocabulary tables of process models: namespaces, the BPMN elements and event
definitions Relais accepts, where diagram code lives, and the French advice given when an
element is refused.

These tables are data only; `engine.runtime.rules` applies them.
"""

from __future__ import annotations

from collections.abc import Mapping

from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS

from engine.runtime.expressions import Mode

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = frozenset(DMN_SCHEMAS)
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")
# A user task's `prefill.<field>` property fixes a form field from the diagram. The person's
# own answers — their consent decision, how it was given, that it was presented to them —
# are never fixed in advance: a diagram naming them is refused, and never honoured.
PREFILL = "prefill."
NEVER_PREFILLED = frozenset({"decision", "channel", "presented"})
# `allowed.<field>`: the answers a protocol accepts for a choice (a written request only, for
# instance). The person still answers; the diagram only narrows what may be answered.
ALLOWED = "allowed."

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

EVENT_LABELS = {
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
REFUSED_ADVICE = {
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
DEFAULT_ADVICE = "retirez-le ou remplacez-le par un élément pris en charge"

# Where diagram code lives, relative to an executable process: (xpath, mode, label).
EXPRESSION_SITES: tuple[tuple[str, Mode, str], ...] = (
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
DEFINITIONS_EXPRESSION_SITES: tuple[tuple[str, Mode, str], ...] = (
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
OWNER_TYPES = FLOW_NODES | frozenset(
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
CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
TIMER_TAGS = frozenset({"timeDate", "timeDuration", "timeCycle"})
