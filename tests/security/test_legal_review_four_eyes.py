"""The legal review of a judicial requisition takes four eyes: the person who invoked the
basis cannot approve it; the reviewer is another professional of the organisation holding a
reviewer role; the audit row of the answer names both."""

from __future__ import annotations

import json

import pytest
from consent_support import REVIEWERS, add_test_territory, invoke, open_case
from routing_support import actions, principal

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.errors import LegalBasisRefused
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.identity.roles import Role


@pytest.fixture(autouse=True)
def _territory(db):
    add_test_territory(db)


def _requisition(db) -> tuple[int, int, int]:
    """A requisition invoked by demo-is: (case id, record id, review id)."""
    case_id = open_case(db, "demo-is")
    record_id = invoke(db, "demo-is", case_id, "requisition_60_1", information="not_applicable")
    with transaction(db) as uow:
        invoked = consent.invoke_legal_basis(uow, SYSTEM, cases.get_case(uow, case_id),
                                             record_id)
        return case_id, record_id, invoked.review.id


def _answer(db, username: str, review_id: int, decision: str = "approved") -> None:
    with transaction(db) as uow:
        consent.answer_legal_review(uow, principal(uow, username),
                                    uow.session.get(consent.LegalReview, review_id), decision)


def _authorize(db, case_id: int, record_id: int):
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        return consent.authorize(uow, case, case.organisation_id,
                                 identity.get_organisation(uow, "commissariat-demo").id,
                                 "requisition", ["ID"], uow.now(),
                                 legal_basis_record=record_id)


def _status(db, review_id: int) -> str | None:
    with db.unit_of_work() as uow:
        return uow.session.get(consent.LegalReview, review_id).decision


def test_the_invoker_cannot_approve_their_own_requisition(db):
    case_id, record_id, review_id = _requisition(db)
    for decision in ("approved", "rejected"):
        with pytest.raises(PermissionDenied) as refused:
            _answer(db, "demo-is", review_id, decision)
        assert refused.value.code == "legal_review_same_person"
    assert _status(db, review_id) is None
    with pytest.raises(LegalBasisRefused) as pending:
        _authorize(db, case_id, record_id)
    assert pending.value.code == "legal_basis_review_pending"
    assert actions(db, "consent.legal_review_answered") == []


def test_a_member_without_a_reviewer_role_cannot_answer(db):
    _case_id, _record_id, review_id = _requisition(db)
    with transaction(db) as uow:  # an administrator of the very organisation
        user = identity.create_user(uow, SYSTEM, username="t-admin-iscg",
                                    display_name="t-admin-iscg",
                                    password="mot-de-passe-essai-2026")
        identity.grant_role(uow, SYSTEM, user, identity.get_organisation(uow, "asso-iscg-demo"),
                            Role.ADMIN)
    for outsider in ("t-admin-iscg", "demo-police", REVIEWERS["cd-demo"]):
        with pytest.raises(PermissionDenied) as refused:
            _answer(db, outsider, review_id)
        assert refused.value.code == "legal_review_role", outsider
    assert _status(db, review_id) is None


def test_another_reviewer_approves_and_both_are_audited(db):
    case_id, record_id, review_id = _requisition(db)
    reviewer = REVIEWERS["asso-iscg-demo"]
    _answer(db, reviewer, review_id)
    assert _authorize(db, case_id, record_id).legal_basis == "requisition_60_1"
    with db.unit_of_work() as uow:
        invoker = identity.get_user(uow, "demo-is").id
        reviewer_id = identity.get_user(uow, reviewer).id
    [answered] = actions(db, "consent.legal_review_answered")
    details = json.loads(answered.details)
    assert (details["invoked_by"], details["reviewed_by"]) == (invoker, reviewer_id)
    assert answered.actor_user_id == reviewer_id
    [invoked] = actions(db, "consent.legal_basis_invoked")
    assert json.loads(invoked.details)["author"] == invoker
