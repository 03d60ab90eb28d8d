"""Messages stay inside their organisation (issue 9, item 5).

Another organisation cannot post a message that an instance it does not take part in
consumes — neither at once nor later from the buffer — nor pre-empt another organisation's
message ids; payloads and correlations carry routable values only, never free text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import bearer
from sqlalchemy import func, select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.runtime import service as runtime
from engine.runtime.models import Instance, Message

DIAGRAM = Path(__file__).parents[1] / "fixtures" / "bpmn" / "attente.bpmn"


@pytest.fixture
def waiting(client, db):
    """An IS instance waiting for `reponse_partenaire`, and the headers of IS and of CMP (an
    organisation that takes no part in it)."""
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {DIAGRAM.name: DIAGRAM.read_bytes()}, source="cli")
    social, outsider = bearer(db, "demo-is"), bearer(db, "demo-cmp")
    started = client.post("/api/v1/instances", json={"process_id": "attente"}, headers=social)
    assert started.status_code == 201
    return started.get_json(), social, outsider


def message(correlation: dict, message_id: str, payload: dict | None = None) -> dict:
    return {"name": "reponse_partenaire", "correlation": correlation,
            "payload": payload or {"accepte": True}, "message_id": message_id}


def status(db, instance_id: int) -> str:
    with db.unit_of_work() as uow:
        return uow.session.get(Instance, instance_id).status


def test_another_organisation_cannot_deliver_to_an_instance_it_does_not_see(client, db,
                                                                           waiting):
    instance, _social, outsider = waiting
    for correlation in ({"case_id": instance["case_id"]}, {"instance_id": instance["id"]}):
        answer = client.post("/api/v1/messages", headers=outsider,
                             json=message(correlation, f"intrus-{len(correlation)}-{correlation}"))
        assert answer.status_code == 202
        assert answer.get_json() == {"status": "buffered", "delivered_to": None}
    assert status(db, instance["id"]) == "running"


def test_a_buffered_foreign_message_is_not_caught_by_an_instance_that_starts_waiting(
        client, db, waiting):
    instance, social, outsider = waiting
    early = client.post("/api/v1/messages", headers=outsider,
                        json=message({"case_id": instance["case_id"]}, "en-avance"))
    assert early.get_json()["status"] == "buffered"
    again = client.post("/api/v1/instances", headers=social,
                        json={"process_id": "attente", "case_id": instance["case_id"]})
    assert again.status_code == 201 and again.get_json()["status"] == "running"
    own = client.post("/api/v1/messages", headers=social,
                      json=message({"instance_id": again.get_json()["id"]}, "le-bon"))
    assert own.get_json() == {"status": "delivered", "delivered_to": again.get_json()["id"]}


def test_message_ids_are_scoped_by_sender_organisation(client, db, waiting):
    instance, social, outsider = waiting
    taken = client.post("/api/v1/messages", headers=outsider,
                        json=message({"case_id": 1}, "reponse-1"))
    assert taken.get_json()["status"] == "buffered"
    mine = client.post("/api/v1/messages", headers=social,
                       json=message({"case_id": instance["case_id"]}, "reponse-1"))
    assert mine.get_json() == {"status": "delivered", "delivered_to": instance["id"]}
    repeat = client.post("/api/v1/messages", headers=social,
                         json=message({"case_id": instance["case_id"]}, "reponse-1"))
    assert repeat.get_json()["status"] == "duplicate"


@pytest.mark.parametrize(("field", "value"), [
    ("payload", {"note": "Madame Martin a rappelé ce matin"}),
    ("payload", {"details": {"nested": 1}}),
    ("payload", {"liste": ["a", "b"]}),
    ("correlation", {"case_id": "12 ; drop"}),
    ("correlation", {"bad key": 1}),
])
def test_free_text_and_structures_are_refused_and_nothing_is_stored(client, db, waiting,
                                                                    field, value):
    instance, social, _outsider = waiting
    body = message({"case_id": instance["case_id"]}, "texte-libre")
    body[field] = value
    answer = client.post("/api/v1/messages", headers=social, json=body)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"].startswith(field)
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Message)) == 0
    assert status(db, instance["id"]) == "running"


def test_identifiers_dates_codes_and_numbers_are_routable(client, db, waiting):
    instance, social, _outsider = waiting
    answer = client.post("/api/v1/messages", headers=social, json=message(
        {"case_id": instance["case_id"]}, "routable",
        {"accepte": True, "code": "ACCORD_SIGNE", "le": "2026-11-30",
         "a": "2026-11-30T10:00:00+00:00", "delai_jours": 15, "taux": 0.5,
         "reference": "asso-victimes-demo", "rien": None}))
    assert answer.get_json() == {"status": "delivered", "delivered_to": instance["id"]}
