"""The console's keys, audit log and operations pages in a real browser: the administrator
rotates a key, verifies the audit log (progress, then the result), retries an incident; axe
finds no serious or critical violation on any of these pages."""

from __future__ import annotations

from admin_ops_support import asso_tasks, start_essai, stuck_on_incident, tamper
from sqlalchemy import select

from browser.accessibility import axe_problems
from engine.audit import console
from engine.db import transaction
from engine.identity import service as identity
from engine.jobs import outbox
from engine.keys import service as keys
from engine.runtime.models import Incident

# Every announcement of the verification's live region, in order.
RECORD_ANNOUNCEMENTS = """() => {
  window.annonces = [];
  const region = document.getElementById('resultat-verification');
  new MutationObserver(() => window.annonces.push(region.textContent.trim()))
    .observe(region, {childList: true, subtree: true, characterData: true});
}"""


def _current_kids(db, slug: str) -> set[str]:
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, slug)
        return {p.kid for p in keys.organisation_key_pairs(uow, org) if p.retired_at is None}


def test_the_administrator_rotates_a_key(admin, db, axe_source):
    with transaction(db) as uow:  # cd-demo has keys in service before the rotation
        keys.ensure_organisation_keys(uow, identity.get_organisation(uow, "cd-demo"))
    before = _current_kids(db, "cd-demo")
    page = admin.page
    page.goto(admin.url("/admin/cles"))
    assert page.inner_text("h1") == "Clés"
    assert len(page.inner_text("#empreinte-plateforme").strip()) == 64
    assert axe_problems(page, axe_source) == []

    section = page.locator("#org-cd-demo")
    section.get_by_role("button", name="Renouveler les clés (rotation)").click()
    assert page.locator("#erreur-confirmer-cd-demo").is_visible()  # not confirmed: refused
    assert _current_kids(db, "cd-demo") == before
    assert axe_problems(page, axe_source) == []

    page.locator("#org-cd-demo").get_by_label("Je confirme la rotation des clés").check()
    page.locator("#org-cd-demo").get_by_role("button",
                                             name="Renouveler les clés (rotation)").click()
    page.wait_for_selector("text=Clés de cd-demo renouvelées")
    after = _current_kids(db, "cd-demo")
    assert after and not after & before
    for kid in before:
        assert "Retirée" in page.inner_text(f'tr[data-kid="{kid}"]')
    for kid in after:
        assert "En service" in page.inner_text(f'tr[data-kid="{kid}"]')
    admin.assert_clean()


def test_the_administrator_verifies_the_audit_log_with_progress(admin, db, axe_source,
                                                               monkeypatch):
    monkeypatch.setattr(console, "STEP_ROWS", 10)  # the live server runs in this process
    page = admin.page
    page.goto(admin.url("/admin/journal"))
    assert axe_problems(page, axe_source) == []
    page.evaluate(RECORD_ANNOUNCEMENTS)
    page.click("#verifier")
    page.wait_for_selector("#resultat-verification .resultat-intact")
    said = page.evaluate("window.annonces")
    assert any(s.startswith("Vérification en cours : ") for s in said), said
    assert "Journal intègre" in said[-1] and "Empreinte de confiance utilisée" in said[-1]
    assert page.get_attribute("#resultat-verification", "aria-live") == "polite"
    assert page.evaluate("document.getElementById('barre-verification').value") == \
        page.evaluate("document.getElementById('barre-verification').max")
    assert axe_problems(page, axe_source) == []

    tamper(db, 17)
    page.click("#verifier")
    page.wait_for_selector("#resultat-verification .resultat-altere")
    assert "Journal altéré à la ligne 17" in page.inner_text("#resultat-verification")
    admin.assert_clean()


def test_the_administrator_retries_an_incident(admin, db, axe_source, monkeypatch):
    iid, item_id = stuck_on_incident(db, monkeypatch)
    with db.unit_of_work() as uow:
        incident_id = uow.session.scalars(select(Incident.id)).one()
    page = admin.page
    page.goto(admin.url("/admin/incidents"))
    row = page.locator(f'tr[data-incident-id="{incident_id}"]')
    assert "Un connecteur" in row.inner_text()
    assert axe_problems(page, axe_source) == []
    row.get_by_role("button", name=f"Relancer l'incident n° {incident_id}").click()
    page.wait_for_selector(f"text=Incident n° {incident_id} relancé")
    assert "Aucun incident ouvert" in page.inner_text("#incidents")
    assert outbox.run_item(db, item_id) == "done"
    assert asso_tasks(db) == ["accuse"]
    page.goto(admin.url("/admin/incidents?etat=resolus"))
    assert page.locator(f'tr[data-incident-id="{incident_id}"]').count() == 1
    assert axe_problems(page, axe_source) == []
    admin.assert_clean()
    assert iid


def test_instances_and_retention_pages_pass_axe(admin, db, axe_source):
    iid = start_essai(db)
    page = admin.page
    page.goto(admin.url("/admin/instances"))
    assert page.locator(f'tr[data-instance-id="{iid}"]').count() == 1
    assert axe_problems(page, axe_source) == []
    page.get_by_role("link", name=f"Suspendre l'instance n° {iid}").click()
    page.wait_for_url(admin.url(f"/admin/instances/{iid}/suspend"))
    assert axe_problems(page, axe_source) == []
    page.select_option("#raison", "incident_technique")
    page.get_by_role("button", name="Suspendre").click()
    page.wait_for_selector(f"text=Instance n° {iid} : suspendue.")
    assert "Suspendue" in page.inner_text(f'tr[data-instance-id="{iid}"]')
    page.goto(admin.url(f"/admin/instances/{iid}/terminate"))
    page.select_option("#raison", "erreur_lancement")
    page.get_by_role("button", name="Arrêter").click()  # not confirmed: the field says why
    page.wait_for_selector("#erreur-confirmer")
    assert axe_problems(page, axe_source) == []
    page.goto(admin.url("/admin/conservation"))
    assert page.inner_text("h1") == "Conservation"
    assert axe_problems(page, axe_source) == []
    page.goto(admin.url("/admin/journal?du=hier"))
    assert page.locator("#erreur-du").is_visible()
    assert axe_problems(page, axe_source) == []
    admin.assert_clean()
