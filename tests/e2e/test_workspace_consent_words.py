"""The consent step shows what will be sent, to whom and why in words: the purpose's label,
the recipient organisation's name and kind, the data categories — never their codes."""

from __future__ import annotations

import re

from helpers import login
from protocol_support import Territory


def test_the_consent_step_names_purpose_recipient_and_data_in_words(client, db, clock):
    t = Territory(client, db, clock)
    instance = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", instance["id"], {"mode_saisine": "main_courante",
                                            "danger_immediat": False})
    t.complete("demo-is", instance["id"], {
        "victime_nom": "Lefèvre", "victime_prenom": "Alice", "date_faits": t.days(-1),
        "lieu_faits": "domicile_commun", "commune_faits": "Dijon", "violences": ["physiques"],
        "enfants_presents": False, "blessures": "aucune", "certificat_medical": "non",
        "faits_anterieurs": False, "suite_judiciaire": "main_courante",
        "auteur_lien": "conjoint"})
    checkpoint = t.task("demo-is", instance["id"])
    login(client, "demo-is")
    page = client.get(f"/taches/{checkpoint['id']}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    assert "Transmission de la fiche protocole violences conjugales" in text
    assert "Association" in text and "Infractions" in text and "Identité" in text
    assert "asso-victimes-demo" not in text and "vc_transmission" not in text
