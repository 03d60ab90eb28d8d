"""The retention sweep applies the gravity recorded on the sheet: a crime keeps a case whose
purposes follow the gravity 20 years (CPP art. 7), a délit 6 years (art. 8), a contravention
only the social file's 2 years; without a recorded gravity, a délit's. The case keeps the
gravest gravity its sheets declared; a filed sheet carries it to the association's dossier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_support import principal, record_consent

import forms
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.consent.catalogue import CRIME_PRESCRIPTION, OFFENCE_PRESCRIPTION
from engine.db import transaction
from engine.dossiers import rights as person_rights


def _case(db, clock, gravity: str | None, *, then: str | None = None) -> int:
    """A case of demo-is using `vc_transmission`, whose sheet recorded `gravity`."""
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        case = cases.open_case(uow, is_, is_.primary_organisation_id)
        for value in (gravity, then):
            cases.store_record(uow, is_.actor, case, kind="form", payload={"gravite": value},
                               categories={"OFF"}, organisation_id=case.organisation_id,
                               form="vc_fiche.json", gravity=value)
        case_id = case.id
    record_consent(db, case_id)
    return case_id


def _due(db, clock, after: timedelta) -> dict[int, person_rights.RetentionItem]:
    with transaction(db) as uow:
        return {i.case_id: i for i in person_rights.retention_due(uow, clock.now() + after)}


def test_the_sweep_keeps_a_crime_twenty_years_and_a_delit_six(db, clock):
    crime = _case(db, clock, "crime")
    delit = _case(db, clock, "delit")
    contravention = _case(db, clock, "contravention")
    unrecorded = _case(db, clock, None)

    at_three_years = _due(db, clock, timedelta(days=3 * 365))
    assert set(at_three_years) == {contravention}
    at_seven_years = _due(db, clock, timedelta(days=7 * 365))
    assert set(at_seven_years) == {delit, contravention, unrecorded}  # the crime is kept
    assert at_seven_years[delit].retention_days == OFFENCE_PRESCRIPTION.days
    assert at_seven_years[unrecorded].gravity is None
    at_21_years = _due(db, clock, timedelta(days=21 * 365))
    assert crime in at_21_years
    assert at_21_years[crime].retention_days == CRIME_PRESCRIPTION.days
    assert at_21_years[crime].as_dict()["gravity"] == "crime"

    with transaction(db) as uow:  # the sweep itself, not only the listing
        sweep = person_rights.sweep_retention(uow, SYSTEM, dry_run=False,
                                              at=clock.now() + timedelta(days=7 * 365))
    assert crime not in sweep.shredded and delit in sweep.shredded
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, crime).wrapped_key is not None


def test_the_case_keeps_the_gravest_gravity_recorded(db, clock):
    crime_then_delit = _case(db, clock, "crime", then="delit")
    delit_then_crime = _case(db, clock, "delit", then="crime")
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, crime_then_delit).gravity == "crime"
        assert cases.get_case(uow, delit_then_crime).gravity == "crime"
    with transaction(db) as uow, pytest.raises(ValueError):
        cases.keep_gravity(uow, SYSTEM, cases.get_case(uow, crime_then_delit), "grave")


def test_forms_mark_the_gravity_field_and_refuse_it_elsewhere():
    sheet = forms.load("vc_fiche.json")
    assert sheet.retention_gravity({"gravite": "crime"}) == "crime"
    assert sheet.retention_gravity({}) is None
    assert forms.load("consentement.json").retention_gravity({"gravite": "crime"}) is None
    bad = {"type": "object", "properties": {"g": {
        "type": "string", "enum": ["leger", "grave"], "x-relais-category": "OFF",
        "x-relais-retention": "gravity"}}}
    assert any("x-relais-retention" in p for p in forms.check_definition(bad))
    good = {"type": "object", "properties": {"g": {
        "type": "string", "enum": ["delit", "crime"], "x-relais-category": "OFF",
        "x-relais-retention": "gravity"}}}
    assert not [p for p in forms.check_definition(good) if "x-relais-retention" in p]
