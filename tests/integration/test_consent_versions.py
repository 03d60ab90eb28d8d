"""Consents are versioned, never overwritten; the purposes come from the catalogue; evidence
(a scanned signed form) is kept encrypted in the case; recipient capabilities bind consents."""

from __future__ import annotations

import json

import pytest
from routing_support import CATEGORIES, PURPOSE, database_bytes, principal

from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.consent import service as consent
from engine.consent.errors import ConsentInvalid, ConsentRefused, EvidenceInvalid
from engine.consent.models import Consent
from engine.db import transaction
from engine.errors import Conflict
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied

SCAN = b"%PDF-1.7\n% formulaire signe SCAN-MARKER-51c2\n%%EOF\n"


@pytest.fixture
def case_id(db):
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        return cases.open_case(uow, is_, is_.primary_organisation_id).id


def _record(db, case_id, **overrides) -> int:
    values = {"purposes": [PURPOSE], "recipients": ["asso-victimes-demo", "cd-demo"],
              "categories": ["ID", "SOC"], "channel": "written"}
    values.update(overrides)
    with transaction(db) as uow:
        return consent.record_consent(uow, principal(uow, "demo-is"),
                                      cases.get_case(uow, case_id), **values).id


def _authorize(db, case_id, recipient, categories=("SOC",)):
    with db.unit_of_work() as uow:
        return consent.authorize(uow, cases.get_case(uow, case_id),
                                 identity.get_organisation(uow, "asso-iscg-demo").id,
                                 identity.get_organisation(uow, recipient).id, PURPOSE,
                                 categories, uow.now())


def test_a_change_is_a_new_version_and_the_old_one_is_kept(db, case_id, clock):
    first = _record(db, case_id)
    assert _authorize(db, case_id, "cd-demo").consent_id == first
    clock.advance(days=1)
    with transaction(db) as uow:
        old = uow.session.get(Consent, first)
        second = consent.amend_consent(uow, principal(uow, "demo-is"), old,
                                       recipients=["asso-victimes-demo"]).id
    with pytest.raises(ConsentRefused) as refused:
        _authorize(db, case_id, "cd-demo")  # v1 named the CD; v2 no longer does
    assert refused.value.code == "consent_out_of_scope"
    assert _authorize(db, case_id, "asso-victimes-demo").consent_id == second
    with db.unit_of_work() as uow:
        rows = consent.consents_of(uow, cases.get_case(uow, case_id))
        assert [(c.id, c.version, c.supersedes_id) for c in rows] == \
            [(first, 1, None), (second, 2, first)]
        described = [consent.describe(uow, c) for c in rows]
        assert [d["status"] for d in described] == ["superseded", "active"]
        assert described[0]["superseded_by_id"] == second
        assert described[0]["recipients"] == ["asso-victimes-demo", "cd-demo"]
        assert [e.kind for e in consent.history_of(uow, rows[0])] == ["recorded", "superseded"]
    with transaction(db) as uow, pytest.raises(Conflict):
        consent.amend_consent(uow, principal(uow, "demo-is"), uow.session.get(Consent, first),
                              channel="oral")
    with transaction(db) as uow:  # withdrawing an old version withdraws the current one
        consent.withdraw(uow, principal(uow, "demo-is"), uow.session.get(Consent, first))
    with db.unit_of_work() as uow:
        assert uow.session.get(Consent, first).withdrawn_at is None
        assert uow.session.get(Consent, second).withdrawn_at is not None


def test_purposes_persons_and_capabilities(db, case_id):
    with pytest.raises(ConsentInvalid, match="Finalité inconnue"):
        _record(db, case_id, purposes=["marketing"])
    with pytest.raises(ConsentInvalid, match="pseudonyme"):
        _record(db, case_id, person="Mme Dupont")
    mother = _record(db, case_id, person="P2")
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        assert [c.id for c in consent.consents_of(uow, case, "P2")] == [mother]
        assert consent.consents_of(uow, case, "P1") == []
    _record(db, case_id, recipients=["cd-demo", "cmp-demo", "asso-victimes-demo"],
            categories=["ID", "HEALTH", "OFF", "SOC"])
    for recipient, categories, code in (
            ("cd-demo", ("SOC", "HEALTH"), "recipient_capability_health"),
            ("cd-demo", ("SOC", "OFF"), "recipient_capability_offence"),
            ("cmp-demo", ("SOC", "OFF"), "recipient_capability_offence")):
        with pytest.raises(ConsentRefused) as refused:
            _authorize(db, case_id, recipient, categories)
        assert refused.value.code == code
    assert _authorize(db, case_id, "cmp-demo", ("SOC", "HEALTH"))
    assert _authorize(db, case_id, "asso-victimes-demo", tuple(CATEGORIES))  # approved: OFF


def test_evidence_is_kept_encrypted_in_the_case(db, case_id, settings):
    consent_id = _record(db, case_id)
    with transaction(db) as uow:
        row = uow.session.get(Consent, consent_id)
        for media_type, content in (("application/pdf", b"pas un pdf"),
                                    ("text/plain", b"%PDF-")):
            with pytest.raises(EvidenceInvalid):
                consent.attach_evidence(uow, principal(uow, "demo-is"), row, content=content,
                                        media_type=media_type, file_name="x")
        consent.attach_evidence(uow, principal(uow, "demo-is"), row, content=SCAN,
                                media_type="application/pdf",
                                file_name="C:\\scans\\consentement-dupont.pdf")
    with transaction(db) as uow:
        row = uow.session.get(Consent, consent_id)
        assert consent.describe(uow, row)["evidence"] is True
        evidence = consent.read_evidence(uow, principal(uow, "demo-is"), row)
        assert evidence.content == SCAN and evidence.file_name == "consentement-dupont.pdf"
        with pytest.raises(PermissionDenied):
            consent.read_evidence(uow, principal(uow, "demo-asso"), row)
    at_rest = database_bytes(settings)
    assert b"SCAN-MARKER-51c2" not in at_rest and b"dupont" not in at_rest
    with transaction(db) as uow:
        consent.request_destruction(uow, principal(uow, "demo-is"),
                                    cases.get_case(uow, case_id))
    with db.unit_of_work() as uow, pytest.raises(CaseKeyDestroyed):
        consent.read_evidence(uow, principal(uow, "demo-is"), uow.session.get(Consent,
                                                                               consent_id))
    with db.unit_of_work() as uow:
        [event] = [e for e in consent.history_of(uow, uow.session.get(Consent, consent_id))
                   if e.kind == "evidence_attached"]
        assert json.loads(event.details) == {"media_type": "application/pdf",
                                             "size": len(SCAN)}
