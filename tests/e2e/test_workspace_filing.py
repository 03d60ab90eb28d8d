"""« Classer dans un dossier »: the association files two sheets received two years apart
into one dossier of the victim, from the inbox, without typing any delivery number."""

from __future__ import annotations

import re

from helpers import csrf_from, login
from protocol_support import GRANTED, Territory
from test_workspace_consent_words import sheet_ready_for_consent, visible
from test_workspace_rights import switch


def sheet_sent(t: Territory) -> int:
    """The IS sends a sheet to the association: its delivery id."""
    instance, _checkpoint = sheet_ready_for_consent(t)
    t.complete("demo-is", instance["id"], GRANTED)
    [delivery] = [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]
    return delivery["id"]


def file(client, delivery_id: int, choice: str | None, query: str = ""):
    page = client.get(f"/recus/{delivery_id}/classer").get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "classer": "1", "q": query}
    if choice is not None:
        data["dossier"] = choice
    return client.post(f"/recus/{delivery_id}/classer", data=data)


def test_two_sheets_two_years_apart_go_into_one_dossier(client, db, clock):
    t = Territory(client, db, clock)
    first = sheet_sent(t)
    login(client, "demo-asso")
    inbox = client.get("/recus").get_data(as_text=True)
    assert f"/recus/{first}/classer" in inbox
    opened = file(client, first, "nouveau")
    assert opened.status_code == 302
    dossier_url = opened.headers["Location"]
    case_id = int(re.search(r"/situations/(\d+)", dossier_url).group(1))
    t.work()
    assert f"/recus/{first}/classer" not in client.get("/recus").get_data(as_text=True)
    assert t.delivery("demo-is", first)["status"] == "acknowledged"

    t.later(days=730)
    second = sheet_sent(t)
    login(client, "demo-asso")  # two years later: a new session
    choose = client.get(f"/recus/{second}/classer").get_data(as_text=True)
    assert f'value="{case_id}"' in choose  # the existing dossier is offered
    filed = file(client, second, str(case_id))
    assert filed.status_code == 302 and filed.headers["Location"].endswith(f"/{case_id}")
    t.work()
    pieces = t.pieces("demo-asso", case_id)
    assert [p["delivery_id"] for p in pieces] == [first, second]  # oldest first
    page = visible(client.get(f"/situations/{case_id}").get_data(as_text=True))
    assert page.count("Fiche protocole violences conjugales") >= 2


def test_filing_answers_on_the_field_and_refuses_what_is_not_yours(client, db, clock):
    t = Territory(client, db, clock)
    delivery = sheet_sent(t)
    login(client, "demo-asso")
    missing = file(client, delivery, None)
    page = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'aria-describedby="dossier-err"' in page
    assert page.count('role="alert"') == 1
    assert file(client, delivery, "999999").status_code == 404  # an unknown dossier
    assert file(client, delivery, "nouveau").status_code == 302
    assert client.get(f"/recus/{delivery}/classer").status_code == 409  # already filed
    switch(client, "demo-is")  # the sender cannot file what it sent
    assert client.get(f"/recus/{delivery}/classer").status_code == 404


def test_a_delivery_number_the_connector_would_refuse_is_a_field_error(client, db, clock):
    t = Territory(client, db, clock)
    delivery = sheet_sent(t)
    dossier = t.start("demo-asso", "violence_conjugale_dossier")
    t.complete("demo-asso", dossier["id"], {"action": "classer"})
    task = t.task("demo-asso", dossier["id"])
    # The API: RFC 9457 with the error on the field; nothing accepted, no incident.
    wrong = t.post("demo-asso", f"/tasks/{task['id']}/complete", {"data": {"envoi": 987654}},
                   status=422)
    problem = wrong
    assert [e["field"] for e in problem["errors"]] == ["envoi"]
    assert "Documents reçus" in problem["errors"][0]["message"]
    assert t.task("demo-asso", dossier["id"])["id"] == task["id"]  # still to do
    assert not t.incidents()
    # The page: French error tied to the field, what was typed kept.
    login(client, "demo-asso")
    page = client.get(f"/taches/{task['id']}").get_data(as_text=True)
    answer = client.post(f"/taches/{task['id']}", data={"csrf_token": csrf_from(page),
                                                        "envoi": "987654"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="envoi-err"' in html
    assert re.search(r'aria-describedby="[^"]*envoi-err"', html)
    assert 'value="987654"' in html and html.count('role="alert"') == 1
    # The right number is accepted and filed.
    t.complete("demo-asso", dossier["id"], {"envoi": delivery})
    assert [p["delivery_id"] for p in t.pieces("demo-asso", dossier["case_id"])] == [delivery]
    assert not t.incidents()
