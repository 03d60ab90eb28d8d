"""Exceptions of the runtime domain.

Every message here is meant to be read by a person (an administrator deploying a diagram,
a user whose step failed): it is in French and says what to do. None carries a traceback
or the content of an uploaded file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException


@dataclass(frozen=True)
class Problem:
    """One reason why a process model is refused.

    `element_id` and `element_type` (the BPMN local tag name, e.g. ``complexGateway``) are
    None when the problem concerns the whole file (malformed XML, size, DOCTYPE).
    """

    file: str
    element_id: str | None
    element_type: str | None
    reason: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (for the API's problem document and the CLI report)."""
        return asdict(self)

    def __str__(self) -> str:
        where = self.file or "modèle"
        if self.element_id:
            where += f", {self.element_type or 'élément'} « {self.element_id} »"
        elif self.line:
            where += f", ligne {self.line}"
        return f"{where} : {self.reason}"


class ModelRejected(Exception):
    """A process model failed hardened loading or validation; nothing was deployed.

    `problems` lists every problem found (never empty).
    """

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ModelRejected needs at least one problem")
        count = len(self.problems)
        plural = "s" if count > 1 else ""
        super().__init__(f"Modèle refusé : {count} problème{plural} à corriger.")

    def report(self) -> str:
        """A French, multi-line report: one line per problem."""
        lines = [str(self.args[0])]
        lines.extend(f"- {problem}" for problem in self.problems)
        return "\n".join(lines)


class ExpressionRefused(Exception):
    """An expression or script does not compile under the restricted engine."""

    def __init__(self, reason: str, source: str) -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"Expression refusée : {reason}.")


class ExpressionError(WorkflowTaskException):
    """A gateway condition, script or timer expression failed while a task ran.

    SpiffWorkflow catches it like any task error (the task is marked in error); `str()`
    gives the French message only, without SpiffWorkflow's English notes.
    """

    def __init__(self, message: str, task: Any, exception: Exception | None = None) -> None:
        self.message = message
        # SpiffWorkflow adds an English "did you mean" note for NameError: pass the
        # original exception through `__cause__` instead.
        super().__init__(message, task=task)
        if exception is not None:
            self.error_type = type(exception).__name__

    def __str__(self) -> str:
        return self.message


class ServiceCallError(ExpressionError):
    """A service task's connector failed; the original exception is the `__cause__`."""


class UnknownConnector(LookupError):
    """No connector is registered under this operator id."""

    def __init__(self, connector_id: str) -> None:
        self.connector_id = connector_id
        super().__init__(
            f"Aucun connecteur n'est enregistré sous l'identifiant « {connector_id} »."
        )
