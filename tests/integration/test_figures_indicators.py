"""The indicators added for the « bilan chiffré »: sex and commune of the people received
(from the register, encrypted there, only the code counted; deleted with their situation),
protocols started, the median time to acknowledgement, and the CMP binôme's activity — each
equal to a recount from what it counts, and suppressed below the threshold."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from routing_support import TEMPLATES, principal, sent
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.models import Case
from engine.consent import service as consent
from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.figures import service as figures
from engine.figures.models import Fact
from engine.identity import service as identity
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime.models import Instance
from engine.situations import service as situations
from engine.situations.errors import ReceptionInvalid

TODAY = date(2026, 11, 30)
PERSON = st.fixed_dictionaries({
    "sexe": st.sampled_from(["femme", "homme", "non_renseigne", None]),
    "commune": st.sampled_from(["Trappes", "trappes", "LA VERRIERE", "Élancourt", "78490",
                                "Hors du territoire", ""]),
})


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


def _raw(**overrides) -> dict:
    raw = {"nom": "Martin", "prenoms": "Léa", "naissance": "1990-05-04", "qualite": "victime",
           "arrivee": "police", "recu_le": "2026-10-14", "connu_service_social": "non"}
    return {**raw, **{k: v for k, v in overrides.items() if v is not None}}


def _receive(uow, **overrides):
    data = situations.parse_reception(_raw(**overrides), TODAY)
    return situations.receive(uow, principal(uow, "demo-is"), data)


def _facts(uow, indicator: str) -> list[str]:
    return sorted(uow.session.scalars(select(Fact.value).where(Fact.indicator == indicator)))


def test_sex_and_commune_are_counted_as_codes_and_typed_names_mapped(db):
    with transaction(db) as uow:
        _receive(uow, sexe="femme", commune="la verriere")
        _receive(uow)  # neither given
    with db.unit_of_work() as uow:
        assert _facts(uow, "sexe") == ["femme", "non_renseigne"]
        assert _facts(uow, "commune") == ["78644", "non_renseignee"]


@pytest.mark.parametrize(("field", "value"), [("commune", "Villeneuve-MARQUEUR"),
                                              ("commune", "Paris"), ("sexe", "autre"),
                                              ("sexe", "F")])
def test_a_commune_outside_the_list_or_an_unknown_sex_is_refused(db, field, value):
    with pytest.raises(ReceptionInvalid) as caught:
        situations.parse_reception(_raw(**{field: value}), TODAY)
    assert [e["field"] for e in caught.value.errors] == [field]


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(PERSON, min_size=1, max_size=12))
def test_sex_and_commune_figures_equal_a_recount_from_the_encrypted_register(db, people):
    with transaction(db) as uow:
        for person in people:
            _receive(uow, **person)
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "asso-iscg-demo")
        expected: dict[str, dict[str, int]] = {"sexe": {}, "commune": {}}
        for case in uow.session.scalars(select(Case).where(Case.organisation_id == org.id)):
            for record in cases.records_of(uow, case, "person"):
                person = situations.Identity.from_payload(
                    cases.read_record(uow, SYSTEM, case, record, audited=False))
                for indicator, code in (("sexe", person.sex),
                                        ("commune", person.commune_code or "non_renseignee")):
                    expected[indicator][code] = expected[indicator].get(code, 0) + 1
        period = figures.parse_period("2026")
        for indicator, counts in expected.items():
            assert figures.recount(uow, indicator, [org.id], period) == counts


def test_shredding_deletes_sex_and_commune_facts_and_keeps_the_others(db):
    with transaction(db) as uow:
        gone = _receive(uow, sexe="homme", commune="Magny-les-Hameaux")
        kept = _receive(uow, sexe="femme", commune="Plaisir")
    with transaction(db) as uow:
        consent.shred_case(uow, SYSTEM, cases.get_case(uow, gone.case_id), "destruction_request")
    with db.unit_of_work() as uow:
        assert _facts(uow, "sexe") == ["femme"] and _facts(uow, "commune") == ["78490"]
        assert _facts(uow, "personne_type") == ["victime", "victime"]  # anonymous counts stay
        assert kept.case_id != gone.case_id


def test_protocols_started_equal_the_instances_started(db):
    _instance_id, _case_id, _delivery = sent(db)
    with transaction(db) as uow:
        from engine.runtime import service as runtime
        runtime.start_instance(uow, principal(uow, "demo-is"), "transmission")
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "asso-iscg-demo")
        period = figures.parse_period(str(uow.now().year))
        started = uow.session.scalars(select(Instance.process_id)).all()
        assert figures.recount(uow, "protocoles_demarres", [org.id], period) == \
            {"transmission": len(started)} == {"transmission": 2}


def test_the_delay_to_acknowledge_is_counted_in_whole_hours_and_its_median_hidden(db, clock):
    _instance_id, _case_id, delivery_id = sent(db)
    clock.advance(hours=49, minutes=30)
    with transaction(db) as uow:
        routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)
    with db.unit_of_work() as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        hours = int((delivery.acknowledged_at - delivery.created_at).total_seconds() // 3600)
        assert _facts(uow, "delai_accuse") == [str(hours)] == ["49"]
        org = identity.get_organisation(uow, "asso-iscg-demo")
        report = figures.report(uow, [org], figures.parse_period(str(uow.now().year)),
                                only="delai_accuse")
    [figure] = report.figures
    shown = {r.code: r.shown(report.threshold) for r in figure.rows}
    assert shown == {"moins_24h": "0", "1_3j": "< 10", "3_7j": "0", "plus_7j": "0"}
    assert figure.summary is not None and figure.summary.count is None  # one delay: hidden
    assert figure.summary.shown(report.threshold) == "< 10"


WRITES = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 12),
                            st.sampled_from(["victime", "auteur", "temoin"]),
                            st.sampled_from(["logement", "violences"])),
                  min_size=1, max_size=30)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES, first=st.integers(1, 12), length=st.integers(0, 11))
def test_counting_from_the_index_equals_ranking_every_subjects_facts(db, writes, first,
                                                                     length):
    """The filters on next/previous month give what ranking all facts gave: a subject under
    its latest value of the period (partition), once under each value (multiple)."""
    with transaction(db) as uow:
        org = identity.get_organisation(uow, "asso-iscg-demo")
        uow.session.execute(Fact.__table__.delete())
        months: dict[int, int] = {}
        for subject, step, kind, problem in writes:  # each subject's facts in month order
            months[subject] = max(months.get(subject, 1), step)
            figures.record_facts(uow, organisation_id=org.id, situation=f"s{subject}",
                                 subject=f"s{subject}", source="test",
                                 month=f"2026-{months[subject]:02d}",
                                 facts=[("personne_type", kind), ("problematiques", problem)])
    last = min(12, first + length)
    period = figures.parse_period(f"2026-{first:02d}..2026-{last:02d}")
    latest: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    months = {}
    for subject, step, kind, problem in writes:
        months[subject] = max(months.get(subject, 1), step)
        if first <= months[subject] <= last:
            latest[subject] = kind
            seen.add((subject, problem))
    expected_kinds: dict[str, int] = {}
    for kind in latest.values():
        expected_kinds[kind] = expected_kinds.get(kind, 0) + 1
    expected_problems: dict[str, int] = {}
    for _subject, problem in seen:
        expected_problems[problem] = expected_problems.get(problem, 0) + 1
    with db.unit_of_work() as uow:
        assert figures.recount(uow, "personne_type", [org.id], period) == expected_kinds
        assert figures.recount(uow, "problematiques", [org.id], period) == expected_problems
