"""The administration pages in a real browser: list, import, viewer, modeler, deployment."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.runtime import service as runtime
from engine.runtime.models import Deployment, DeploymentFile, ProtocolDraft

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ORIENTATION = HERE / "orientation.bpmn"
ESSAI = ROOT / "tests" / "fixtures" / "bpmn" / "essai.bpmn"
FIXTURE_FORMS = ROOT / "tests" / "fixtures" / "forms"
SCREENSHOT_COPY_ENV = "RELAIS_SCREENSHOT_DIR"


def _screenshot(page, folder: Path, name: str) -> None:
    """Into pytest's tmp dir; also into $RELAIS_SCREENSHOT_DIR when set, to look at them."""
    shot = folder / name
    page.screenshot(path=str(shot), full_page=True)
    if target := os.environ.get(SCREENSHOT_COPY_ENV):
        shutil.copy(shot, Path(target) / name)


def _element(page, element_id: str):
    return page.locator(f'#canevas .djs-element[data-element-id="{element_id}"]')


def test_admin_imports_edits_and_deploys_a_protocol(admin, db, tmp_path):
    page = admin.page
    page.goto(admin.url("/admin/protocoles"))
    assert page.inner_text("h1") == "Protocoles"

    # A diagram whose form is not among the bundled forms: refused, the reasons on the page.
    page.set_input_files("#fichier", str(ESSAI))
    page.click("form[enctype] button[type=submit]")
    problems = page.inner_text("#problemes")
    assert "Rien n'a été déployé" in problems and "essai_fiche.json" in problems
    assert "Traceback" not in page.content()

    page.set_input_files("#fichier", str(ORIENTATION))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(admin.url("/admin/protocoles/orientation"))
    assert "Déployé : « Orientation vers une association » (orientation) version 1." \
        in page.inner_text("main")
    # The newest version, read-only.
    page.wait_for_selector('#visionneuse .djs-element[data-element-id="evaluer"]')
    _screenshot(page, tmp_path, "protocole.png")

    page.click("text=Modifier dans le modeleur")
    page.wait_for_url(admin.url("/admin/protocoles/orientation/modifier"))
    page.wait_for_selector("#etat:has-text('Diagramme chargé')")
    for lane, label in (("Lane_IS", "IS"), ("Lane_ASSO", "ASSOCIATION")):
        assert _element(page, lane).count() == 1
        assert _element(page, lane).locator("text").first.text_content() == label
    for task, label in (("evaluer", "Évaluer la situation"),
                        ("accompagner", "Proposer un accompagnement")):
        words = _element(page, task).locator("text").all_text_contents()
        assert " ".join(" ".join(words).split()) == label
    assert page.locator("#proprietes .bio-properties-panel").count() == 1

    _screenshot(page, tmp_path, "modeleur.png")

    # Rename a task through the properties panel, then deploy: version 2.
    _element(page, "evaluer").click()
    page.wait_for_selector("#proprietes .bio-properties-panel-header-label:has-text('Évaluer')")
    general = page.locator("#proprietes [data-group-id='group-general']")
    if not general.locator(".bio-properties-panel-group-entries.open").count():
        general.locator(".bio-properties-panel-group-header").click()
    name = page.locator("#bio-properties-panel-name")
    name.fill("Évaluer la situation avec la victime")
    name.press("Tab")
    page.wait_for_function("() => window.RelaisModeleur.get('elementRegistry')"
                           ".get('evaluer').businessObject.name.endsWith('victime')")
    page.click("#deployer")  # « Publier »: saves the draft, then publishes it
    page.wait_for_selector("#etat.message-ok:has-text('Publié')")
    assert "(orientation) version 2" in page.inner_text("#etat")

    with db.unit_of_work() as uow:
        newest = runtime.latest_version(uow, "orientation")
        assert newest.version == 2
        deployment = uow.session.get(Deployment, newest.deployment_id)
        assert deployment.source == "web"
        content = uow.session.scalars(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == deployment.id,
            DeploymentFile.name == "orientation.bpmn")).one()
        assert "Évaluer la situation avec la victime".encode() in content

    page.goto(admin.url("/admin/protocoles"))
    row = page.locator('tr[data-process-id="orientation"]').inner_text()
    assert re.search(r"orientation\s+Orientation vers une association\s+2\s+\S+ \S+\s+2", row)
    _screenshot(page, tmp_path, "protocoles.png")
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_refused_diagram_shows_its_problems_in_the_modeler(admin, db):
    with db.unit_of_work() as uow:
        runtime.deploy(uow, SYSTEM, {"orientation.bpmn": ORIENTATION.read_bytes()},
                       source="cli")
        uow.commit()
    page = admin.page
    page.goto(admin.url("/admin/protocoles/orientation/modifier"))
    page.wait_for_selector("#etat:has-text('Diagramme chargé')")
    page.evaluate("""() => {
        const m = window.RelaisModeleur;
        m.get('modeling').updateLabel(m.get('elementRegistry').get('Lane_ASSO'), 'INCONNU');
    }""")
    page.click("#deployer")
    page.wait_for_selector("#problemes:not([hidden])")
    assert "n'a pas été publié" in page.inner_text("#etat")
    problems = page.inner_text("#problemes")
    assert "Publication refusée" in problems and "INCONNU" in problems
    # The problem is marked on its element, and its item in the list selects it.
    page.wait_for_selector('#canevas .djs-element.relais-probleme[data-element-id="Lane_ASSO"]')
    page.click('#problemes-liste button[data-element-id="Lane_ASSO"]')
    assert page.evaluate("() => window.RelaisModeleur.get('selection').get()"
                         ".map(e => e.id)") == ["Lane_ASSO"]
    with db.unit_of_work() as uow:
        assert runtime.latest_version(uow, "orientation").version == 1
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_new_protocol_starts_from_a_blank_diagram_that_cannot_be_published(admin, db):
    page = admin.page
    page.goto(admin.url("/admin/protocoles/nouveau"))
    page.wait_for_selector("#etat:has-text('Diagramme chargé')")
    assert _element(page, "Lane_IS").count() == 1
    page.click("#deployer")  # « Publier »: saved as a draft, refused by the server
    page.wait_for_selector("#problemes:not([hidden])")
    problems = page.inner_text("#problemes")
    assert "événement de fin" in problems and "Situation repérée" in problems
    page.wait_for_selector('#canevas .djs-element.relais-probleme[data-element-id="debut"]')
    with db.unit_of_work() as uow:
        assert "nouveau_protocole" not in {v.process_id for v in runtime.latest_versions(uow)}
        assert [d.process_id for d in uow.session.scalars(select(ProtocolDraft))] == \
            ["nouveau_protocole"]
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_protocol_without_diagram_information_says_so(admin, db):
    with db.unit_of_work() as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": ESSAI.read_bytes()}, source="cli",
                       forms_dir=FIXTURE_FORMS)
        uow.commit()
    page = admin.page
    page.goto(admin.url("/admin/protocoles/essai"))
    page.wait_for_selector("#etat-diagramme:has-text('BPMNDI')")
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_other_roles_cannot_open_the_admin_pages(user_page):
    watched = user_page("demo-is")
    for path in ("/admin/protocoles", "/admin/protocoles/nouveau"):
        response = watched.page.goto(watched.url(path))
        assert response.status in (403, 404)
        assert "Accès refusé" in watched.page.inner_text("h1")
    assert "Protocoles" not in watched.page.inner_text("header")
