"""The workspace in a real browser: the IS receives a person, later finds her by the first
three letters of her name and opens her situation; police see no situation and start only
their own protocols. axe-core (from npm, read from node_modules, never from another site)
finds no serious or critical violation on those pages; they hold at 390 px wide."""

from __future__ import annotations

from browser.accessibility import axe_problems, too_wide


def test_the_is_receives_a_person_then_finds_her_by_three_letters(user_page, axe_source):
    watched = user_page("demo-is")
    page = watched.page
    page.get_by_role("link", name="Recevoir une personne").first.click()
    page.wait_for_url("**/situations/recevoir")
    assert axe_problems(page, axe_source) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []  # the register form holds on a phone
    page.set_viewport_size({"width": 1400, "height": 900})
    page.click("main form button[type=submit]")  # empty: errors on the fields, one summary
    page.wait_for_load_state()
    assert page.locator("[role=alert]").count() == 1
    assert page.get_attribute("#nom", "aria-describedby") == "nom-err"
    page.fill("#nom", "Lefèvre")
    page.fill("#prenoms", "Élodie")
    page.fill("#naissance", "1985-03-02")
    page.fill("#commune", "la verriere")  # typed without accents: mapped
    page.check("input[name=qualite][value=victime]")
    page.check("input[name=arrivee][value=police]")
    page.check("input[name=problematiques][value=violences_conjugales]")
    page.check("input[name=connu_service_social][value=non]")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/situations/*")
    assert "Élodie LEFÈVRE" in page.inner_text("h1")
    assert axe_problems(page, axe_source) == []

    page.goto(watched.url("/"))
    page.get_by_role("link", name="Mes situations").first.click()
    page.fill("#q", "Lef")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the search works from the keyboard
    assert "Lef" not in page.url  # a posted search: no name in the address
    assert "1 situation trouvée" in page.inner_text("main")
    assert axe_problems(page, axe_source) == []
    page.get_by_role("link", name="Élodie LEFÈVRE").click()
    page.wait_for_url("**/situations/*")
    assert "La Verrière" in page.inner_text("main") and "2 mars 1985" in page.inner_text("main")

    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []
    page.goto(watched.url("/situations"))
    assert too_wide(page) == []

    page.get_by_role("link", name="Élodie LEFÈVRE").click()  # start a protocol on her situation
    page.select_option("#protocole", "violence_conjugale")
    page.get_by_role("button", name="Lancer").click()
    page.wait_for_url("**/taches/*")
    assert "Élodie LEFÈVRE" in page.inner_text("main")  # the task says whose situation it is
    assert axe_problems(page, axe_source) == []
    page.goto(watched.url("/taches"))
    assert "Élodie LEFÈVRE" in page.inner_text("main")
    assert axe_problems(page, axe_source) == [] and too_wide(page) == []
    watched.assert_clean()


def test_police_see_no_situation_and_only_the_protocols_they_start(user_page, axe_source):
    watched = user_page("demo-police")
    page = watched.page
    menu = page.inner_text("nav.menu")
    assert "Mes situations" not in menu
    assert axe_problems(page, axe_source) == []
    response = page.goto(watched.url("/situations"))
    assert response.status == 403
    page.goto(watched.url("/protocoles"))
    starts = {form.get_attribute("action").rsplit("/", 2)[-2]
              for form in page.locator("form[action$='/lancer']").all()}
    # Police start the orientation to the IS and the requisition (issue 12), nothing else.
    assert starts <= {"orientation_is", "requisition_judiciaire"}
    watched.assert_clean()


def test_the_itp_calendar_is_accessible_and_fits_a_phone(user_page, axe_source):
    watched = user_page("demo-itp")
    page = watched.page
    page.get_by_role("link", name="Calendrier de l'ITP").click()
    page.wait_for_url("**/itp")
    assert axe_problems(page, axe_source) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []
    watched.assert_clean()
