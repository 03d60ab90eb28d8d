"""The rules of the person's rights live in the services, whatever calls them: a destruction
is confirmed by the case's reference, the access export names a person by pseudonym only, and
only administrators ask what retention would destroy. A refusal changes nothing."""

from __future__ import annotations

import pytest
from routing_support import actions, principal, record_consent

from engine.cases import service as cases
from engine.cases.errors import CaseNotFound
from engine.consent import service as consent
from engine.db import transaction
from engine.dossiers import rights as person_rights
from engine.errors import Invalid
from engine.identity.errors import PermissionDenied


def _case(db) -> tuple[int, str]:
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        case = cases.open_case(uow, who, who.primary_organisation_id)
        return case.id, case.reference


def test_a_destruction_needs_the_case_reference_and_a_professional_of_the_case(db):
    case_id, reference = _case(db)
    record_consent(db, case_id)
    with transaction(db) as uow, pytest.raises(Invalid) as wrong:
        consent.confirm_destruction(uow, principal(uow, "demo-is"), case_id, "S-0000-XXXXXXXX")
    assert [e["field"] for e in wrong.value.errors] == ["confirm_reference"]
    for outsider in ("demo-asso", "demo-admin"):
        with transaction(db) as uow, pytest.raises(CaseNotFound):
            consent.confirm_destruction(uow, principal(uow, outsider), case_id, reference)
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, case_id).wrapped_key is not None
    assert actions(db, "consent.destruction_requested") == []

    with transaction(db) as uow:
        done = consent.confirm_destruction(uow, principal(uow, "demo-is"), case_id, reference)
    assert done.destroyed
    with db.unit_of_work() as uow:
        assert cases.get_case(uow, case_id).wrapped_key is None


@pytest.mark.parametrize("person", ["Dupont", "P0", "P100", "", "p1"])
def test_the_access_export_names_a_person_by_pseudonym_only(db, person):
    case_id, _reference = _case(db)
    with transaction(db) as uow, pytest.raises(Invalid) as refused:
        person_rights.access_export(uow, principal(uow, "demo-is"), case_id, person)
    assert [e["field"] for e in refused.value.errors] == ["person"]
    assert actions(db, "consent.access_exported") == []


def test_only_administrators_review_retention(db):
    for professional in ("demo-is", "demo-asso"):
        with transaction(db) as uow, pytest.raises(PermissionDenied):
            person_rights.review_retention(uow, principal(uow, professional))
    assert actions(db, "consent.retention_reviewed") == []
    with transaction(db) as uow:
        sweep = person_rights.review_retention(uow, principal(uow, "demo-admin"))
    assert sweep.dry_run and sweep.shredded == ()
    assert len(actions(db, "consent.retention_reviewed")) == 1
