"""The workspace's remaining journeys in a real browser (Chromium, axe-core on every page,
390 px where the issue asks): the IS reads the document that would leave on the consent
screen, prints the consent receipt, withdraws the consent and sees the pending transmission
cancelled, and opens the kept copy of a refusal; the association files two sheets received
two years apart into one dossier from its inbox."""

from __future__ import annotations

from protocol_support import GRANTED, REFUSED, Territory
from sqlalchemy import select

from browser.accessibility import axe_problems, too_wide
from engine.jobs import outbox
from engine.runtime.models import OutboxItem


def sheet_ready_for_consent(t: Territory) -> tuple[dict, dict]:
    """The IS has started the protocol and filled the sheet: (instance, consent task)."""
    instance = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", instance["id"], {"mode_saisine": "main_courante",
                                            "danger_immediat": False})
    t.complete("demo-is", instance["id"], {
        "victime_nom": "Lefèvre", "victime_prenom": "Alice", "date_faits": t.days(-1),
        "lieu_faits": "domicile_commun", "commune_faits": "Dijon", "violences": ["physiques"],
        "enfants_presents": False, "blessures": "aucune", "certificat_medical": "non",
        "faits_anterieurs": False, "suite_judiciaire": "main_courante",
        "auteur_lien": "conjoint"})
    return instance, t.task("demo-is", instance["id"])


def record_decisions_only(t: Territory) -> None:
    """The worker records consent decisions and stops there (transmissions stay pending)."""
    with t.db.unit_of_work() as uow:
        pending = list(uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.status == "pending", OutboxItem.operator == "relais/record_consent")))
    for item_id in pending:
        outbox.run_item(t.db, item_id)


def test_the_is_consents_prints_the_receipt_and_withdraws(user_page, axe_source, client, db,
                                                         clock):
    t = Territory(client, db, clock)
    instance, checkpoint = sheet_ready_for_consent(t)
    watched = user_page("demo-is")
    page = watched.page
    page.get_by_role("link", name="Mes tâches").first.click()
    page.get_by_role("link", name="Recueillir la décision de la victime").first.click()
    page.wait_for_url(f"**/taches/{checkpoint['id']}")
    preview = page.inner_text("section.apercu")
    assert "France Victimes (démo)" in preview and "Lefèvre" in preview
    assert axe_problems(page, axe_source) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []  # the preview holds on a phone
    page.set_viewport_size({"width": 1400, "height": 900})
    page.check("#presented")
    page.check("input[name=decision][value=granted]")
    page.check("input[name=channel][value=oral]")
    page.keyboard.press("Enter")  # submitted from the keyboard
    page.wait_for_url("**/taches")
    record_decisions_only(t)

    page.goto(watched.url(f"/situations/{instance['case_id']}"))
    assert axe_problems(page, axe_source) == []
    with page.expect_download() as receipt:
        page.get_by_role("link", name="Imprimer le reçu").first.click()
    assert receipt.value.suggested_filename.startswith("recu-consentement-")
    page.get_by_role("link", name="Retirer ce consentement…").click()
    page.wait_for_url("**/retirer")
    assert "« Fiche protocole violences conjugales » à France Victimes (démo)" in \
        page.inner_text("main")
    assert axe_problems(page, axe_source) == []
    page.get_by_role("button", name="Confirmer le retrait du consentement").click()
    page.wait_for_url("**/situations/*")
    main = page.inner_text("main")
    assert "Transmission en attente annulée" in main and "retiré" in main
    assert axe_problems(page, axe_source) == []
    t.work()
    assert not [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]
    watched.assert_clean()


def test_the_is_opens_the_kept_copy_of_a_refusal(user_page, axe_source, client, db, clock):
    t = Territory(client, db, clock)
    instance, _checkpoint = sheet_ready_for_consent(t)
    t.complete("demo-is", instance["id"], REFUSED)
    watched = user_page("demo-is")
    page = watched.page
    page.goto(watched.url(f"/situations/{instance['case_id']}"))
    with page.expect_download() as kept:
        page.locator("a[href^='/situations/pieces/']").first.click()
    assert kept.value.suggested_filename.endswith(".docx")
    assert axe_problems(page, axe_source) == []
    watched.assert_clean()


def sheet_sent(t: Territory) -> int:
    instance, _checkpoint = sheet_ready_for_consent(t)
    t.complete("demo-is", instance["id"], GRANTED)
    [delivery] = [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]
    return delivery["id"]


def test_the_association_files_two_sheets_into_one_dossier(user_page, axe_source, client, db,
                                                           clock):
    t = Territory(client, db, clock)
    first = sheet_sent(t)
    watched = user_page("demo-asso")
    page = watched.page
    page.get_by_role("link", name="Documents reçus").first.click()
    assert axe_problems(page, axe_source) == []
    page.locator(f"a[href='/recus/{first}/classer']").click()
    page.wait_for_url(f"**/recus/{first}/classer")
    assert axe_problems(page, axe_source) == []
    page.get_by_role("button", name="Classer").click()  # nothing chosen: error on the field
    assert page.locator("[role=alert]").count() == 1
    page.get_by_label("Ouvrir un nouveau dossier").check()
    page.get_by_role("button", name="Classer").click()
    page.wait_for_url("**/situations/*")
    dossier = page.url
    t.work()

    clock.advance(days=730)
    second = sheet_sent(t)
    watched = user_page("demo-asso")  # two years later: a new session
    page = watched.page
    page.goto(watched.url(f"/recus/{second}/classer"))
    reference = dossier.rsplit("/", 1)[-1]
    page.locator(f"input[name=dossier][value='{reference}']").check()
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []
    page.get_by_role("button", name="Classer").click()
    page.wait_for_url(dossier)
    t.work()
    page.reload()
    documents = page.locator("table.liste").last.inner_text()
    assert documents.count("Fiche protocole violences conjugales") >= 2
    assert axe_problems(page, axe_source) == [] and too_wide(page) == []
    watched.assert_clean()
