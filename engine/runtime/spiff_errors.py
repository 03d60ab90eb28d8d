"""Translating SpiffWorkflow's parse errors into French problems (no traceback, no repr)."""

from __future__ import annotations

import logging

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.runtime.errors import Problem
from engine.runtime.problems import file_problem, local_tag, sentence, shorten
from engine.runtime.vocabulary import BPMN_NS

logger = logging.getLogger(__name__)


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


def problem_from_spiff(exc: Exception, file: str, schema_stage: bool = False) -> Problem:
    """Turn any SpiffWorkflow parse error into a French Problem (no traceback, no repr)."""
    if not isinstance(exc, ValidationException):
        logger.warning("SpiffWorkflow parse error in %s", file, exc_info=exc)
        return file_problem(
            file,
            "le moteur BPMN n'a pas pu analyser ce modèle "
            f"({type(exc).__name__}) : vérifiez le diagramme dans le modeleur",
        )
    message = str(exc.args[0]) if exc.args else ""
    element_id = exc.id or None
    element_type = local_tag(exc.tag) if element_id else None
    line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number else None
    file = exc.file_name or file
    if schema_stage and not element_id and line:
        detail = shorten(message.replace("{" + BPMN_NS + "}", "bpmn:"), 300)
        return file_problem(
            file,
            f"le fichier ne respecte pas le schéma BPMN 2.0 "
            f"(ligne {line}) : corrigez-le ou ré-exportez-le depuis le modeleur "
            f"(détail technique : {detail})",
            line,
        )
    return Problem(file, element_id, element_type, sentence(_translate(message)), line)


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
        f"le moteur BPMN refuse cet élément (détail technique : {shorten(message, 300)}) : "
        "corrigez le diagramme dans le modeleur"
    )

