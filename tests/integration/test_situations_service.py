"""Situations: people recorded encrypted, found by the blind index, the register, notes."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from sqlalchemy import func, select

from engine import events
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.errors import CaseNotFound
from engine.cases.models import CaseRecord
from engine.db import transaction
from engine.identity import service as identity
from engine.situations import handlers
from engine.situations import service as situations
from engine.situations.errors import NotAHolder, NoteInvalid, ReceptionInvalid
from engine.situations.models import Reception, SearchKey, SearchToken

TODAY = date(2026, 11, 30)


def principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def reception(**overrides) -> dict:
    raw = {"nom": "Lefèvre", "prenoms": "Élodie Marie", "naissance": "1985-03-02",
           "commune": "Trappes", "qualite": "victime", "arrivee": "police",
           "recu_le": "2026-11-30", "problematiques": ["violences_conjugales", "logement"],
           "orientations": ["association_victimes"], "connu_service_social": "non",
           "mineurs": "on"}
    return {**raw, **overrides}


def receive(uow, username="demo-is", case_id=None, **overrides):
    data = situations.parse_reception(reception(**overrides), TODAY)
    return situations.receive(uow, principal(uow, username), data, case_id)


def found(uow, username: str, query: str) -> list[str]:
    return [r.reference for r in situations.search(uow, principal(uow, username), query)]


def test_a_person_received_is_found_by_name_prefix_first_name_year_and_reference(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
        receive(uow, nom="Martin", prenoms="Paul", naissance="1990-01-01")
    with db.unit_of_work() as uow:
        reference = cases.get_case(uow, case_id).reference
        for query in ("lef", "LEFEVRE", "Lefèvre", "élo", "marie", "1985", "lef 1985",
                      "Élodie Lefèvre", reference, reference.lower()):
            assert found(uow, "demo-is", query) == [reference], query
        assert found(uow, "demo-is", "lef 1990") == []  # every word, the same person
        assert found(uow, "demo-is", "le") == []  # under three letters: whole words only
        [row] = situations.search(uow, principal(uow, "demo-is"), "lef")
        assert row.people == ["Élodie Marie LEFÈVRE"]


@pytest.mark.parametrize("query", ["", "   ", "%", "_", "'", '"', "%%", "l_f",
                                   "' OR 1=1 --", "x" * 10_000, "S-2026-%"])
def test_odd_queries_answer_an_empty_list(db, query):
    with transaction(db) as uow:
        receive(uow)
    with db.unit_of_work() as uow:
        assert found(uow, "demo-is", query) == []


def test_wildcards_and_quotes_are_punctuation_not_patterns(db):
    with transaction(db) as uow:
        reference = cases.get_case(uow, receive(uow).case_id).reference
    with db.unit_of_work() as uow:
        for query in ("%lef%", "'lef'", "lef " * 3000, "élo_die"[:3]):
            assert found(uow, "demo-is", query) == [reference], query


def test_an_unknown_name_answers_quickly_without_decrypting(db, monkeypatch):
    with transaction(db) as uow:
        for n in range(30):
            receive(uow, nom=f"Nom{n}")
    calls = []
    monkeypatch.setattr(cases, "read_record", lambda *a, **k: calls.append(a))
    with db.unit_of_work() as uow:
        started = time.perf_counter()
        assert found(uow, "demo-is", "inconnue") == []
        assert time.perf_counter() - started < 0.5
    assert calls == []


def test_other_organisations_find_nothing_and_police_follows_no_situation(db):
    with transaction(db) as uow:
        receive(uow)
    with db.unit_of_work() as uow:
        assert found(uow, "demo-asso", "lefevre") == []
        assert situations.my_situations(uow, principal(uow, "demo-asso")).total == 0
        with pytest.raises(NotAHolder):
            situations.search(uow, principal(uow, "demo-police"), "lefevre")
        with pytest.raises(NotAHolder):
            situations.my_situations(uow, principal(uow, "demo-police"))


def test_names_rest_encrypted_and_the_index_holds_keyed_hashes_only(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
    with db.unit_of_work() as uow:
        record = uow.session.scalars(select(CaseRecord).where(
            CaseRecord.case_id == case_id, CaseRecord.kind == "person")).one()
        assert b"Lef" not in record.ciphertext
        tokens = list(uow.session.scalars(select(SearchToken.token)))
        assert tokens and all(len(t) == 64 and "lef" not in t for t in tokens)
        key = uow.session.scalars(select(SearchKey)).one()
        assert len(key.wrapped_key) > 32  # wrapped, not the raw key
        [row] = uow.session.scalars(select(Reception)).all()
        assert json.loads(row.problems) == ["violences_conjugales", "logement"]
        assert row.known_to_social_services is False and row.minors_involved is True


def test_a_situation_holds_several_people_and_the_register_keeps_codes(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
        receive(uow, case_id=case_id, nom="Lefèvre", prenoms="Jean", qualite="auteur",
                arrivee="main_courante", connu_service_social="inconnu")
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        people = situations.people_of(uow, principal(uow, "demo-is"), case)
        assert [(p.kind, p.identity.first_names) for p in people] == [
            ("victime", "Élodie Marie"), ("auteur", "Jean")]
        assert [r.arrival for r in situations.receptions_of(uow, case)] == [
            "police", "main_courante"]
        assert found(uow, "demo-is", "jean") == [case.reference]


def test_bad_register_input_lists_every_field_and_changes_nothing(db):
    with db.unit_of_work() as uow:
        before = uow.session.scalar(select(func.count(CaseRecord.id)))
    with pytest.raises(ReceptionInvalid) as caught:
        situations.parse_reception(reception(nom=" ", qualite="chef", naissance="2030-01-01",
                                             problematiques=["x"], recu_le="hier"), TODAY)
    fields = {e["field"] for e in caught.value.errors}
    assert fields == {"nom", "qualite", "naissance", "problematiques", "recu_le"}
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(CaseRecord.id))) == before
        data = situations.parse_reception(reception(), TODAY)
        with pytest.raises(NotAHolder):
            situations.receive(uow, principal(uow, "demo-asso"), data)


def test_notes_are_encrypted_records_seen_by_the_organisation_only(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
        situations.add_note(uow, principal(uow, "demo-is"), case_id, "Appel de la soeur.")
        with pytest.raises(NoteInvalid):
            situations.add_note(uow, principal(uow, "demo-is"), case_id, "  ")
    # A refused read is audited and ends its own unit of work (as every refusal does).
    with transaction(db) as uow, pytest.raises(CaseNotFound):
        situations.add_note(uow, principal(uow, "demo-asso"), case_id, "intrusion")
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        [(_at, text)] = situations.notes_of(uow, principal(uow, "demo-is"), case)
        assert text == "Appel de la soeur."
        [note] = cases.records_of(uow, case, "note")
        assert b"soeur" not in note.ciphertext


def test_shredding_a_situation_removes_its_tokens(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
        other = receive(uow, nom="Lefort").case_id
    with transaction(db) as uow:
        case = cases.get_case(uow, case_id)
        shredding = events.CaseShredding(actor=SYSTEM, case_id=case.id,
                                         organisation_id=case.organisation_id,
                                         reason="destruction_request")
        # What events.publish runs for this event (the handler as registered, called alone
        # so that the test does not depend on the other domains' handler modules).
        assert "engine.situations.handlers" in events.HANDLER_MODULES
        [handler] = [h for h in events.handlers_of(events.CaseShredding)
                     if h is handlers.forget_search_tokens]
        assert handler(uow, shredding) > 0
        cases.destroy_key(uow, SYSTEM, case, "destruction_request")
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(SearchToken.id)).where(
            SearchToken.case_id == case_id)) == 0
        assert found(uow, "demo-is", "lef") == [cases.get_case(uow, other).reference]
        page = situations.my_situations(uow, principal(uow, "demo-is"))
        assert case_id not in [r.id for r in page.rows]


def test_my_situations_are_paginated_newest_activity_first(db, clock):
    with transaction(db) as uow:
        ids = []
        for n in range(5):
            clock.advance(minutes=1)
            ids.append(receive(uow, nom=f"Personne{n}").case_id)
    with db.unit_of_work() as uow:
        first = situations.my_situations(uow, principal(uow, "demo-is"), 1, per_page=2)
        third = situations.my_situations(uow, principal(uow, "demo-is"), 3, per_page=2)
        assert first.total >= 5 and [r.id for r in first.rows] == ids[::-1][:2]
        assert third.number == 3 and len(third.rows) >= 1
        assert situations.my_situations(uow, principal(uow, "demo-is"), 999,
                                        per_page=2).number == first.pages


def test_a_listed_situation_shows_its_open_protocols_in_words(db):
    with transaction(db) as uow:
        case_id = receive(uow).case_id
        is_ = principal(uow, "demo-is")
        situations.start_protocol(uow, is_, case_id, "violence_conjugale")
    with transaction(db) as uow, pytest.raises(CaseNotFound):  # a refusal ends its own work
        situations.start_protocol(uow, principal(uow, "demo-asso"), case_id,
                                  "violence_conjugale_dossier")
    with db.unit_of_work() as uow:
        [row] = situations.rows_for(uow, principal(uow, "demo-is"), [case_id])
        [name] = row.open_protocols
        assert name and "_" not in name  # the protocol's name, not its id
