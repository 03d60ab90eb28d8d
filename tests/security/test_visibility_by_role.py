"""Instances are visible by role, not by organisation (issue 9 item 10): the roles of their
lanes in the organisations bound to them. The platform administrator sees operational metadata
without the situation. Every refused read is audited and answers like an unknown id
(issue 9 item 9)."""

from __future__ import annotations

import json

import pytest
from protocol_support import Territory
from sqlalchemy import select

from engine.audit.models import AuditEntry


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def _refusals(db, subject_type: str) -> list[dict]:
    with db.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "runtime.access_refused",
            AuditEntry.subject_type == subject_type).order_by(AuditEntry.seq))
        return [{"actor": r.actor_label, "subject": r.subject_id, **json.loads(r.details)}
                for r in rows]


def _at_the_dpp(t: Territory) -> dict:
    """A minor's convocation, identified by the IS, now waiting for the DPP's check."""
    minor = t.start("demo-is", "convocation_mineurs")
    t.complete("demo-is", minor["id"], {
        "source": "main_courante", "mineur_nom": "Petit", "mineur_prenom": "Enzo",
        "mineur_naissance": "2011-03-02", "responsables_legaux": "M. et Mme Petit",
        "adresse": "12 avenue de la Gare, Trappes", "date_faits": t.days(-12),
        "nature_faits": "degradation", "reference_main_courante": "MC-2026-4411"})
    return minor


def test_police_do_not_see_an_instance_of_the_dpp_in_their_own_police_station(t, db):
    minor = _at_the_dpp(t)
    assert t.get("demo-dpp", f"/instances/{minor['id']}")["status"] == "running"
    t.get("demo-police", f"/instances/{minor['id']}", status=404)
    task = t.tasks("demo-dpp", minor["id"])[0]
    t.get("demo-police", f"/tasks/{task['id']}", status=404)
    assert [(r["actor"], r["reason"]) for r in _refusals(db, "instance")] == \
        [("demo-police", "not_visible")]
    assert [(r["actor"], r["reason"]) for r in _refusals(db, "task")] == \
        [("demo-police", "not_visible")]


def test_a_participant_sees_the_situation_of_an_instance(t):
    minor = t.start("demo-is", "convocation_mineurs")
    assert t.get("demo-is", f"/instances/{minor['id']}")["case_id"] == minor["case_id"]


def test_an_unknown_instance_answers_the_same_and_is_audited(t, db):
    t.get("demo-police", "/instances/987654", status=404)
    assert _refusals(db, "instance")[-1]["reason"] == "unknown"


def test_the_administrator_sees_operational_metadata_without_the_situation(t):
    minor = t.start("demo-is", "convocation_mineurs")
    body = t.get("demo-admin", f"/instances/{minor['id']}")
    assert body["status"] == "running" and body["process_id"] == "convocation_mineurs"
    assert body["case_id"] is None


def _refused(db, action: str) -> list[tuple[str, str]]:
    with db.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.seq))
        return [(r.actor_label, json.loads(r.details)["reason"]) for r in rows]


@pytest.mark.parametrize(("path", "action"), [
    ("/consents/{id}", "consent.access_refused"),
    ("/pieces/{id}/document", "dossiers.access_refused"),
    ("/cases/{id}/pieces", "cases.access_refused")])
def test_refused_reads_of_consents_pieces_and_cases_are_audited_like_unknown_ids(t, db, path,
                                                                                 action):
    t.get("demo-police", path.format(id=424242), status=404)
    assert _refused(db, action) == [("demo-police", "unknown")]
