"""Routing through the REST API, as the demo personas use it: the IS's protocol sends a sheet,
the association sees it in its inbox, opens it, acknowledges it, the IS's instance ends; the
exported envelope verifies offline; after crypto-shredding the document is gone (410)."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from helpers import bearer
from routing_support import FICHE, TEMPLATES, actions, deploy, docx_text, record_consent, run_outbox

from engine.cases import service as cases
from engine.db import transaction
from engine.documents.render import DOCX_MEDIA_TYPE, TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.keys import offline
from engine.keys import service as keys
from engine.routing.models import Delivery

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


@pytest.fixture
def cli(cli, pinned_platform_key):
    """The `relais` command, the platform key pinned as a partner would have it."""
    return cli


@pytest.fixture
def people(db):
    return {name: bearer(db, name) for name in ("demo-is", "demo-asso", "demo-itp")}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == code and "Traceback" not in body["detail"]
    return body


def _send_through_the_api(client, db, people) -> tuple[int, int]:
    """(instance id, delivery id): the IS starts, the consent is recorded, the IS fills."""
    deploy(db)
    started = client.post(f"{API}/instances", json={"process_id": "transmission"},
                          headers=people["demo-is"])
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    record_consent(db, instance["case_id"])
    [task] = client.get(f"{API}/tasks", headers=people["demo-is"]).get_json()
    done = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": FICHE},
                       headers=people["demo-is"])
    assert done.status_code == 200, done.get_json()
    assert run_outbox(db) == ["done"]
    [item] = client.get(f"{API}/inbox", headers=people["demo-asso"]).get_json()
    return instance["id"], item["id"]


def _private_key_file(db, tmp_path: Path, slug: str) -> Path:
    with transaction(db) as uow:
        kid = keys.ensure_organisation_keys(uow, identity.get_organisation(uow, slug)) \
            .encryption.kid
        pem = offline.private_key_pem(keys.private_encryption_key(uow, kid))
    path = tmp_path / f"{slug}.pem"
    path.write_bytes(pem)
    return path


def test_the_whole_round_trip_through_the_api(client, db, people, cli, tmp_path):
    instance_id, delivery_id = _send_through_the_api(client, db, people)

    [item] = client.get(f"{API}/inbox", headers=people["demo-asso"]).get_json()
    assert item["instance_id"] == instance_id and item["process_id"] == "transmission"
    assert item["document_name"] == "Fiche protocole violences conjugales (essai)"
    assert item["status"] == "delivered" and item["received_at"]
    assert client.get(f"{API}/inbox", headers=people["demo-is"]).get_json() == []

    detail = client.get(f"{API}/deliveries/{delivery_id}", headers=people["demo-asso"])
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["signature"]["status"] == "valid" and body["receipts"] == []
    assert body["manifest"]["recipients"][0]["organisation"] == "asso-victimes-demo"
    assert body["recipient_role"] == "ASSOCIATION"

    document = client.get(f"{API}/deliveries/{delivery_id}/document",
                          headers=people["demo-asso"])
    assert document.status_code == 200 and document.mimetype == DOCX_MEDIA_TYPE
    assert "attachment" in document.headers["Content-Disposition"]
    assert document.headers["Cache-Control"] == "no-store"
    text = docx_text(document.data)
    assert "«\u00a0Élodie Lefèvre-Noël\u00a0»" in text and "20 novembre 2026" in text
    assert docx.Document(io.BytesIO(document.data)).core_properties.title == \
        "Fiche protocole violences conjugales (essai)"
    [opened] = actions(db, "routing.delivery_opened")
    assert opened.actor_label == "demo-asso" and opened.via_token_id is not None

    # The sealed envelope, exported, verifies offline against the sender's key directory.
    exported = client.get(f"{API}/deliveries/{delivery_id}/envelope", headers=people["demo-is"])
    assert exported.status_code == 200
    assert exported.mimetype == "application/vnd.relais.envelope"
    relais = tmp_path / "fiche.relais"
    relais.write_bytes(exported.data)
    directory = tmp_path / "asso-iscg-demo.json"
    directory.write_text(cli("keys", "export-public", "asso-iscg-demo").stdout, encoding="utf-8")
    verified = cli("verify", relais, "--directory", directory)
    assert verified.exit_code == 0, verified.output
    assert "Enveloppe valide" in verified.output and "asso-iscg-demo" in verified.output
    out = tmp_path / "fiche.docx"
    opened_offline = cli("verify", relais, "--directory", directory, "--private-key",
                         _private_key_file(db, tmp_path, "asso-victimes-demo"), "--output", out)
    assert opened_offline.exit_code == 0, opened_offline.output
    assert out.read_bytes() == document.data
    wrong = cli("verify", relais, "--private-key", _private_key_file(db, tmp_path, "cd-demo"))
    assert wrong.exit_code == 1 and "n'est pas adressée" in wrong.output

    # The receipt: signed, idempotent with a key, 409 without; the IS's instance resumes.
    headers = {**people["demo-asso"], "Idempotency-Key": "accuse-1"}
    ack = client.post(f"{API}/deliveries/{delivery_id}/acknowledge", headers=headers)
    assert ack.status_code == 201, ack.get_json()
    receipt = ack.get_json()
    assert receipt["signature_status"] == "valid"
    assert receipt["statement"]["manifest_sha256"] == body["manifest_sha256"]
    replay = client.post(f"{API}/deliveries/{delivery_id}/acknowledge", headers=headers)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    again = client.post(f"{API}/deliveries/{delivery_id}/acknowledge",
                        headers=people["demo-asso"])
    _problem(again, 409, "already_acknowledged")
    state = client.get(f"{API}/instances/{instance_id}", headers=people["demo-is"]).get_json()
    assert state["status"] == "completed"
    seen_by_sender = client.get(f"{API}/deliveries/{delivery_id}", headers=people["demo-is"])
    assert seen_by_sender.get_json()["status"] == "acknowledged"
    assert [r["signature_status"] for r in seen_by_sender.get_json()["receipts"]] == ["valid"]

    audit = cli("audit", "verify")
    assert audit.exit_code == 0, audit.output


def test_only_the_recipient_opens_and_outsiders_get_404(client, db, people):
    _instance_id, delivery_id = _send_through_the_api(client, db, people)
    sender = client.get(f"{API}/deliveries/{delivery_id}/document", headers=people["demo-is"])
    _problem(sender, 403, "not_recipient")
    _problem(client.post(f"{API}/deliveries/{delivery_id}/acknowledge",
                         headers=people["demo-is"]), 403, "not_recipient")
    for path in ("", "/document", "/envelope"):
        outsider = client.get(f"{API}/deliveries/{delivery_id}{path}", headers=people["demo-itp"])
        unknown = client.get(f"{API}/deliveries/987654{path}", headers=people["demo-itp"])
        assert _problem(outsider, 404, "delivery_not_found") == \
            _problem(unknown, 404, "delivery_not_found")
    reasons = [r.details for r in actions(db, "routing.access_refused")]
    assert sum('"reason":"not_involved"' in d for d in reasons) == 3
    assert sum('"reason":"unknown"' in d for d in reasons) == 3
    assert sum('"reason":"sender_side"' in d for d in reasons) == 2
    assert client.get(f"{API}/inbox").status_code == 401


def test_after_shredding_the_document_and_envelope_are_gone(client, db, people, cli):
    _instance_id, delivery_id = _send_through_the_api(client, db, people)
    assert client.get(f"{API}/deliveries/{delivery_id}/document",
                      headers=people["demo-asso"]).status_code == 200
    with transaction(db) as uow:
        case_id = uow.session.get(Delivery, delivery_id).case_id
        is_ = identity.principal_for(identity.get_user(uow, "demo-is"))
        cases.destroy_key(uow, is_.actor, cases.get_case(uow, case_id), "demande_personne")

    for path in ("/document", "/envelope"):
        gone = client.get(f"{API}/deliveries/{delivery_id}{path}", headers=people["demo-asso"])
        body = _problem(gone, 410, "case_key_destroyed")
        assert "détruit le" in body["detail"] and "clé de recouvrement" in body["detail"]
    detail = client.get(f"{API}/deliveries/{delivery_id}", headers=people["demo-asso"])
    assert detail.status_code == 200 and detail.get_json()["destroyed_at"]
    ack = client.post(f"{API}/deliveries/{delivery_id}/acknowledge", headers=people["demo-asso"])
    assert ack.status_code == 201  # the receipt signs the manifest hash, which survives
    [destroyed] = actions(db, "case.key_destroyed")
    assert destroyed.actor_label == "demo-is" and "demande_personne" in destroyed.details
    assert cli("audit", "verify").exit_code == 0


def test_the_openapi_document_lists_the_routing_endpoints(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for path in ("/api/v1/inbox", "/api/v1/deliveries/{delivery_id}",
                 "/api/v1/deliveries/{delivery_id}/document",
                 "/api/v1/deliveries/{delivery_id}/envelope",
                 "/api/v1/deliveries/{delivery_id}/acknowledge"):
        assert path in paths, path
