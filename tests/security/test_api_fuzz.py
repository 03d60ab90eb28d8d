"""The API fuzzed from its own contract (/api/v1/openapi.json) by schemathesis, in process
(WSGI, no network), as two personas of different organisations: no answer is a 5xx and every
documented answer matches its published schema. Bounded: a few examples per operation and
persona, derandomised, so the run is reproducible and stays well under a minute."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import schemathesis
from helpers import bearer
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

PERSONAS = ("demo-is", "demo-police")  # an ISCG social worker and a police officer
EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    operation: str
    persona: str
    status: int
    problem: str


def _check(case, response, persona: str, findings: list[Finding]) -> None:
    try:
        case.validate_response(response, checks=[not_a_server_error,
                                                 response_schema_conformance,
                                                 status_code_conformance])
    except (Failure, FailureGroup) as exc:
        failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
        for failure in failures:
            kind = "5xx" if response.status_code >= 500 else \
                "schema" if isinstance(failure, JsonSchemaError) else type(failure).__name__
            findings.append(Finding(case.operation.label, persona, response.status_code,
                                    f"{kind}: {str(failure.title)[:120]}"))


def _fuzz(operation, persona: str, headers: dict[str, str], findings: list[Finding]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case) -> None:
        response = case.call(headers=headers)
        _check(case, response, persona, findings)

    run()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_fuzzing_the_api_finds_no_server_error_and_no_answer_off_its_schema(app, db):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    findings: list[Finding] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25  # the whole API, not an empty contract
    for operation in operations:
        for persona in PERSONAS:
            _fuzz(operation, persona, bearer(db, persona), findings)
    assert findings == []
