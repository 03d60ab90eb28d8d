"""The consent screen's preview and the person's rights from the situation page: the
document that would leave, shown before the decision; the consent receipt; withdrawing a
consent with a confirmation step that names the pending transmission it cancels; the access
copy; a destruction request confirmed by the reference; the kept copy of a refusal."""

from __future__ import annotations

import io
import re

import docx
from helpers import csrf_from, login
from protocol_support import DOCX, GRANTED, REFUSED, Territory, docx_text
from sqlalchemy import select
from test_workspace_consent_words import sheet_ready_for_consent, visible

from engine.jobs import outbox
from engine.runtime.models import OutboxItem

SHEET = "Fiche protocole violences conjugales"


def switch(client, user: str) -> None:
    """Log out whoever is logged in, then log `user` in."""
    client.post("/deconnexion", data={"csrf_token": csrf_from(client.get("/").get_data(
        as_text=True))})
    login(client, user)


def test_the_consent_screen_shows_the_document_that_would_leave(client, db, clock):
    t = Territory(client, db, clock)
    instance, checkpoint = sheet_ready_for_consent(t)
    login(client, "demo-is")
    page = client.get(f"/taches/{checkpoint['id']}").get_data(as_text=True)
    text = visible(page)
    assert "Ce qui serait transmis à France Victimes (démo)" in text
    # What was typed, in the document's own words — not a download, not codes.
    preview = text[text.index("Ce qui serait transmis"):]
    assert "Lefèvre" in preview and "Alice" in preview and "Dijon" in preview
    assert "vc_transmission" not in preview and "{{" not in preview
    assert t.audit("routing.preview_shown")
    # Nothing left: no delivery until the person decides.
    assert not [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]


def test_a_task_that_is_not_a_consent_screen_shows_no_preview(client, db, clock):
    t = Territory(client, db, clock)
    instance = t.start("demo-is", "violence_conjugale")
    first = t.task("demo-is", instance["id"])
    login(client, "demo-is")
    assert "Ce qui serait transmis" not in client.get(f"/taches/{first['id']}").get_data(
        as_text=True)
    assert not t.audit("routing.preview_shown")


def granted_and_pending(t: Territory) -> tuple[dict, int]:
    """A consent given, its transmission still waiting in the outbox: (instance, consent)."""
    instance, checkpoint = sheet_ready_for_consent(t)
    t.post("demo-is", f"/tasks/{checkpoint['id']}/complete", {"data": GRANTED})
    with t.db.unit_of_work() as uow:  # the worker records the decision, and stops there
        recording = list(uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.status == "pending", OutboxItem.operator == "relais/record_consent")))
    for item_id in recording:
        outbox.run_item(t.db, item_id)
    [consent] = t.get("demo-is", f"/cases/{instance['case_id']}/consents")
    return instance, consent["id"]


def test_the_receipt_is_printed_from_the_situation_and_nobody_else_gets_it(client, db, clock):
    t = Territory(client, db, clock)
    instance, consent_id = granted_and_pending(t)
    case_url = f"/situations/{instance['case_id']}"
    login(client, "demo-is")
    page = client.get(case_url).get_data(as_text=True)
    receipt_url = f"{case_url}/consentements/{consent_id}/recu"
    assert receipt_url in page
    answer = client.get(receipt_url)
    assert answer.status_code == 200 and answer.mimetype == DOCX
    text = docx_text(answer.data)
    assert "vous acceptez ce partage" in text and "France Victimes (démo)" in text
    assert t.audit("consent.receipt_printed")
    # The same consent under another situation's address, and another organisation: 404.
    other = t.start("demo-is", "violence_conjugale")
    assert client.get(f"/situations/{other['case_id']}/consentements/{consent_id}/recu"
                      ).status_code == 404
    switch(client, "demo-asso")
    assert client.get(receipt_url).status_code == 404


def test_withdrawing_names_and_cancels_the_pending_transmission(client, db, clock):
    t = Territory(client, db, clock)
    instance, consent_id = granted_and_pending(t)
    case_url = f"/situations/{instance['case_id']}"
    login(client, "demo-is")
    withdraw_url = f"{case_url}/consentements/{consent_id}/retirer"
    assert withdraw_url in client.get(case_url).get_data(as_text=True)
    confirm = client.get(withdraw_url).get_data(as_text=True)
    assert f"« {SHEET} » à France Victimes (démo)" in visible(confirm)
    assert not t.audit("consent.withdrawn")  # the confirmation step changes nothing
    [still] = t.get("demo-is", f"/cases/{instance['case_id']}/consents")
    assert still["withdrawn_at"] is None
    done = client.post(withdraw_url, data={"csrf_token": csrf_from(confirm)},
                       follow_redirects=True)
    text = visible(done.get_data(as_text=True))
    assert "Consentement retiré" in text and "Transmission en attente annulée" in text
    assert f"« {SHEET} » à France Victimes (démo)" in text
    assert "retiré" in text and withdraw_url not in done.get_data(as_text=True)
    t.work()
    assert not [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]
    assert t.audit("consent.transmission_cancelled")


def test_withdrawal_is_refused_to_another_organisation(client, db, clock):
    t = Territory(client, db, clock)
    instance, consent_id = granted_and_pending(t)
    login(client, "demo-asso")
    url = f"/situations/{instance['case_id']}/consentements/{consent_id}/retirer"
    assert client.get(url).status_code == 404
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert not t.audit("consent.withdrawn")


def test_access_copy_and_destruction_confirmed_by_the_reference(client, db, clock):
    t = Territory(client, db, clock)
    instance, _consent_id = granted_and_pending(t)
    case_url = f"/situations/{instance['case_id']}"
    login(client, "demo-is")
    copy = client.get(f"{case_url}/copie-des-donnees")
    assert copy.status_code == 200 and copy.mimetype == DOCX
    docx.Document(io.BytesIO(copy.data))
    assert t.audit("consent.access_exported")
    form = client.get(f"{case_url}/destruction").get_data(as_text=True)
    wrong = client.post(f"{case_url}/destruction", data={"csrf_token": csrf_from(form),
                                                         "reference": "pas-la-bonne"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'aria-describedby="reference-aide reference-err"' in page
    assert 'value="pas-la-bonne"' in page and page.count('role="alert"') == 1
    assert not t.audit("consent.destruction_requested")
    reference = re.search(r"situation \(([^)]+)\)", visible(form)).group(1)
    done = client.post(f"{case_url}/destruction", data={"csrf_token": csrf_from(form),
                                                        "reference": reference},
                       follow_redirects=True)
    assert "sont détruites" in done.get_data(as_text=True)
    assert t.audit("consent.destruction_requested")
    t.work()
    assert not [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]


def test_the_kept_copy_of_a_refusal_opens_from_the_situation(client, db, clock):
    t = Territory(client, db, clock)
    instance, _checkpoint = sheet_ready_for_consent(t)
    t.complete("demo-is", instance["id"], REFUSED)
    t.work()
    login(client, "demo-is")
    page = client.get(f"/situations/{instance['case_id']}").get_data(as_text=True)
    links = re.findall(r'href="(/situations/pieces/\d+)"', page)
    assert links
    kept = client.get(links[0])
    assert kept.status_code == 200 and kept.mimetype == DOCX
    assert "Lefèvre" in docx_text(kept.data)
    switch(client, "demo-asso")
    assert client.get(links[0]).status_code == 404


def test_a_consent_end_date_in_the_past_is_a_field_error(client, db, clock):
    t = Territory(client, db, clock)
    instance, checkpoint = sheet_ready_for_consent(t)
    past = t.post("demo-is", f"/tasks/{checkpoint['id']}/complete",
                  {"data": {**GRANTED, "expires_on": t.days(-1)}}, status=422)
    assert [e["field"] for e in past["errors"]] == ["expires_on"]
    assert not t.get("demo-is", f"/cases/{instance['case_id']}/consents")
    login(client, "demo-is")
    page = client.get(f"/taches/{checkpoint['id']}").get_data(as_text=True)
    answer = client.post(f"/taches/{checkpoint['id']}", data={
        "csrf_token": csrf_from(page), "decision": "granted", "channel": "oral", "presented": "on",
        "given_by": "personne", "person": "P1", "expires_on": t.days(-1)})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="expires_on-err"' in html
    assert html.count('class="erreur-champ"') == 1
    assert re.search(r'aria-describedby="[^"]*expires_on-err"', html)
    today = t.post("demo-is", f"/tasks/{checkpoint['id']}/complete",
                   {"data": {**GRANTED, "expires_on": t.days(0)}})
    assert today is not None
    t.work()
    assert not t.incidents()
