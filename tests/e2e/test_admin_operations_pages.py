"""The console's keys, audit log and operations pages through Flask's test client: who may open
them, the journal's filters and its verification in steps, keys rotated, exported and
registered, incidents retried, instances suspended/resumed/stopped with a reason, the
retention due list as the CLI shows it. Every refusal changes nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from admin_ops_support import asso_tasks, principal, start_essai, stuck_on_incident, tamper
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from helpers import as_admin, csrf_from, login
from routing_support import actions, record_consent
from sqlalchemy import select

from engine.audit import console
from engine.audit import service as audit
from engine.cases import service as cases
from engine.db import transaction
from engine.documents import envelope
from engine.documents.envelope import ManifestFields, Metadata
from engine.identity import service as identity
from engine.keys import service as keys
from engine.keys.models import KeyPair
from engine.runtime.models import Incident, Instance

PAGES = ["/admin/cles", "/admin/journal", "/admin/incidents", "/admin/instances",
         "/admin/conservation"]
POSTS = ["/admin/cles/cd-demo/rotation", "/admin/cles/cd-demo/annuaire",
         "/admin/cles/recouvrement", "/admin/journal/verification",
         "/admin/journal/points-de-controle/export", "/admin/incidents/1/relance",
         "/admin/instances/1/suspend", "/admin/conservation/destruction"]
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def admin_client(client, clock):
    return as_admin(client, clock)


def _post(client, path: str, page: str = "/admin/cles", **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _current_kids(db, slug: str) -> set[str]:
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, slug)
        return {p.kid for p in keys.organisation_key_pairs(uow, org) if p.retired_at is None}


# --- access --------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion?next=")


def test_other_roles_get_the_french_403_page_and_change_nothing(client, db):
    before = _current_kids(db, "cd-demo")
    login(client, "demo-is")
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Accès refusé" in response.get_data(as_text=True)
    token = csrf_from(client.get("/").get_data(as_text=True))
    for path in POSTS:
        response = client.post(path, data={"csrf_token": token, "confirmer": "oui",
                                           "raison": "erreur_lancement"})
        assert response.status_code == 403, path
    assert _current_kids(db, "cd-demo") == before
    assert actions(db, "keys.rotated") == []


def test_every_page_opens_for_the_administrator_with_its_breadcrumb(admin_client):
    for path in PAGES:
        response = admin_client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert '<nav aria-label="Fil d\'Ariane"' in html and 'href="/admin/"' in html, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " style=" not in html, path


# --- the journal ---------------------------------------------------------------------------

def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', html)]


def test_the_journal_filters_by_action_actor_organisation_subject_and_dates(admin_client, db,
                                                                          clock):
    html = admin_client.get("/admin/journal").get_data(as_text=True)
    newest = _seqs(html)
    assert newest == sorted(newest, reverse=True) and len(newest) == console.PAGE_SIZE
    assert "Connexion" in html  # an action in words

    older = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    second = _seqs(admin_client.get(older).get_data(as_text=True))
    assert second and max(second) < min(newest)

    logins = admin_client.get("/admin/journal?action=identity.login").get_data(as_text=True)
    with db.unit_of_work() as uow:
        expected = list(uow.session.scalars(select(audit.AuditEntry.seq).where(
            audit.AuditEntry.action == "identity.login").order_by(audit.AuditEntry.seq.desc())))
    assert _seqs(logins) == expected[:console.PAGE_SIZE] and expected

    prefix = admin_client.get("/admin/journal?action=identity.").get_data(as_text=True)
    assert set(_seqs(logins)) <= set(_seqs(prefix))

    mine = admin_client.get("/admin/journal?acteur=demo-admin").get_data(as_text=True)
    assert _seqs(mine) and "demo-is" not in re.sub(r"<select.*?</select>", "", mine, flags=re.S)

    with db.unit_of_work() as uow:
        cd_id = identity.get_organisation(uow, "cd-demo").id
        org_rows = set(uow.session.scalars(select(audit.AuditEntry.seq).where(
            audit.AuditEntry.organisation_id == cd_id)))
        subject = uow.session.scalars(select(audit.AuditEntry).where(
            audit.AuditEntry.subject_id.is_not(None))).first()
        subject_type, subject_id, subject_seq = subject.subject_type, subject.subject_id, \
            subject.seq
    by_org = _seqs(admin_client.get(f"/admin/journal?organisation={cd_id}")
                   .get_data(as_text=True))
    assert by_org and set(by_org) <= org_rows
    by_subject = _seqs(admin_client.get(
        f"/admin/journal?sujet_type={subject_type}&sujet_id={subject_id}")
        .get_data(as_text=True))
    assert subject_seq in by_subject

    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    today = clock.now().date().isoformat()
    assert _seqs(admin_client.get(f"/admin/journal?du={tomorrow}").get_data(as_text=True)) == []
    assert _seqs(admin_client.get(f"/admin/journal?du={today}&au={today}")
                 .get_data(as_text=True))


def test_an_unknown_action_is_shown_by_its_raw_name(admin_client, db):
    with transaction(db) as uow:
        audit.append(uow, audit.SYSTEM, "essai.action_inconnue", subject_type="essai")
    html = admin_client.get("/admin/journal?action=essai.action_inconnue").get_data(
        as_text=True)
    assert "<td><code>essai.action_inconnue</code></td>" in html
    known = admin_client.get("/admin/journal?action=identity.login").get_data(as_text=True)
    assert "Connexion<br><code" in known


def test_a_bad_filter_is_answered_on_its_field(admin_client):
    response = admin_client.get("/admin/journal?du=31/12/2026&organisation=abc")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="erreur-du"' in html and 'id="erreur-organisation"' in html
    assert _seqs(html) == []
    reversed_range = admin_client.get("/admin/journal?du=2026-05-02&au=2026-05-01")
    assert reversed_range.status_code == 422
    assert "précède" in reversed_range.get_data(as_text=True)


def _verify_in_steps(client, monkeypatch, rows: int = 7) -> list[dict]:
    monkeypatch.setattr(console, "STEP_ROWS", rows)
    token = META_CSRF.search(client.get("/admin/journal").get_data(as_text=True)).group(1)
    steps, cursor = [], ""
    while True:
        response = client.post("/admin/journal/verification", json={"cursor": cursor},
                               headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        steps.append(response.get_json())
        if steps[-1]["done"]:
            return steps
        cursor = steps[-1]["cursor"]
        assert len(steps) < 1000


def test_verification_in_steps_says_intact_and_names_the_trusted_fingerprint(
        admin_client, db, monkeypatch, platform_fingerprint):
    steps = _verify_in_steps(admin_client, monkeypatch)
    assert len(steps) > 2
    checked = [s["checked"] for s in steps]
    assert checked == sorted(checked) and checked[0] == 7
    final = steps[-1]
    assert final["result"]["ok"] and final["result"]["first_bad_seq"] is None
    assert final["result"]["entries"] == final["checked"] and final["result"]["checkpoints"] >= 1
    # The pin file beside the test master key may also hold other test databases' keys.
    assert platform_fingerprint in final["trusted"]
    [row] = actions(db, "admin.journal.verified")
    assert json.loads(row.details)["ok"] is True and row.actor_label == "demo-admin"


def test_verification_in_steps_finds_the_tampered_row(admin_client, db, monkeypatch):
    tamper(db, 23)
    steps = _verify_in_steps(admin_client, monkeypatch)
    final = steps[-1]["result"]
    assert not final["ok"] and final["first_bad_seq"] == 23
    assert "ne correspond plus" in final["reason"]
    assert all(not s["done"] for s in steps[:-1]) and steps[-1]["checked"] == 22
    with db.unit_of_work() as uow:  # the same answer as `relais audit verify`
        assert audit.verify(uow).first_bad_seq == 23


def test_the_plain_form_verifies_every_step_and_shows_the_result(admin_client, db):
    ok = _post(admin_client, "/admin/journal/verification", page="/admin/journal")
    assert "Journal intègre" in ok.get_data(as_text=True)
    tamper(db, 4)
    bad = _post(admin_client, "/admin/journal/verification", page="/admin/journal")
    assert "Journal altéré à la ligne 4" in bad.get_data(as_text=True)


def test_a_bad_cursor_is_a_problem_document(admin_client):
    token = META_CSRF.search(admin_client.get("/admin/journal").get_data(as_text=True)).group(1)
    response = admin_client.post("/admin/journal/verification", json={"cursor": "12:zz"},
                                 headers={"X-CSRFToken": token})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == "cursor"


def test_the_checkpoint_export_is_a_witness_the_cli_accepts(admin_client, db, cli, tmp_path):
    response = _post(admin_client, "/admin/journal/points-de-controle/export",
                     page="/admin/journal")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    doc = json.loads(response.get_data(as_text=True))
    assert doc["type"] == audit.CHECKPOINT_TYPE
    with db.unit_of_work() as uow:
        assert doc["seq"] <= audit.last_seq(uow)
    witness = tmp_path / "temoin.json"
    witness.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("audit", "verify", "--witness", witness)
    assert result.exit_code == 0, result.output
    assert "1 témoin(s) retrouvé(s)" in result.output
    assert len(actions(db, "admin.journal.checkpoint_exported")) == 1


# --- keys ----------------------------------------------------------------------------------

def test_the_keys_page_shows_the_platform_fingerprint_and_the_directory(admin_client,
                                                                       platform_fingerprint):
    html = admin_client.get("/admin/cles").get_data(as_text=True)
    assert f'id="empreinte-plateforme"><code>{platform_fingerprint}</code>' in html
    assert f"--platform-key {platform_fingerprint}" in html
    assert 'id="org-cd-demo"' in html


def test_rotation_needs_confirmation_then_changes_the_directory_and_is_audited(admin_client,
                                                                              db):
    admin_client.get("/admin/cles")
    _post(admin_client, "/admin/cles/cd-demo/annuaire")  # keys exist before the rotation
    before = _current_kids(db, "cd-demo")
    refused = _post(admin_client, "/admin/cles/cd-demo/rotation")
    assert refused.status_code == 422
    assert 'id="erreur-confirmer-cd-demo"' in refused.get_data(as_text=True)
    assert _current_kids(db, "cd-demo") == before and actions(db, "keys.rotated") == []

    done = _post(admin_client, "/admin/cles/cd-demo/rotation", confirmer="oui")
    assert done.status_code == 302
    after = _current_kids(db, "cd-demo")
    assert len(after) == 2 and not after & before
    html = admin_client.get("/admin/cles").get_data(as_text=True)
    for kid in before | after:
        assert f'data-kid="{kid}"' in html
    [row] = actions(db, "keys.rotated")
    assert row.actor_label == "demo-admin"
    assert sorted(json.loads(row.details)["retired"]) == sorted(before)


def test_the_exported_directory_is_accepted_by_relais_verify(admin_client, db, cli, tmp_path,
                                                             platform_fingerprint):
    response = _post(admin_client, "/admin/cles/asso-iscg-demo/annuaire")
    assert response.status_code == 200
    assert 'filename="annuaire-asso-iscg-demo.json"' in response.headers["Content-Disposition"]
    directory_file = tmp_path / "annuaire.json"
    directory_file.write_bytes(response.get_data())
    with transaction(db) as uow:
        sender = identity.get_organisation(uow, "asso-iscg-demo")
        kid, signer = keys.private_signing_key(uow, sender)
        recipients = keys.current_encryption_keys(uow, identity.get_organisation(uow, "cd-demo"))
        fields = ManifestFields(sender_organisation="asso-iscg-demo", purpose="fiche_liaison",
                                data_categories=["coordonnees"], created_at=uow.now(),
                                consent_id="12")
        blob = envelope.seal(b"essai", Metadata("fiche.txt", "text/plain", "Fiche"), fields,
                             signer, kid, recipients)
    sealed = tmp_path / "fiche.relais"
    sealed.write_bytes(blob)
    accepted = cli("verify", sealed, "--directory", directory_file,
                   "--platform-key", platform_fingerprint)
    assert accepted.exit_code == 0, accepted.output
    other = cli("verify", sealed, "--directory", directory_file, "--platform-key", "ab" * 32)
    assert other.exit_code == 1
    assert len(actions(db, "admin.keys.directory_exported")) == 1


def _pem() -> bytes:
    return X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _upload(client, content: bytes | None, slug: str = "cmp-demo"):
    from io import BytesIO

    token = csrf_from(client.get("/admin/cles").get_data(as_text=True))
    data = {"csrf_token": token, "organisation": slug}
    if content is not None:
        data["cle"] = (BytesIO(content), "recouvrement.pub.pem")
    return client.post("/admin/cles/recouvrement", data=data,
                       content_type="multipart/form-data")


def _recovery_keys(db) -> list[tuple[str, bytes | None]]:
    """(kid, wrapped private key) of every recovery key."""
    with db.unit_of_work() as uow:
        return [(p.kid, p.wrapped_private_key) for p in uow.session.scalars(
            select(KeyPair).where(KeyPair.usage == "recovery"))]


def test_a_recovery_key_is_registered_and_a_bad_one_refused_on_its_field(admin_client, db):
    for bad in (b"pas une cle", _ed25519_pem(), None):
        refused = _upload(admin_client, bad)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert 'id="erreur-cle"' in html and "Rien n&#39;a été enregistré" in html
    assert _recovery_keys(db) == [] and actions(db, "keys.recovery_key_registered") == []

    done = _upload(admin_client, _pem())
    assert done.status_code == 302
    [(kid, wrapped)] = _recovery_keys(db)
    assert wrapped is None
    [row] = actions(db, "keys.recovery_key_registered")
    assert row.actor_label == "demo-admin"
    assert f'data-kid="{kid}"' in admin_client.get("/admin/cles").get_data(as_text=True)
    unknown = _upload(admin_client, _pem(), slug="inconnue")
    assert unknown.status_code == 404 and len(_recovery_keys(db)) == 1


def _ed25519_pem() -> bytes:
    """A public key of the wrong kind (Ed25519, not X25519)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- incidents and instances ---------------------------------------------------------------

def test_an_incident_is_explained_and_retried_then_the_instance_continues(admin_client, db,
                                                                         monkeypatch):
    from engine.jobs import outbox

    iid, item_id = stuck_on_incident(db, monkeypatch)
    html = admin_client.get("/admin/incidents").get_data(as_text=True)
    with db.unit_of_work() as uow:
        incident_id = uow.session.scalars(select(Incident.id)).one()
    assert f'data-incident-id="{incident_id}"' in html
    assert "Un connecteur" in html and "Relancer" in html
    response = _post(admin_client, f"/admin/incidents/{incident_id}/relance",
                     page="/admin/incidents")
    assert response.status_code == 302
    assert outbox.run_item(db, item_id) == "done"
    assert asso_tasks(db) == ["accuse"]
    assert "Aucun incident ouvert" in admin_client.get("/admin/incidents") \
        .get_data(as_text=True)
    resolved = admin_client.get("/admin/incidents?etat=resolus").get_data(as_text=True)
    assert f'data-incident-id="{incident_id}"' in resolved
    [row] = actions(db, "runtime.incident_retried")
    assert row.actor_label == "demo-admin" and row.subject_id == str(iid)
    again = _post(admin_client, f"/admin/incidents/{incident_id}/relance",
                  page="/admin/incidents")
    assert again.status_code == 409 and len(actions(db, "runtime.incident_retried")) == 1


def _status(db, iid: int) -> str:
    with db.unit_of_work() as uow:
        return uow.session.get(Instance, iid).status


def test_instances_are_searched_by_protocol_status_and_date(admin_client, db, clock):
    first = start_essai(db)
    second = start_essai(db)
    with transaction(db) as uow:
        from engine.runtime import service as runtime

        runtime.set_status(uow, principal(uow, "demo-admin"), second, "suspend")

    def ids(query: str) -> list[int]:
        response = admin_client.get("/admin/instances" + query)
        assert response.status_code == 200, query
        return [int(i) for i in re.findall(r'data-instance-id="(\d+)"',
                                           response.get_data(as_text=True))]

    assert ids("?protocole=essai") == [second, first]
    assert ids("?protocole=essai&statut=suspended") == [second]
    assert ids("?protocole=essai&statut=running") == [first]
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    today = clock.now().date().isoformat()
    assert ids(f"?protocole=essai&du={today}&au={today}") == [second, first]
    assert ids(f"?protocole=essai&du={tomorrow}") == []
    bad = admin_client.get("/admin/instances?statut=perdu&du=hier")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="erreur-statut"' in html and 'id="erreur-du"' in html


def test_suspend_resume_terminate_need_a_reason(admin_client, db):
    iid = start_essai(db)
    page = f"/admin/instances/{iid}/suspend"
    assert admin_client.get(page).status_code == 200
    refused = _post(admin_client, page, page=page)
    assert refused.status_code == 422 and 'id="erreur-raison"' in refused.get_data(as_text=True)
    odd = _post(admin_client, page, page=page, raison="parce que")
    assert odd.status_code == 422 and _status(db, iid) == "running"
    assert actions(db, "runtime.instance_suspended") == []

    assert _post(admin_client, page, page=page, raison="incident_technique").status_code == 302
    assert _status(db, iid) == "suspended"
    [row] = actions(db, "runtime.instance_suspended")
    assert json.loads(row.details) == {"reason": "incident_technique"}
    assert row.actor_label == "demo-admin"

    resume = f"/admin/instances/{iid}/resume"
    assert _post(admin_client, resume, page=resume, raison="reprise_normale").status_code == 302
    assert _status(db, iid) == "running"

    stop = f"/admin/instances/{iid}/terminate"
    unconfirmed = _post(admin_client, stop, page=stop, raison="erreur_lancement")
    assert unconfirmed.status_code == 422
    assert 'id="erreur-confirmer"' in unconfirmed.get_data(as_text=True)
    assert _status(db, iid) == "running"
    assert _post(admin_client, stop, page=stop, raison="erreur_lancement",
                 confirmer="oui").status_code == 302
    assert _status(db, iid) == "terminated"
    [row] = actions(db, "runtime.instance_terminated")
    assert json.loads(row.details) == {"reason": "erreur_lancement"}
    assert admin_client.get(f"/admin/instances/{iid}/pause").status_code == 404


# --- retention -----------------------------------------------------------------------------

def test_the_retention_due_list_matches_the_cli_and_the_sweep_needs_confirmation(
        admin_client, db, clock, cli):
    real_now = clock.now()
    clock.set(real_now - timedelta(days=1100))
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        old = cases.open_case(uow, who, who.primary_organisation_id)
        old_id, old_reference = old.id, old.reference
    record_consent(db, old_id, purposes=["fiche_liaison"], recipients=["cd-demo"],
                   categories=["SOC"])
    clock.set(real_now)

    html = admin_client.get("/admin/conservation").get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'data-case-id="(\d+)"', html)}
    listed = cli("retention", "--dry-run", "--json")
    assert listed.exit_code == 0, listed.output
    assert shown == {item["case_id"] for item in json.loads(listed.output)["due"]}
    assert old_id in shown and old_reference in html

    refused = _post(admin_client, "/admin/conservation/destruction", page="/admin/conservation")
    assert refused.status_code == 422 and 'id="erreur-confirmer"' in refused.get_data(
        as_text=True)
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, old_id).wrapped_key is not None

    done = _post(admin_client, "/admin/conservation/destruction", page="/admin/conservation",
                 confirmer="oui")
    assert done.status_code == 200 and 'id="destruction-faite"' in done.get_data(as_text=True)
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, old_id).wrapped_key is None
    [row] = actions(db, "admin.ops.retention_swept")
    assert row.actor_label == "demo-admin"


def test_pending_legal_reviews_are_listed(admin_client, db):
    from consent_support import add_test_territory, invoke, open_case

    from engine.consent import service as consent

    add_test_territory(db)
    case_id = open_case(db, "demo-is")
    record_id = invoke(db, "demo-is", case_id, "requisition_60_1", information="not_applicable")
    with transaction(db) as uow:
        review = consent.invoke_legal_basis(uow, audit.SYSTEM, cases.get_case(uow, case_id),
                                            record_id).review
        review_id = review.id
    html = admin_client.get("/admin/conservation").get_data(as_text=True)
    assert f'data-review-id="{review_id}"' in html and "requisition_60_1" in html
