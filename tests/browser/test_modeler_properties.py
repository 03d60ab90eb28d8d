"""The modeler's properties panel in a real browser: what Relais executes is set without
touching XML (form, connector parameters, scripts, conditions), in French, accessibly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from browser.accessibility import axe_problems
from engine.audit.service import SYSTEM
from engine.runtime import service as runtime
from engine.runtime.models import Deployment, DeploymentFile

HERE = Path(__file__).parent
DIAGRAM = HERE / "modeleur_proprietes.bpmn"
PROCESS = "suivi_presence"


def _deploy_fixture(db) -> None:
    with db.unit_of_work() as uow:
        runtime.deploy(uow, SYSTEM, {"modeleur_proprietes.bpmn": DIAGRAM.read_bytes()},
                       source="cli")
        uow.commit()


def _open_modeler(admin) -> object:
    page = admin.page
    page.goto(admin.url(f"/admin/protocoles/{PROCESS}/modifier"))
    page.wait_for_selector("#etat:has-text('Diagramme chargé')")
    return page


def _select(page, element_id: str, click: bool = True) -> None:
    if click:
        page.locator(f'#canevas .djs-element[data-element-id="{element_id}"]').click()
    else:  # a thin connection: selected as a click on it would
        page.evaluate("id => window.RelaisModeleur.get('selection').select("
                      "window.RelaisModeleur.get('elementRegistry').get(id))", element_id)
    page.wait_for_function(
        "id => window.RelaisModeleur.get('selection').get().map(e => e.id).includes(id)",
        arg=element_id)


def _group(page, group_id: str):
    """The properties panel's group, opened."""
    group = page.locator(f"#proprietes [data-group-id='group-{group_id}']")
    group.wait_for()
    if not group.locator(".bio-properties-panel-group-entries.open").count():
        group.locator(".bio-properties-panel-group-header").first.click()
    return group


def _deployed_xml(db) -> str:
    with db.unit_of_work() as uow:
        newest = runtime.latest_version(uow, PROCESS)
        deployment = uow.session.get(Deployment, newest.deployment_id)
        return uow.session.scalars(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == deployment.id,
            DeploymentFile.name == DIAGRAM.name)).one().decode()


def publish_from_modeler(page, changed: tuple[str, ...] = ()) -> str:
    """Saves a draft, reads what changed (each of `changed` marked as modified), then
    publishes the draft; returns the text of the page the administrator lands on."""
    page.click("#enregistrer")
    page.wait_for_selector("#etat.message-ok:has-text('Brouillon enregistré')")
    page.click("#changements")
    page.wait_for_selector("#liste-changements li")
    changes = page.inner_text("#liste-changements")
    for name in changed:
        assert name in changes, changes
    assert "Supprimé" not in changes
    page.click("#publier")
    page.wait_for_selector("main :text('Publié')")
    return page.inner_text("main")


def test_form_and_connector_parameter_changed_in_the_panel_reach_the_users(
        admin, user_page, db, axe_source):
    _deploy_fixture(db)
    page = _open_modeler(admin)

    _select(page, "saisir")
    group = _group(page, "relais-formulaire")
    form = group.locator("[data-entry-id='relais-formulaire-fichier'] select")
    assert form.input_value() == "cm_presence.json"
    form.select_option("vc_relance.json")
    page.wait_for_function("() => window.RelaisModeleur.get('elementRegistry').get('saisir')"
                           ".businessObject.extensionElements.values[0].properties[0].value"
                           " === 'vc_relance.json'")
    group.get_by_role("button", name="Afficher l'aperçu du formulaire").click()
    preview = group.locator(".apercu-formulaire")
    preview.wait_for()
    assert "Relance faite par" in preview.inner_text()
    assert preview.locator("fieldset[disabled]").count() == 1
    role = group.locator("[data-entry-id='relais-tache-role'] select")
    assert role.input_value() == "IS"
    assert axe_problems(page, axe_source) == []

    _select(page, "echeance")
    connector = _group(page, "relais-connecteur")
    assert connector.locator("select").first.input_value() == "relais/due_date"
    assert "jours ouvrés" in connector.inner_text()
    parameters = _group(page, "relais-parametres")
    item = parameters.locator(".bio-properties-panel-list-item").first
    assert "working_days (obligatoire)" in item.inner_text()
    item.locator(".bio-properties-panel-collapsible-entry-header").click()
    value = item.locator("[data-entry-id='relais-parametre-0-valeur'] input")
    assert value.input_value() == "5"
    value.fill("10")
    value.press("Tab")
    page.wait_for_function(
        "() => window.RelaisModeleur.get('elementRegistry').get('echeance').businessObject"
        ".extensionElements.values[0].parameterList.parameters[0].value === '10'")
    assert "Nombre de jours ouvrés" in item.inner_text()
    assert axe_problems(page, axe_source) == []

    assert "Publié" in publish_from_modeler(page, ("Noter la présence",
                                                   "Calculer l'échéance"))
    xml = _deployed_xml(db)
    assert '<spiffworkflow:property name="formJsonSchemaFilename" value="vc_relance.json"' in xml
    assert '<spiffworkflow:parameter id="working_days" type="int" value="10"' in xml
    assert "cm_presence.json" not in xml
    admin.assert_clean()

    social_worker = user_page("demo-is")
    work = social_worker.page
    work.goto(social_worker.url("/protocoles"))
    work.get_by_role("button", name="Lancer Suivi de présence").click()
    work.wait_for_url("**/taches/*")
    task = work.inner_text("main")
    assert "Relance faite par" in task and "Au rendez-vous" not in task
    social_worker.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_invalid_script_shows_the_french_problem_next_to_the_field(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    _select(page, "preparer")
    group = _group(page, "relais-script")
    check = group.locator("#relais-script-verification")
    check.locator("text=Script accepté.").wait_for()
    source = group.locator("[data-entry-id='relais-script-source'] textarea")
    source.fill("import os\nrelances = 0")
    check.locator("text=Expression refusée").wait_for()
    assert "relais-erreur" in check.get_attribute("class")
    assert check.get_attribute("role") == "status"

    _select(page, "f_suite", click=False)
    condition = _group(page, "relais-condition")
    expression = condition.locator("[data-entry-id='relais-condition-expression'] textarea")
    assert expression.input_value() == 'presence == "presents"'
    condition.locator("text=Expression acceptée.").wait_for()
    expression.fill('presence == ')
    condition.locator("text=Expression refusée").wait_for()
    admin.assert_clean()


# Words bpmn.io shows in English when a translation is missing (« Cycle », « Date », « Type »,
# « Script », « Condition », « Message », « Documentation » are French too).
ENGLISH = re.compile(r"\b(No Issues|Issues|Errors?|Warnings?|Toggle|Create|Delete|Append|"
                     r"Activate|Connect|Change|Element|Name|General|Value|Duration|Timer|"
                     r"Gateway|Event|Task|Flow|Lane|Participant|Process|Search|Open|Add|Divide|"
                     r"Executable|Properties|Section|List contains|item|Powered|missing|"
                     r"USER TASK|User Task|Select|empty|none)\b")
VISIBLE_WORDS = """() => [...document.querySelectorAll('#modeleur *')]
    .filter(e => e.offsetParent !== null || e.closest('[title]'))
    .flatMap(e => [e.getAttribute('title'), e.getAttribute('aria-label'),
                   e.getAttribute('placeholder'),
                   ...[...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent)])
    .filter(Boolean).map(t => t.trim()).filter(Boolean)"""


def _open_all_groups(page) -> None:
    for header in page.locator("#proprietes .bio-properties-panel-group-header").all():
        if not header.locator("xpath=..").locator(
                ".bio-properties-panel-group-entries.open").count():
            header.click()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_english_in_the_modeler(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    shown: set[str] = set(page.evaluate(VISIBLE_WORDS))
    for element_id, click in (("saisir", True), ("echeance", True), ("preparer", True),
                              ("attente", True), ("choix", True), ("f_suite", False),
                              ("Lane_IS", False), ("Participant_proprietes", False)):
        _select(page, element_id, click)
        _open_all_groups(page)
        shown |= set(page.evaluate(VISIBLE_WORDS))
    page.locator(".bjsl-button").click()  # the linter's badge and its overlays
    shown |= set(page.evaluate(VISIBLE_WORDS))
    _select(page, "saisir")
    page.locator(".djs-context-pad [data-action='replace']").click()  # « Changer le type »
    page.locator(".djs-popup").wait_for()
    shown |= set(page.evaluate(VISIBLE_WORDS))
    page.keyboard.press("Escape")
    assert ENGLISH.search("No Issues") and ENGLISH.search("USER TASK")  # the net holds
    english = sorted(text for text in shown if ENGLISH.search(text))
    assert english == []
    assert {"Général", "Formulaire", "Connecteur", "Minuterie",
            "Tâche utilisateur"} <= shown | {t.capitalize() for t in shown}
    assert page.evaluate("() => [...RelaisBpmn.missingTranslations]") == []
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_diagram_viewer_and_the_linter_badge_pass_axe(admin, db, axe_source):
    _deploy_fixture(db)
    page = admin.page
    page.goto(admin.url(f"/admin/protocoles/{PROCESS}"))
    page.wait_for_selector('#visionneuse .djs-element[data-element-id="saisir"]')
    assert axe_problems(page, axe_source) == []
    page = _open_modeler(admin)
    page.locator(".bjsl-button").wait_for()
    assert axe_problems(page, axe_source) == []
    page.locator(".bjsl-button").click()  # overlays shown: still no serious violation
    assert axe_problems(page, axe_source) == []
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_import_problems_are_french_and_name_the_element(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    say = "text => RelaisBpmn.frenchImportMessage(new Error(text))"
    parser = page.evaluate(say, "unparsable content <bpmn:userTask> detected\n\tline: 12\n\t"
                                "column: 3\n\tnested error: missing start tag")
    assert "ligne 12" in parser and "userTask" in parser
    assert "nested" not in parser and "missing" not in parser
    assert page.evaluate(say, "unresolved reference <Flow_1>") == \
        "Référence introuvable : « Flow_1 » n'existe pas dans le diagramme."
    assert page.evaluate(say, 'failed to import <bpmn:UserTask id="saisir" />') == \
        "L'élément « saisir » (Tâche utilisateur) n'a pas pu être affiché."
    assert "BPMNDI" in page.evaluate(say, "no diagram to display")
    assert page.evaluate(say, "something else entirely") == \
        "Le diagramme n'a pas pu être lu entièrement."
    admin.assert_clean()


SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ROUND_TRIP = """async (xml) => {
    const modeler = window.RelaisModeleur;
    const imported = await modeler.importXML(xml);
    const saved = await modeler.saveXML({ format: true });
    return { warnings: imported.warnings.map(w => w.message), xml: saved.xml };
}"""


def _executed(xml: str) -> list[tuple]:
    """What the runtime executes, element by element: spiffworkflow extensions, scripts,
    conditions and timers, with their owner's id."""
    from engine.runtime.reading import parse_xml

    root = parse_xml(xml.encode("utf-8"))
    found = []
    for node in root.iter(f"{{{SPIFF}}}*", f"{{{BPMN}}}script",
                          f"{{{BPMN}}}conditionExpression", f"{{{BPMN}}}timeDuration",
                          f"{{{BPMN}}}timeDate", f"{{{BPMN}}}timeCycle"):
        owner = next(a for a in node.iterancestors() if a.get("id"))
        found.append((owner.get("id"), node.tag, tuple(sorted(node.attrib.items())),
                      (node.text or "").strip()))
    return sorted(found)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_bundled_protocols_keep_what_relais_executes_through_the_modeler(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    files = [*sorted((HERE.parents[1] / "workflows").glob("*/*.bpmn")), DIAGRAM]
    assert len(files) >= 8
    for path in files:
        original = path.read_text(encoding="utf-8")
        result = page.evaluate(ROUND_TRIP, original)
        assert result["warnings"] == [], path.name
        assert _executed(result["xml"]) == _executed(original), path.name
        assert _executed(original), path.name
    admin.assert_clean()


SELECT_EVERY_ELEMENT = """async (xml) => {
    const modeler = window.RelaisModeleur;
    await modeler.importXML(xml);
    const selection = modeler.get('selection');
    const seen = new Set();  // one element of each kind
    for (const element of modeler.get('elementRegistry').getAll()) {
        const bo = element.businessObject || {};
        const kind = element.type + (bo.eventDefinitions || []).map(d => d.$type).join() +
            (bo.sourceRef && bo.sourceRef.$type || '');
        if (seen.has(kind)) { continue; }
        seen.add(kind);
        selection.select(element);
        await new Promise(resolve => setTimeout(resolve, 0));
        document.querySelectorAll('#proprietes .bio-properties-panel-group-header')
            .forEach(header => header.click());
        await new Promise(resolve => setTimeout(resolve, 0));
    }
    return [...RelaisBpmn.missingTranslations];
}"""


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_element_of_the_bundled_protocols_has_its_properties_in_french(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    for path in sorted((HERE.parents[1] / "workflows").glob("*/*.bpmn")):
        assert page.evaluate(SELECT_EVERY_ELEMENT, path.read_text(encoding="utf-8")) == [], \
            path.name
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_consent_checkpoint_picks_its_codes_from_the_catalogue(admin, db, axe_source):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    _select(page, "saisir")
    _group(page, "relais-formulaire").locator(
        "[data-entry-id='relais-formulaire-fichier'] select").select_option("consentement.json")
    purposes = _group(page, "relais-consentement-finalites")
    purposes.get_by_label("Partage de l'orientation au sein du binôme IS / infirmier de CMP "
                          "(cmp_sharing)").check()
    categories = _group(page, "relais-consentement-categories")
    categories.get_by_label("santé (HEALTH)").check()
    categories.get_by_label("identité (ID)").check()
    recipients = _group(page, "relais-consentement-destinataires").locator("input")
    recipients.fill("[cmp_designe]")
    recipients.press("Tab")
    properties = """() => Object.fromEntries(window.RelaisModeleur.get('elementRegistry')
        .get('saisir').businessObject.extensionElements.values[0].properties
        .map(p => [p.name, p.value]))"""
    page.wait_for_function(f"() => ({properties})()['prefill.recipients'] === '[cmp_designe]'")
    assert page.evaluate(properties) == {
        "formJsonSchemaFilename": "consentement.json",
        "prefill.purposes": "['cmp_sharing']",
        "prefill.categories": "['HEALTH', 'ID']",
        "prefill.recipients": "[cmp_designe]",
    }
    categories.get_by_label("santé (HEALTH)").uncheck()
    page.wait_for_function(f"() => ({properties})()['prefill.categories'] === \"['ID']\"")
    assert axe_problems(page, axe_source) == []
    admin.assert_clean()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_new_service_task_gets_its_connector_and_required_parameters(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    page.evaluate("""() => {
        const m = window.RelaisModeleur, registry = m.get('elementRegistry');
        const task = m.get('elementFactory').createShape({ type: 'bpmn:ServiceTask',
                                                          id: 'nouvelle' });
        m.get('modeling').createShape(task, { x: 700, y: 260 }, registry.get('Lane_IS'));
    }""")
    _select(page, "nouvelle", click=False)
    _group(page, "relais-connecteur").locator("select").first.select_option(
        "relais/transmit_document")
    parameters = _group(page, "relais-parametres")
    items = parameters.locator(".bio-properties-panel-list-item")
    items.nth(3).wait_for()
    assert [" ".join(t.split()) for t in items.all_inner_texts()] == [
        "template (obligatoire)", "recipient (obligatoire)", "purpose (obligatoire)",
        "categories (obligatoire)"]
    parameters.get_by_title("Ajouter un élément à la liste").click()  # the next documented one
    items.nth(4).wait_for()
    saved = page.evaluate("async () => (await window.RelaisModeleur.saveXML()).xml")
    assert '<spiffworkflow:serviceTaskOperator id="relais/transmit_document">' in saved
    assert '<spiffworkflow:parameter id="categories" type="list" value="" />' in saved
    assert '<spiffworkflow:parameter id="document_name" type="str" value="" />' in saved
    items.nth(4).locator(".bio-properties-panel-remove-entry, [title='Supprimer l\\'élément']") \
        .first.click()
    page.wait_for_function("() => !window.RelaisModeleur.get('elementRegistry').get('nouvelle')"
                           ".businessObject.extensionElements.values[0].parameterList"
                           ".parameters.some(p => p.id === 'document_name')")
    admin.assert_clean()
