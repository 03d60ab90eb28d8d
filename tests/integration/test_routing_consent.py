"""The minimal consent rule: only a recorded, granted, live consent of the case naming this
purpose and recipient, and covering the categories, authorises a transmission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_support import CATEGORIES, PURPOSE, actions, principal

from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.errors import ConsentInvalid, ConsentRefused
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied


@pytest.fixture
def case_id(db):
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        return cases.open_case(uow, is_, is_.primary_organisation_id).id


def _record(db, case_id, username="demo-is", **overrides):
    values = {"purposes": [PURPOSE], "recipients": ["asso-victimes-demo"],
              "categories": CATEGORIES, "channel": "written"}
    values.update(overrides)
    with transaction(db) as uow:
        return consent.record_consent(uow, principal(uow, username),
                                      cases.get_case(uow, case_id), **values).id


def _authorize(db, case_id, recipient="asso-victimes-demo", purpose=PURPOSE,
               categories=tuple(CATEGORIES), sender="asso-iscg-demo"):
    with db.unit_of_work() as uow:
        return consent.authorize(uow, cases.get_case(uow, case_id),
                                 identity.get_organisation(uow, sender).id,
                                 identity.get_organisation(uow, recipient).id, purpose,
                                 categories, uow.now())


def _refusal(db, case_id, **kw) -> ConsentRefused:
    with pytest.raises(ConsentRefused) as refused:
        _authorize(db, case_id, **kw)
    assert refused.value.status == 403
    return refused.value


def test_no_consent_no_transmission(db, case_id):
    refused = _refusal(db, case_id)
    assert refused.code == "consent_missing"
    assert "Aucun consentement" in refused.message and "France Victimes" in refused.message


def test_a_covering_consent_authorises_and_is_audited_without_personal_data(db, case_id):
    consent_id = _record(db, case_id)
    granted = _authorize(db, case_id)
    assert granted.consent_id == consent_id and len(granted.consent_uid) == 36
    assert _authorize(db, case_id, categories=("SOC",)).consent_id == consent_id
    [row] = actions(db, "consent.recorded")
    assert row.subject_id == str(case_id)
    assert '"decision":"granted"' in row.details and '"channel":"written"' in row.details


def test_out_of_scope_says_what_is_missing(db, case_id, clock):
    _record(db, case_id)
    for kw, expected in (({"recipient": "cd-demo", "categories": ("SOC",)},
                          "ne couvre pas la transmission à Conseil départemental"),
                         ({"purpose": "itp_presentation"}, "la finalité « itp_presentation »"),
                         ({"categories": ("SOC", "MINOR")}, "les catégories de données MINOR")):
        refused = _refusal(db, case_id, **kw)
        assert refused.code == "consent_out_of_scope", kw
        assert "Le consentement recueilli le " in refused.message
        assert expected in refused.message, refused.message


def test_expired_withdrawn_and_refused_consents_never_authorise(db, case_id, clock):
    _record(db, case_id, expires_at=clock.now() + timedelta(days=30))
    assert _authorize(db, case_id)
    clock.advance(days=31)
    refused = _refusal(db, case_id)
    assert refused.code == "consent_expired" and "a expiré le" in refused.message

    renewed = _record(db, case_id)
    assert _authorize(db, case_id).consent_id == renewed
    clock.advance(hours=1)
    with transaction(db) as uow:
        from engine.consent.models import Consent

        consent.withdraw(uow, principal(uow, "demo-is"), uow.session.get(Consent, renewed))
    refused = _refusal(db, case_id)
    assert refused.code == "consent_withdrawn" and "a été retiré le" in refused.message
    assert [r.action for r in actions(db, "consent.withdrawn")] == ["consent.withdrawn"]

    clock.advance(hours=1)
    _record(db, case_id)  # granted again…
    clock.advance(hours=1)
    _record(db, case_id, decision="refused")  # …then the person changed her mind
    refused = _refusal(db, case_id)
    assert refused.code == "consent_refused" and "a refusé" in refused.message


def test_a_consent_authorises_only_the_organisation_that_recorded_it(db, case_id):
    _record(db, case_id)
    refused = _refusal(db, case_id, sender="cmp-demo", recipient="asso-victimes-demo",
                       categories=("ID", "SOC"))  # the CMP may not hold offence data
    assert refused.code == "consent_out_of_scope"
    assert "autre organisation" in refused.message


def test_recording_is_checked_and_reserved_to_the_case_organisation(db, case_id):
    for kw in ({"categories": ["SANTE"]}, {"channel": "pigeon"}, {"purposes": []},
               {"recipients": ["inconnue"]}, {"decision": "peut-être"},
               {"purposes": ["<script>"]}):
        with pytest.raises(ConsentInvalid):
            _record(db, case_id, **kw)
    with pytest.raises(PermissionDenied):
        _record(db, case_id, username="demo-asso")
    with pytest.raises(ConsentInvalid, match="expiration"):
        _record(db, case_id, expires_at=clock_now(db) - timedelta(days=1))
    assert actions(db, "consent.recorded") == []


def clock_now(db):
    return db.clock.now()
