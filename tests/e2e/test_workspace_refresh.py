"""Task lists refresh without a reload: the page carries its list's signature and a polite
live region; `/taches/liste` answers the list's current state (JSON, HTML fragment, words)."""

from __future__ import annotations

import re

from helpers import login
from protocol_support import Territory


def signature_of(html: str) -> str:
    return re.search(r'data-signature="([0-9a-f]+)"', html).group(1)


def test_the_list_changes_when_work_arrives_and_is_announced(client, db, clock):
    t = Territory(client, db, clock)
    login(client, "demo-is")
    before = {}
    for page_url, state_url in (("/taches", "/taches/liste"), ("/", "/taches/liste?accueil=1")):
        page = client.get(page_url).get_data(as_text=True)
        assert 'aria-live="polite"' in page and "/static/taches.js" in page
        assert "<script>" not in page  # strict CSP: no inline script
        before[state_url] = client.get(state_url).get_json()["signature"]
        assert before[state_url] == signature_of(page)
    instance = t.start("demo-is", "violence_conjugale")
    for state_url in ("/taches/liste", "/taches/liste?accueil=1"):
        after = client.get(state_url).get_json()
        assert after["signature"] != before[state_url]
        assert "Recevoir la situation" in after["html"]
        assert after["announce"].startswith("La liste de vos tâches a changé")
    assert t.task("demo-is", instance["id"])


def test_an_unchanged_list_keeps_its_signature_and_visitors_get_nothing(client, db, clock):
    login(client, "demo-is")
    first = client.get("/taches/liste").get_json()
    assert client.get("/taches/liste").get_json()["signature"] == first["signature"]
    client.post("/deconnexion", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)})
    answer = client.get("/taches/liste")
    assert answer.status_code in (302, 401) and answer.get_json(silent=True) is None
