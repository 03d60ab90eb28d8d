"""The person's rights: a consent receipt to keep, an access export without third-party data,
and retention periods that end in crypto-shredding (`relais retention`)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from routing_support import (
    FIXTURES,
    TEMPLATES,
    actions,
    docx_text,
    principal,
    record_consent,
    sent,
)

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.errors import CaseNotFound
from engine.consent import rights
from engine.consent.models import Consent
from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.dossiers import rights as person_rights
from engine.identity.errors import PermissionDenied
from engine.runtime import service as runtime

INTERVIEW = {"nom": "Élodie MARKER-ID", "situation": "Hébergée chez sa sœur (MARKER-SOC).",
             "auteur": "CONJOINT-MARKER-THIRD", "suivi_psy": "SANTE-MARKER-HEALTH",
             "accompagnee": True}


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


def _interview(db, case_id: int | None = None, username: str = "demo-is") -> int:
    """Run the one-step interview diagram (fixture form with THIRD and HEALTH fields)."""
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"entretien.bpmn":
                                     (FIXTURES / "bpmn" / "entretien.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")
    with transaction(db) as uow:
        who = principal(uow, username)
        instance = runtime.start_instance(uow, who, "entretien", case_id)
        instance_id, case = instance.id, instance.case_id
    with transaction(db) as uow:
        who = principal(uow, username)
        [task] = [t for t in runtime.ready_tasks(uow, who) if t.instance_id == instance_id]
        runtime.complete_task(uow, who, task.id, INTERVIEW)
    return case


def test_a_consent_receipt_for_the_person(db):
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        case_id = cases.open_case(uow, is_, is_.primary_organisation_id).id
    consent_id = record_consent(db, case_id)
    with transaction(db) as uow:
        row = uow.session.get(Consent, consent_id)
        file_name, content = rights.consent_receipt(uow, principal(uow, "demo-is"), row)
        reference = cases.get_case(uow, case_id).reference
        with pytest.raises(PermissionDenied):
            rights.consent_receipt(uow, principal(uow, "demo-asso"), row)
    text = docx_text(content)
    assert file_name == f"recu-consentement-{reference}-v1.docx"
    for expected in ("vous acceptez ce partage", "France Victimes (démo)",
                     "Transmission de la fiche protocole violences conjugales",
                     "identité (ID)", "infractions (OFF)", "oral", row.uid, reference,
                     "Vous pouvez retirer votre consentement", "en vigueur",
                     "sans date limite"):
        assert expected in text, expected
    assert "{{" not in text
    # The person is named in words, never by the situation's pseudonym.
    assert "vous (la personne concernée)" in text and "Personne concernée : P1" not in text
    [printed] = actions(db, "consent.receipt_printed")
    assert json.loads(printed.details) == {"consent": consent_id}


def test_the_access_export_holds_everything_but_third_parties(db):
    _instance_id, case_id, _delivery_id = sent(db)
    _interview(db, case_id)
    with transaction(db) as uow:
        file_name, content = person_rights.access_export(uow, principal(uow, "demo-is"), case_id)
    for outsider in ("demo-asso", "demo-admin", "demo-cmp"):  # a refusal ends its transaction
        with transaction(db) as uow, pytest.raises(CaseNotFound):
            person_rights.access_export(uow, principal(uow, outsider), case_id)
    text = docx_text(content)
    assert file_name.startswith("export-S-") and file_name.endswith("-P1.docx")
    for expected in ("Élodie MARKER-ID", "MARKER-SOC", "Élodie Lefèvre-Noël",
                     "Souhaite être rappelée", "Vos consentements", "accord",
                     "Fiche protocole violences conjugales (essai)", "France Victimes (démo)",
                     "votre consentement", "1 information(s) concernant des tiers",
                     "1 information(s) de santé ne figurent pas ici", "Accompagnée"):
        assert expected in text, expected
    assert "CONJOINT-MARKER-THIRD" not in text and "SANTE-MARKER-HEALTH" not in text
    [exported] = actions(db, "consent.access_exported")
    details = json.loads(exported.details)
    assert details["third_removed"] == 1 and details["health_withheld"] == 1
    assert details["deliveries"] == 1 and details["consents"] == 1
    assert "MARKER" not in exported.details


def test_retention_shreds_what_is_due_and_the_dry_run_changes_nothing(db, clock, settings,
                                                                      monkeypatch):
    real_now = clock.now()
    clock.set(real_now - timedelta(days=1100))  # three years ago:
    old_interview = _interview(db)  # a social file, completed long ago (2 years)
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        old_liaison = cases.open_case(uow, is_, is_.primary_organisation_id).id
    record_consent(db, old_liaison, purposes=["fiche_liaison"], recipients=["cd-demo"],
                   categories=["SOC"])
    _instance_id, old_dossier, _delivery = sent(db)  # vc_transmission: 6 years, and running
    clock.set(real_now)
    recent = _interview(db)

    with transaction(db) as uow:
        due = {item.case_id: item for item in person_rights.retention_due(uow)}
    assert set(due) == {old_interview, old_liaison}
    assert due[old_liaison].purposes == ("fiche_liaison",)
    assert due[old_interview].retention_days == 730

    runner_env = {"RELAIS_HOME": str(settings.home), "RELAIS_DATABASE_URL": settings.database_url,
                  "RELAIS_MASTER_KEY_FILE": str(settings.master_key_file)}
    for name, value in runner_env.items():
        monkeypatch.setenv(name, value)
    from engine.cli import main

    result = CliRunner().invoke(main, ["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 situation(s) échue(s) ; 2 seraient détruites" in result.output
    with db.unit_of_work() as uow:
        assert all(cases.get_case(uow, c).wrapped_key is not None for c in due)
    assert len(actions(db, "consent.retention_reviewed")) == 1

    with transaction(db) as uow:
        sweep = person_rights.sweep_retention(uow, SYSTEM, dry_run=False)
    assert sorted(sweep.shredded) == sorted(due)
    with db.unit_of_work() as uow:
        for case_id in due:
            case = cases.get_case(uow, case_id)
            assert case.wrapped_key is None and case.key_destroyed_reason == "retention"
        for case_id in (recent, old_dossier):
            assert cases.get_case(uow, case_id).wrapped_key is not None
        assert audit.verify(uow).ok
    assert len(actions(db, "case.key_destroyed")) == 2
    [swept] = actions(db, "consent.retention_swept")
    assert sorted(json.loads(swept.details)["shredded"]) == sorted(due)

    # Six years on, the victim's dossier is due too, but its instance still runs: held.
    clock.advance(days=6 * 366)
    with transaction(db) as uow:
        later = person_rights.sweep_retention(uow, SYSTEM, dry_run=False)
    assert old_dossier in later.held and old_dossier not in later.shredded
    assert recent in later.shredded
    result = CliRunner().invoke(main, ["retention", "--dry-run", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["dry_run"] is True


def test_the_scheduler_sweeps_once_a_day(db, clock):
    from engine.jobs.runner import Jobs

    now = clock.now()
    clock.set(now - timedelta(days=800))
    old = _interview(db)
    clock.set(now - timedelta(days=730))
    edge = _interview(db)  # due exactly at `now`
    clock.set(now - timedelta(hours=1))
    jobs = Jobs(db, None)
    jobs.tick()
    clock.advance(hours=2)
    jobs.tick()  # within the day: no second sweep, although `edge` is due now
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, old).wrapped_key is None
        assert cases.get_case(uow, edge).wrapped_key is not None
    clock.advance(days=1)
    jobs.tick()
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, edge).wrapped_key is None
