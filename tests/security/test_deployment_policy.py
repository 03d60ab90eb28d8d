"""Deploying is an administrator's act, checked by the runtime service itself; one upload
policy for the API and the administration page; every refused deployment is audited."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from helpers import as_admin, bearer, csrf_from
from sqlalchemy import func, select

from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM, Actor
from engine.db import Database, transaction
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.runtime import service as runtime
from engine.runtime.models import Deployment
from engine.runtime.reading import MAX_DIAGRAM_BYTES

FIXTURES = Path(__file__).parents[1] / "fixtures"
ESSAI = (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()
NOT_A_MODEL = b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="urn:x"/>'


def refusals(db: Database) -> list[dict]:
    with db.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "runtime.deployment_refused").order_by(AuditEntry.seq))
        return [{"user": r.actor_user_id, **json.loads(r.details)} for r in rows]


def deployments(db: Database) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(Deployment))


def principal(db: Database, username: str) -> identity.Principal:
    with db.unit_of_work() as uow:
        return identity.principal_for(identity.get_user(uow, username))


def test_only_an_administrator_or_the_platform_deploys_and_refusals_are_audited(db):
    bundled = deployments(db)
    worker = principal(db, "demo-is")
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        runtime.deploy(uow, worker, {"essai.bpmn": ESSAI}, source="api",
                       forms_dir=FIXTURES / "forms")
    # A bare actor naming a user is not an administrator's principal: refused too.
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        runtime.deploy(uow, Actor(worker.user_id, "demo-is"), {"essai.bpmn": ESSAI},
                       source="api", forms_dir=FIXTURES / "forms")
    assert deployments(db) == bundled
    assert [(r["user"], r["code"], r["source"]) for r in refusals(db)] == [
        (worker.user_id, "permission_denied", "api"), (worker.user_id, "permission_denied", "api")]

    with transaction(db) as uow:
        runtime.deploy(uow, principal(db, "demo-admin"), {"essai.bpmn": ESSAI}, source="api",
                       forms_dir=FIXTURES / "forms")
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": ESSAI + b"\n"}, source="cli",
                       forms_dir=FIXTURES / "forms")
    assert deployments(db) == bundled + 2 and len(refusals(db)) == 2


def test_a_rejected_model_is_audited_with_nothing_stored(db):
    admin, bundled = principal(db, "demo-admin"), deployments(db)
    with transaction(db) as uow, pytest.raises(runtime.DeploymentRejected):
        runtime.deploy(uow, admin, {"vide.bpmn": NOT_A_MODEL}, source="web")
    assert deployments(db) == bundled
    [refusal] = refusals(db)
    assert refusal["user"] == admin.user_id and refusal["code"] == "model_rejected"
    assert refusal["problems"] >= 1 and len(refusal["content_hash"]) == 64


POLICY_CASES = {
    "aucun fichier": [],
    "onze fichiers": [(f"p{i}.bpmn", ESSAI) for i in range(11)],
    "mauvaise extension": [("notes.txt", b"x")],
    "trop gros": [("gros.bpmn", b" " * (MAX_DIAGRAM_BYTES + 1))],
    "nom en double": [("a/essai.bpmn", ESSAI), ("b/essai.bpmn", ESSAI)],
}


@pytest.mark.parametrize("case", sorted(POLICY_CASES))
def test_the_api_and_the_admin_page_apply_one_upload_policy(case, client, db, clock):
    files, bundled = POLICY_CASES[case], deployments(db)
    api = client.post("/api/v1/admin/process-models", headers=bearer(db, "demo-admin"),
                      data={"file": [(io.BytesIO(content), name) for name, content in files]},
                      content_type="multipart/form-data")
    assert api.status_code == 422, case
    assert api.get_json()["code"] == "validation_failed"
    as_admin(client, clock)
    page = client.get("/admin/protocoles").get_data(as_text=True)
    form = client.post("/admin/protocoles/importer", data={
        "csrf_token": csrf_from(page),
        "file": [(io.BytesIO(content), name) for name, content in files]},
        content_type="multipart/form-data")
    assert form.status_code == 422, case
    assert api.get_json()["detail"].splitlines()[0] in form.get_data(as_text=True)
    assert deployments(db) == bundled
    assert [(r["code"], r["source"]) for r in refusals(db)] == [("validation_failed", "api"),
                                                                 ("validation_failed", "web")]


def test_a_non_administrator_upload_is_refused_by_the_service_and_audited(client, db):
    bundled = deployments(db)
    response = client.post("/api/v1/admin/process-models", headers=bearer(db, "demo-is"),
                           data={"file": (io.BytesIO(ESSAI), "essai.bpmn")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert [r["code"] for r in refusals(db)] == ["permission_denied"]
    assert deployments(db) == bundled
