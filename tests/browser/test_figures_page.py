"""« Chiffres » in a real browser: the comité de suivi sees the figures of two organisations,
charts drawn as images that load under the strict CSP, each followed by its table; it cannot
open a situation. axe-core finds no serious or critical violation; the page holds at 390 px."""

from __future__ import annotations

from datetime import date

import pytest

from browser.accessibility import axe_problems, too_wide
from engine.db import transaction
from engine.identity import service as identity
from engine.situations import service as situations


def _received(db, count: int) -> str:
    """`count` people received by the demo IS this year; the reference of the last one."""
    today = date.today()
    with transaction(db) as uow:
        principal = identity.principal_for(identity.get_user(uow, "demo-is"))
        for i in range(count):
            raw = {"nom": f"Personne{i}", "prenoms": "Essai", "naissance": "1980-05-04",
                   "commune": "Trappes", "qualite": "victime" if i % 3 else "auteur",
                   "arrivee": "police", "recu_le": today.isoformat(),
                   "problematiques": ["logement"], "orientations": [],
                   "connu_service_social": "non"}
            reception = situations.receive(uow, principal,
                                           situations.parse_reception(raw, today))
        return str(reception.case_id)


@pytest.mark.usefixtures("live_server")
def test_the_comite_sees_two_organisations_figures_and_no_situation(db, user_page,
                                                                   axe_source):
    case_id = _received(db, 24)
    watched = user_page("demo-comite")
    page = watched.page
    page.get_by_role("link", name="Chiffres").click()
    page.wait_for_url("**/chiffres")
    main = page.inner_text("main")
    assert "Association ISCG (démo)" in main and "France Victimes (démo)" in main
    assert page.locator("table caption").count() >= 10
    first = page.locator("img.graphique").first
    first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=first.element_handle())
    assert axe_problems(page, axe_source) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert too_wide(page) == []
    response = page.goto(watched.url(f"/situations/{case_id}"))
    assert response.status == 404
    watched.assert_clean()
