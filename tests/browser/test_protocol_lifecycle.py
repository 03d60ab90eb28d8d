"""A protocol's lifecycle in the browser: draft, what changed, publish, withdraw; axe on the
protocol page, the drafts list and the diff page."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser.accessibility import axe_problems
from engine.audit.service import SYSTEM
from engine.runtime import service as runtime

ORIENTATION = (Path(__file__).parent / "orientation.bpmn").read_bytes()
NAME = "Orientation vers une association"

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _deployed(db) -> None:
    with db.unit_of_work() as uow:
        runtime.deploy(uow, SYSTEM, {"orientation.bpmn": ORIENTATION}, source="cli")
        uow.commit()


def test_admin_saves_a_draft_sees_what_changed_and_publishes(admin, db, axe_source):
    _deployed(db)
    page = admin.page
    page.goto(admin.url("/admin/protocoles/orientation/modifier"))
    page.wait_for_selector("#etat:has-text('Diagramme chargé')")
    page.evaluate("""() => {
        const m = window.RelaisModeleur;
        m.get('modeling').updateLabel(m.get('elementRegistry').get('accompagner'),
                                      'Proposer un suivi');
    }""")
    page.click("#enregistrer")
    page.wait_for_selector("#etat.message-ok:has-text('Brouillon enregistré')")
    with db.unit_of_work() as uow:
        assert runtime.latest_version(uow, "orientation").version == 1  # nothing published

    # The drafts list, on the protocols page.
    page.goto(admin.url("/admin/protocoles"))
    assert "Proposer" not in page.inner_text("#liste-brouillons")
    assert NAME in page.inner_text("#liste-brouillons")
    assert axe_problems(page, axe_source) == []

    page.click("#liste-brouillons >> text=Voir les changements")
    page.wait_for_selector("#liste-changements li")
    changes = page.inner_text("#liste-changements")
    assert "Modifié" in changes and "Proposer un suivi" in changes
    assert "Ajouté" not in changes and "Supprimé" not in changes
    page.wait_for_selector(
        '#diagramme-apres .djs-element.diff-modifie[data-element-id="accompagner"]')
    assert page.locator('#diagramme-apres .djs-element.diff-modifie').count() == 1
    assert axe_problems(page, axe_source) == []

    page.click("#publier")
    page.wait_for_url(admin.url("/admin/protocoles/orientation"))
    assert "Publié" in page.inner_text("main")
    with db.unit_of_work() as uow:
        assert runtime.latest_version(uow, "orientation").version == 2
    assert page.locator("#liste-brouillons").count() == 0  # the draft is gone
    page.wait_for_selector('#visionneuse .djs-element[data-element-id="accompagner"]')
    assert axe_problems(page, axe_source) == []
    admin.assert_clean()


def test_a_withdrawn_protocol_disappears_from_the_is_list(admin, user_page, db, axe_source):
    _deployed(db)
    professional = user_page("demo-is")
    professional.page.goto(professional.url("/protocoles"))
    assert NAME in professional.page.inner_text("main")

    page = admin.page
    page.goto(admin.url("/admin/protocoles/orientation"))
    page.fill("#motif", "Circuit en révision")
    page.click("#retrait ~ form button[type=submit]")
    page.wait_for_selector("#etat-retrait")
    assert "Retiré" in page.inner_text("#etat-retrait")
    assert axe_problems(page, axe_source) == []

    professional.page.goto(professional.url("/protocoles"))
    assert NAME not in professional.page.inner_text("main")

    page.click("text=Remettre tout le protocole à disposition")
    page.wait_for_selector("text=Remis à disposition")
    professional.page.goto(professional.url("/protocoles"))
    assert NAME in professional.page.inner_text("main")
    admin.assert_clean()
    professional.assert_clean()
