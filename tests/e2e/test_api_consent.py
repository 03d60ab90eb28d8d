"""Consents, legal bases and the person's rights through the REST API, with who may call what;
and the promise that holds whatever a diagram does: nothing leaves without a covering consent
or an allowed legal basis."""

from __future__ import annotations

import io
import json

import pytest
from consent_support import REVIEWERS, add_test_territory, invoke
from helpers import bearer
from routing_support import TEMPLATES, actions, docx_text, run_outbox, sent
from sqlalchemy import func, select

from engine.cases import service as cases
from engine.db import transaction
from engine.documents.render import DOCX_MEDIA_TYPE, TEMPLATE_DIRS_ENV
from engine.routing.models import Delivery
from engine.runtime.models import Incident

API = "/api/v1"
PROBLEM = "application/problem+json"
SCAN = b"%PDF-1.7\n% formulaire signe\n%%EOF\n"


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


@pytest.fixture
def people(db):
    return {name: bearer(db, name) for name in
            ("demo-is", "demo-asso", "demo-itp", "demo-admin", "demo-police")}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == code and "Traceback" not in body["detail"]
    return body


def _docx(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == DOCX_MEDIA_TYPE
    assert response.headers["Cache-Control"] == "no-store"
    return docx_text(response.data)


def test_consents_receipt_evidence_and_withdrawal_through_the_api(client, db, people):
    _instance_id, case_id, delivery_id = sent(db)
    listed = client.get(f"{API}/cases/{case_id}/consents", headers=people["demo-is"])
    assert listed.status_code == 200
    [row] = listed.get_json()
    assert row["status"] == "active" and row["recipients"] == ["asso-victimes-demo"]
    assert row["purposes"] == ["vc_transmission"] and row["person"] == "P1"
    for outsider in ("demo-asso", "demo-admin"):
        _problem(client.get(f"{API}/cases/{case_id}/consents", headers=people[outsider]),
                 404, "case_not_found")
        _problem(client.post(f"{API}/consents/{row['id']}/withdraw", json={},
                             headers=people[outsider]), 404, "consent_not_found")

    assert "vous acceptez ce partage" in _docx(
        client.get(f"{API}/consents/{row['id']}/receipt", headers=people["demo-is"]))
    attached = client.post(f"{API}/consents/{row['id']}/evidence", headers=people["demo-is"],
                           data={"file": (io.BytesIO(SCAN), "signe.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    assert attached.status_code == 201, attached.get_json()
    evidence = client.get(f"{API}/consents/{row['id']}/evidence", headers=people["demo-is"])
    assert evidence.status_code == 200 and evidence.data == SCAN
    _problem(client.post(f"{API}/consents/{row['id']}/evidence", headers=people["demo-is"],
                         data={"file": (io.BytesIO(b"MZ..."), "x.exe", "application/pdf")},
                         content_type="multipart/form-data"), 422, "evidence_invalid")

    withdrawn = client.post(f"{API}/consents/{row['id']}/withdraw", json={},
                            headers=people["demo-is"])
    assert withdrawn.status_code == 200, withdrawn.get_json()
    body = withdrawn.get_json()
    assert body["consent"]["status"] == "withdrawn" and body["notified_deliveries"] == \
        [delivery_id] and body["destroyed"] is False
    detail = client.get(f"{API}/consents/{row['id']}", headers=people["demo-is"]).get_json()
    assert [e["kind"] for e in detail["history"]] == ["recorded", "receipt_printed",
                                                      "evidence_attached", "withdrawn"]
    [notice] = client.get(f"{API}/notices", headers=people["demo-asso"]).get_json()
    assert notice["delivery_id"] == delivery_id and notice["kind"] == "consent_withdrawn"
    assert client.get(f"{API}/notices", headers=people["demo-itp"]).get_json() == []
    # Nobody but the platform sends the withdrawal message to the instances.
    _problem(client.post(f"{API}/messages", headers=people["demo-is"], json={
        "name": "consentement_retire", "correlation": {"case_id": case_id}, "payload": {},
        "message_id": "forged-1"}), 403, "reserved_message")


def test_access_export_and_destruction_through_the_api(client, db, people):
    _instance_id, case_id, delivery_id = sent(db)
    text = _docx(client.get(f"{API}/cases/{case_id}/access-export", headers=people["demo-is"]))
    assert "Élodie Lefèvre-Noël" in text and "Vos consentements" in text
    _problem(client.get(f"{API}/cases/{case_id}/access-export?person=Dupont",
                        headers=people["demo-is"]), 422, "validation_failed")
    for outsider in ("demo-asso", "demo-admin"):
        _problem(client.get(f"{API}/cases/{case_id}/access-export", headers=people[outsider]),
                 404, "case_not_found")
    with db.unit_of_work() as uow:
        reference = cases.get_case(uow, case_id).reference
    _problem(client.post(f"{API}/cases/{case_id}/destruction", headers=people["demo-is"],
                         json={"confirm_reference": "S-0000-XXXXXXXX"}), 422,
             "validation_failed")
    done = client.post(f"{API}/cases/{case_id}/destruction", headers=people["demo-is"],
                       json={"confirm_reference": reference})
    assert done.status_code == 200 and done.get_json()["destroyed"] is True
    assert done.get_json()["notified_deliveries"] == [delivery_id]
    _problem(client.get(f"{API}/deliveries/{delivery_id}/document",
                        headers=people["demo-asso"]), 410, "case_key_destroyed")
    [notice] = client.get(f"{API}/notices", headers=people["demo-asso"]).get_json()
    assert notice["kind"] == "data_destroyed"


def test_legal_reviews_retention_and_catalogues_through_the_api(client, db, people):
    add_test_territory(db)
    with transaction(db) as uow:
        from routing_support import principal

        who = principal(uow, "demo-is")
        case_id = cases.open_case(uow, who, who.primary_organisation_id).id
    record_id = invoke(db, "demo-is", case_id, "requisition_60_1", information="not_applicable")
    with transaction(db) as uow:
        from engine.audit.service import SYSTEM
        from engine.consent import service as consent

        consent.invoke_legal_basis(uow, SYSTEM, cases.get_case(uow, case_id), record_id)
    [review] = client.get(f"{API}/cases/{case_id}/legal-reviews",
                          headers=people["demo-is"]).get_json()
    assert review["status"] == "pending" and review["legal_basis"] == "requisition_60_1"
    _problem(client.post(f"{API}/legal-reviews/{review['id']}/answer", json={
        "decision": "approved"}, headers=people["demo-police"]), 404, "legal_review_not_found")
    _problem(client.post(f"{API}/legal-reviews/{review['id']}/answer", json={
        "decision": "approved"}, headers=people["demo-is"]), 403, "legal_review_same_person")
    reviewer = bearer(db, REVIEWERS["asso-iscg-demo"])
    answered = client.post(f"{API}/legal-reviews/{review['id']}/answer",
                           json={"decision": "approved"}, headers=reviewer)
    assert answered.status_code == 200 and answered.get_json()["status"] == "approved"
    _problem(client.post(f"{API}/legal-reviews/{review['id']}/answer",
                         json={"decision": "rejected"}, headers=reviewer), 409,
             "legal_review_answered")

    _problem(client.get(f"{API}/retention/due", headers=people["demo-is"]), 403,
             "permission_denied")
    due = client.get(f"{API}/retention/due", headers=people["demo-admin"])
    assert due.status_code == 200 and due.get_json()["due"] == []
    assert [a.action for a in actions(db, "consent.retention_reviewed")] == \
        ["consent.retention_reviewed"]

    bases = {b["code"]: b for b in client.get(f"{API}/legal-bases",
                                              headers=people["demo-is"]).get_json()}
    assert bases["signalement_226_14"]["roles"] == ["CMP"]
    assert bases["requisition_60_1"]["requires_review"] is True
    assert bases["secret_partage_enfance"]["requires_secrecy"] is True
    purposes = {p["code"]: p for p in client.get(f"{API}/purposes",
                                                 headers=people["demo-is"]).get_json()}
    assert purposes["fiche_liaison"]["retention_days"] == 730
    assert purposes["stats_anonymous"]["retention_days"] is None


ROGUE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_rogue" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="sans_point_de_controle" name="Transmission sans consentement"
      isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_IS" name="IS">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>note</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>envoi</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="note" name="Écrire la note">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="base_legale.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="envoi" name="Envoyer sans rien demander">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="relais/transmit_document"
            resultVariable="transmission">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="template" type="str" value="'note_base_legale.docx'"/>
            <spiffworkflow:parameter id="recipient" type="str" value="'{recipient}'"/>
            <spiffworkflow:parameter id="purpose" type="str" value="'fiche_liaison'"/>
            <spiffworkflow:parameter id="categories" type="list" value="{categories}"/>
            {extra}
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
    <bpmn:sequenceFlow id="f2" sourceRef="note" targetRef="envoi"/>
    <bpmn:sequenceFlow id="f3" sourceRef="envoi" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(("recipient", "categories", "extra", "code"), [
    # No checkpoint, no legal basis: the engine refuses, whatever the diagram says.
    ("cd-demo", "['SOC']", "", "consent_missing"),
    # A "legal basis" that is not a base_legale.json record of the case.
    ("cd-demo", "['SOC']", '<spiffworkflow:parameter id="legal_basis_record" type="int" '
     'value="999999"/>', "legal_basis_invalid"),
    # A real legal basis (information préoccupante), to a recipient it does not allow.
    ("commissariat-demo", "['SOC']", '<spiffworkflow:parameter id="legal_basis_record" '
     'type="int" value="record_note"/>', "legal_basis_recipient"),
    # Health data to a non-health organisation: never, even on a valid basis.
    ("cd-demo", "['SOC', 'HEALTH']", '<spiffworkflow:parameter id="legal_basis_record" '
     'type="int" value="record_note"/>', "recipient_capability_health"),
])
def test_an_uploaded_diagram_cannot_send_without_consent_or_basis(client, db, people,
                                                                   recipient, categories,
                                                                   extra, code):
    diagram = ROGUE.format(recipient=recipient, categories=categories, extra=extra)
    uploaded = client.post(f"{API}/admin/process-models", headers=people["demo-admin"],
                           data={"file": (io.BytesIO(diagram.encode()), "rogue.bpmn")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    started = client.post(f"{API}/instances", json={"process_id": "sans_point_de_controle"},
                          headers=people["demo-is"])
    assert started.status_code == 201
    [task] = client.get(f"{API}/tasks", headers=people["demo-is"]).get_json()
    done = client.post(f"{API}/tasks/{task['id']}/complete", headers=people["demo-is"],
                       json={"data": {"legal_basis": "ip_crip", "information": "informed",
                                      "justification": "Enfant en danger."}})
    assert done.status_code == 200, done.get_json()
    assert run_outbox(db) == ["refused"]
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Delivery.id))) == 0
        [incident] = uow.session.scalars(select(Incident)).all()
        assert incident.kind == "connector_refused"
    [refused] = actions(db, "routing.transmission_refused")
    assert json.loads(refused.details)["code"] == code
    incidents = client.get(f"{API}/admin/incidents", headers=people["demo-admin"]).get_json()
    assert incidents[0]["error"] and "Traceback" not in incidents[0]["error"]
