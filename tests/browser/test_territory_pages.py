"""The organisation and territory pages in a real browser: the administrator creates an
organisation, then a territory whose partners are chosen with the keyboard; a wrong choice
is shown on its field; axe-core finds no serious or critical violation on either page."""

from __future__ import annotations

from browser.accessibility import axe_problems
from engine.identity import service as identity
from engine.territory import service as territories


def test_administrator_creates_an_organisation_and_a_territory(admin, db, axe_source):
    page = admin.page
    page.goto(admin.url("/admin/organisations"))
    assert page.inner_text("h1") == "Organisations"
    assert axe_problems(page, axe_source) == []

    # A refused slug comes back on its field, what was typed kept.
    page.fill("#name", "CRIP de l'Ouest")
    page.fill("#slug", "CRIP Ouest")
    page.select_option("#kind", "crip")
    page.click("text=Créer l'organisation")
    assert page.get_attribute("#slug", "aria-invalid") == "true"
    assert "minuscules" in page.inner_text("#slug-err")
    assert page.input_value("#name") == "CRIP de l'Ouest"
    assert axe_problems(page, axe_source) == []  # the page with its errors too

    page.fill("#slug", "crip-ouest")
    page.fill("#address", "10 quai de l'Ouest, 29200 Brest")
    page.click("text=Créer l'organisation")
    page.wait_for_url(admin.url("/admin/organisations/crip-ouest"))
    assert page.inner_text("h1") == "CRIP de l'Ouest"
    assert axe_problems(page, axe_source) == []

    # The territory, its partners chosen with the keyboard only.
    page.goto(admin.url("/admin/territoires/nouveau"))
    assert axe_problems(page, axe_source) == []
    page.focus("#name")
    page.keyboard.type("Territoire de l'Ouest")
    page.focus("#partner_CRIP")
    page.keyboard.type("CRIP de")  # type-ahead on the select picks « CRIP de l'Ouest »
    assert page.eval_on_selector("#partner_CRIP", "e => e.value") == "crip-ouest"
    assert axe_problems(page, axe_source) == []  # the edit page
    page.focus("#partner_CG_SOCIAL")
    page.keyboard.press("ArrowDown")  # the demo council, already in the demo territory
    assert page.eval_on_selector("#partner_CG_SOCIAL", "e => e.value") == "cd-demo"
    page.focus("main form button[type=submit]")
    page.keyboard.press("Enter")
    # The council belongs to the demo territory already: refused on its field.
    page.wait_for_selector("#partner_CG_SOCIAL-err")
    assert "appartient déjà au territoire" in page.inner_text("#partner_CG_SOCIAL-err")
    assert axe_problems(page, axe_source) == []
    page.select_option("#partner_CG_SOCIAL", "")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/admin/territoires/*")
    assert page.inner_text("h1") == "Territoire de l'Ouest"
    assert page.eval_on_selector("#partner_CRIP", "e => e.value") == "crip-ouest"
    assert axe_problems(page, axe_source) == []  # the edit page

    page.goto(admin.url("/admin/territoires"))
    assert "Territoire de l'Ouest" in page.inner_text("main")
    assert axe_problems(page, axe_source) == []
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "crip-ouest")
        assert territories.territory_of(uow, org.id).name == "Territoire de l'Ouest"
    admin.assert_clean()
