import pytest
from browser.test_modeler_properties import _deploy_fixture, _open_modeler, _select, _group

@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_debug(admin, db):
    _deploy_fixture(db)
    page = _open_modeler(admin)
    texts = []
    texts.append(page.evaluate("() => [...document.querySelectorAll('#modeleur [title], #modeleur [aria-label], #modeleur [placeholder]')].map(e => (e.title||'') + '|' + (e.getAttribute('aria-label')||'') + '|' + (e.placeholder||'')).join('\\n')"))
    for el, click in (("saisir", True), ("echeance", True), ("preparer", True), ("attente", True), ("f_suite", False), ("Lane_IS", False), ("Participant_proprietes", False), ("choix", True)):
        _select(page, el, click=click)
        page.wait_for_timeout(300)
        for h in page.locator("#proprietes .bio-properties-panel-group-header").all():
            try:
                if not h.locator("xpath=..").locator(".bio-properties-panel-group-entries.open").count():
                    h.click()
            except Exception:
                pass
        page.wait_for_timeout(300)
        texts.append(el + "::" + page.inner_text("#proprietes"))
        texts.append(page.evaluate("() => [...document.querySelectorAll('#modeleur [title], #modeleur [aria-label], #modeleur [placeholder]')].map(e => (e.title||'') + '|' + (e.getAttribute('aria-label')||'') + '|' + (e.placeholder||'')).join('\\n')"))
    page.locator(".bjsl-button").click()
    page.wait_for_timeout(500)
    texts.append("LINT::" + page.evaluate("() => [...document.querySelectorAll('.bjsl-overlay, .bjsl-dropdown, .bjsl-button, .bjsl-issues')].map(e => e.innerText).join('\\n')"))
    _select(page, "saisir")
    page.locator(".djs-context-pad [data-action='replace']").click()
    page.wait_for_timeout(500)
    texts.append("POPUP::" + page.inner_text(".djs-popup"))
    print("POPUPED", page.evaluate("() => [...document.querySelectorAll('[title=\"Open pop-up editor\"]')].map(e => e.closest('[data-entry-id]') && e.closest('[data-entry-id]').dataset.entryId)"))
    open("/tmp/h1/texts.txt", "w").write("\n".join(texts))
    open("/tmp/h1/missing.txt", "w").write("\n".join(page.evaluate("() => [...RelaisBpmn.missingTranslations]")))
    print("PROBLEMS", admin.problems)
