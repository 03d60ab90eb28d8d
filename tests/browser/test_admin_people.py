"""In Chromium: the administrator lands on the console after the second factor, sees its
sections, creates an account with a role; that person logs in with the temporary password,
chooses their own and reaches their home page. axe finds no serious or critical violation on
the console home, the users list, an account's page (with a refusal shown) and the tokens."""

from __future__ import annotations

import re

from browser.accessibility import axe_problems
from browser.conftest import Watched

NEW_PASSWORD = "mon-mot-de-passe-choisi"


def _axe_clean(watched: Watched, axe_source: str) -> None:
    assert axe_problems(watched.page, axe_source) == [], watched.page.url
    watched.assert_clean()


def test_the_administrator_creates_an_account_that_logs_in(admin, new_page, axe_source):
    page = admin.page
    # The console home: the sections that exist, and the header's « Administration » link.
    assert page.url == admin.url("/admin/")
    sections = page.locator("ul.sections-admin a").all_inner_texts()
    assert sections[:1] == ["Protocoles"] and "Utilisateurs" in sections
    assert "Jetons d'API" in sections and "Webhooks" in sections
    assert page.get_by_role("navigation", name="Compte").get_by_role(
        "link", name="Administration").count() == 1
    _axe_clean(admin, axe_source)

    page.get_by_role("link", name="Utilisateurs", exact=True).first.click()
    page.wait_for_url(admin.url("/admin/utilisateurs"))
    _axe_clean(admin, axe_source)
    page.get_by_role("link", name="Créer un compte").click()
    page.get_by_label("Identifiant de connexion").fill("noe.dupont")
    page.get_by_label("Nom affiché").fill("Noé Dupont")
    page.get_by_label("Organisation").select_option(label="Centre médico-psychologique (démo)")
    page.get_by_label("Rôle").select_option("CMP")
    page.get_by_role("button", name="Créer le compte").click()
    temporary = page.locator("#mot-de-passe-provisoire code.secret").inner_text()
    assert re.fullmatch(r"[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}", temporary)
    assert "Infirmier·e de CMP" in page.locator("table").first.inner_text()
    _axe_clean(admin, axe_source)  # the account's page

    # A refusal is shown on its field, and the page stays accessible.
    page.get_by_role("button", name="Réinitialiser le second facteur").click()
    assert page.locator("#reason-err").is_visible()
    assert page.locator("#reason").get_attribute("aria-invalid") == "true"
    _axe_clean(admin, axe_source)

    page.goto(admin.url("/admin/jetons"))
    assert page.locator("h1").inner_text() == "Jetons d'API"
    _axe_clean(admin, axe_source)

    # The new person logs in, must choose a password, then reaches their home page.
    person = new_page()
    person.page.goto(person.url("/connexion"))
    person.page.fill("#username", "noe.dupont")
    person.page.fill("#password", temporary)
    person.page.click("button[type=submit]")
    person.page.wait_for_url("**/connexion/nouveau-mot-de-passe")
    _axe_clean(person, axe_source)
    person.page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    person.page.get_by_label("Confirmez le mot de passe").fill(NEW_PASSWORD)
    person.page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    person.page.wait_for_url(person.url("/"))
    assert "Noé Dupont" in person.page.inner_text("header")
    assert person.page.get_by_role("link", name="Administration").count() == 0
    person.assert_clean()
