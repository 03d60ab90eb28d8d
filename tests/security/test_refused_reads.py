"""Every refused read of a case is audited, whatever the endpoint: another organisation's
case and an unknown id get the same 404, and both leave a `cases.access_refused` row."""

from __future__ import annotations

import json

import pytest
from helpers import bearer
from routing_support import actions

from engine.audit import service as audit
from engine.cases import service as cases
from engine.db import transaction
from engine.errors import NotFound
from engine.identity import service as identity

CASE_READS = ["/api/v1/cases/{id}/consents", "/api/v1/cases/{id}/legal-reviews",
              "/api/v1/cases/{id}/pieces", "/api/v1/cases/{id}/access-export"]


@pytest.fixture
def case_id(client, db) -> int:
    """A case of the ISCG association, opened by its social worker through the API."""
    response = client.post("/api/v1/instances", json={"process_id": "violence_conjugale"},
                           headers=bearer(db, "demo-is"))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["case_id"]


@pytest.mark.parametrize("template", CASE_READS)
def test_another_organisations_case_is_refused_audited_and_looks_unknown(client, db, case_id,
                                                                          template):
    police = bearer(db, "demo-police")
    before = len(actions(db, "cases.access_refused"))
    refused = client.get(template.format(id=case_id), headers=police)
    unknown = client.get(template.format(id=case_id + 100_000), headers=police)
    assert refused.status_code == unknown.status_code == 404
    assert refused.json == unknown.json  # nothing tells the two apart
    rows = actions(db, "cases.access_refused")[before:]
    assert [(r.actor_label, r.subject_type, r.subject_id) for r in rows] == [
        ("demo-police", "case", str(case_id)), ("demo-police", "case", str(case_id + 100_000))]
    assert [json.loads(r.details)["reason"] for r in rows] == ["not_visible", "unknown"]


def test_the_organisations_own_reads_are_not_refusals(client, db, case_id):
    for template in CASE_READS[:3]:
        response = client.get(template.format(id=case_id), headers=bearer(db, "demo-is"))
        assert response.status_code == 200, (template, response.get_data(as_text=True))
    assert actions(db, "cases.access_refused") == []


def test_the_refusal_row_survives_the_rolled_back_request_and_keeps_the_chain(client, db,
                                                                               case_id):
    client.get(f"/api/v1/cases/{case_id}/consents", headers=bearer(db, "demo-police"))
    with transaction(db) as uow:
        assert audit.verify(uow).ok


def test_a_refused_read_ends_the_callers_unit_of_work(db, case_id):
    with db.unit_of_work() as uow:
        police = identity.principal_for(identity.get_user(uow, "demo-police"))
        seq = audit.last_seq(uow)
        audit.append(uow, police.actor, "test.pending_change")  # dropped by the refusal
        with pytest.raises(NotFound):
            cases.visible_case(uow, police, case_id)
        assert [r.action for r in actions(db)][-1] == "cases.access_refused"
        assert audit.last_seq(uow) == seq + 1
