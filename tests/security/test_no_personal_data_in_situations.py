"""Invariant 1 for the workspace: names typed into the register of people received, the search
index built from them, the searches made and the notes of a situation never rest in clear —
not in the database file or a PostgreSQL dump, not in the logs. The marker's normalised form
(lower case, as the index hashes it) and its search prefix are looked for too."""

from __future__ import annotations

import logging
import re
import uuid

from helpers import csrf_from, login
from test_no_personal_data_at_rest import _database_bytes


def test_register_names_index_and_notes_never_rest_in_clear(client, db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    marker = f"Marqueur{uuid.uuid4().hex[:12]}"
    login(client, "demo-is")
    form = client.get("/situations/recevoir").get_data(as_text=True)
    today = re.search(r'name="recu_le" type="date" value="([^"]+)"', form).group(1)
    received = client.post("/situations/recevoir", data={
        "csrf_token": csrf_from(form), "nom": f"{marker}nom", "prenoms": f"{marker}prenom",
        "naissance": "1985-03-02", "commune": "Plaisir", "qualite": "victime",
        "arrivee": "police", "recu_le": today, "connu_service_social": "non"})
    assert received.status_code == 302
    situation = received.headers["Location"]
    page = client.get(situation).get_data(as_text=True)
    noted = client.post(f"{situation}/notes", data={"csrf_token": csrf_from(page),
                                                    "note": f"{marker}note"})
    assert noted.status_code == 302
    found = client.post("/situations", data={"q": marker[:10], "csrf_token": csrf_from(
        page)}).get_data(as_text=True)
    assert situation in found  # the index works on the marker...
    shown = client.get(situation).get_data(as_text=True)
    assert f"{marker}note" in shown and "Plaisir" in shown  # ...and reads back
    db.engine.dispose()

    stored = _database_bytes(settings)
    for needle in (marker, marker.lower(), marker[:10].lower()):
        assert needle.encode() not in stored, needle
        assert needle not in caplog.text, needle
