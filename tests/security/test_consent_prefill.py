"""A diagram cannot fix the person's consent answer in advance (issue 9, item 6).

`prefill.<field>` on a user task fixes a form field and renders it read-only; the decision,
the channel and "presented" are the person's own answers: a diagram naming them is refused
at deployment (the problem names the element, in French), and never honoured by a version
deployed before the rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import forms
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime
from engine.runtime.loader import load_model

CHECKPOINT = (Path(__file__).parents[1] / "fixtures" / "bpmn" / "checkpoint.bpmn").read_bytes()
FORM_PROPERTY = b'<spiffworkflow:property name="formJsonSchemaFilename" value="consentement.json"/>'


def with_prefill(field: str, value: str) -> bytes:
    assert FORM_PROPERTY in CHECKPOINT
    extra = f'<spiffworkflow:property name="prefill.{field}" value="{value}"/>'.encode()
    return CHECKPOINT.replace(FORM_PROPERTY, FORM_PROPERTY + extra)


@pytest.mark.parametrize(("field", "value"), [("decision", "'granted'"),
                                              ("channel", "'oral'"),
                                              ("presented", "True")])
def test_a_diagram_fixing_the_consent_answer_is_refused_naming_the_element(db, field, value):
    with transaction(db) as uow, pytest.raises(runtime.DeploymentRejected) as refused:
        runtime.deploy(uow, SYSTEM, {"checkpoint.bpmn": with_prefill(field, value)},
                       source="cli")
    [problem] = refused.value.problems
    assert problem["element_id"] == "consentement" and problem["element_type"] == "userTask"
    assert f"« prefill.{field} »" in problem["reason"]
    assert "seule la personne" in problem["reason"]


def test_the_fields_a_diagram_may_fix_are_still_accepted():
    model = load_model({"checkpoint.bpmn": with_prefill("expires_on", "'2030-01-01'")},
                       forms.FORMS_DIR)
    assert model.process_ids == ("checkpoint",)
