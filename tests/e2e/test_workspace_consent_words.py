"""The consent step shows what will be sent, to whom and why in words: the purpose's label,
the recipient organisation's name and kind, the data categories — never their codes."""

from __future__ import annotations

import re

from helpers import login
from protocol_support import GRANTED, Territory


def sheet_ready_for_consent(t: Territory) -> tuple[dict, dict]:
    """The IS has started the protocol and filled the sheet: (instance, consent task)."""
    instance = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", instance["id"], {"mode_saisine": "main_courante",
                                            "danger_immediat": False})
    t.complete("demo-is", instance["id"], {
        "victime_nom": "Lefèvre", "victime_prenom": "Alice", "date_faits": t.days(-1),
        "lieu_faits": "domicile_commun", "commune_faits": "Dijon", "violences": ["physiques"],
        "enfants_presents": False, "blessures": "aucune", "certificat_medical": "non",
        "faits_anterieurs": False, "suite_judiciaire": "main_courante",
        "auteur_lien": "conjoint"})
    return instance, t.task("demo-is", instance["id"])


def visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_consent_step_names_purpose_recipient_and_data_in_words(client, db, clock):
    _instance, checkpoint = sheet_ready_for_consent(Territory(client, db, clock))
    login(client, "demo-is")
    page = client.get(f"/taches/{checkpoint['id']}").get_data(as_text=True)
    text = visible(page)
    assert "Transmission de la fiche protocole violences conjugales" in text
    assert "Association" in text and "Infractions" in text and "Identité" in text
    assert "asso-victimes-demo" not in text and "vc_transmission" not in text


def test_the_situation_page_shows_the_consent_the_sent_sheet_and_its_receipt(client, db,
                                                                              clock):
    t = Territory(client, db, clock)
    instance, _checkpoint = sheet_ready_for_consent(t)
    t.complete("demo-is", instance["id"], GRANTED)
    [delivery] = [d for d in t.inbox("demo-asso") if d["instance_id"] == instance["id"]]
    t.acknowledge("demo-asso", delivery["id"])
    t.work()
    login(client, "demo-is")
    text = visible(client.get(f"/situations/{instance['case_id']}").get_data(as_text=True))
    assert "Consentement accordé" in text and "en vigueur" in text and "oralement" in text
    assert "Transmission de la fiche protocole violences conjugales" in text
    assert "envoyé à France Victimes (démo)" in text and "accusé de réception signé" in text
    assert "signé le" in text  # the receipt's date, in words
    assert "Consentement recueilli" in text and "envoyé" in text  # the timeline
    assert "asso-victimes-demo" not in text and "vc_transmission" not in text
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", text)
