"""Legal bases stand in for consent: each works only for its roles, towards its recipients,
for the categories it carries, and records its justification and information step; a judicial
requisition is never answered before a human legal review approves it."""

from __future__ import annotations

import json

import pytest
from consent_support import (
    AUTHORS,
    REVIEWERS,
    add_test_territory,
    deploy_diagram,
    invoke,
    legal_diagram,
    open_case,
    start_and_fill,
)
from routing_support import TEMPLATES, actions, docx_text, principal, run_outbox
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.catalogue import LEGAL_BASES
from engine.consent.errors import ConsentRefused, LegalBasisRefused, ReviewAlreadyAnswered
from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.identity.models import Organisation
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime.models import Incident

RECIPIENT = {"ip_crip": "crip-demo", "secret_partage_adultes": "cd-demo",
             "secret_partage_enfance": "cd-demo", "signalement_226_14": "parquet-demo",
             "danger_grave_223_6": "parquet-demo", "maltraitance_226_14": "parquet-demo",
             "requisition_60_1": "commissariat-demo", "cddf_information": "mairie-test",
             "requisition_adressee": "asso-iscg-demo"}
MARKER = "JUSTIFICATION-7f3a"
NOT_INFORMED = "not_informed_contrary_to_interest"


@pytest.fixture(autouse=True)
def _territory(db, monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))
    add_test_territory(db)


def authorize(db, case_id, record_id, recipient, categories=("SOC",), purpose="secret_partage"):
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        return consent.authorize(uow, case, case.organisation_id,
                                 identity.get_organisation(uow, recipient).id, purpose,
                                 categories, uow.now(), legal_basis_record=record_id)


def refusal(db, case_id, record_id, recipient, **kw) -> LegalBasisRefused:
    with pytest.raises(ConsentRefused) as refused:
        authorize(db, case_id, record_id, recipient, **kw)
    assert refused.value.status == 403
    return refused.value


def approve(db, record_id, case_id, username, decision="approved"):
    reviewer = reviewer_of(username)
    with transaction(db) as uow:
        invoked = consent.invoke_legal_basis(uow, SYSTEM, cases.get_case(uow, case_id),
                                             record_id)
        consent.answer_legal_review(uow, principal(uow, reviewer), invoked.review, decision)


def reviewer_of(username: str) -> str:
    """Another professional of `username`'s organisation, holding a reviewer role."""
    return REVIEWERS[AUTHORS[username][0]]


@pytest.mark.parametrize("code", sorted(RECIPIENT))
def test_each_legal_basis_works_only_for_its_roles(db, code):
    basis = LEGAL_BASES[code]
    for username, (_org, role) in AUTHORS.items():
        case_id = open_case(db, username)
        information = "informed" if "informed" in basis.information else "not_applicable"
        record_id = invoke(db, username, case_id, code, information=information)
        allowed = role in basis.roles
        if allowed and basis.requires_review:
            approve(db, record_id, case_id, username)
        if allowed:
            granted = authorize(db, case_id, record_id, RECIPIENT[code])
            assert (granted.legal_basis, granted.legal_basis_record) == (code, record_id)
            assert granted.consent_id is None and granted.information == information
            assert basis.reference in granted.explanation
        else:
            refused = refusal(db, case_id, record_id, RECIPIENT[code])
            assert refused.code == "legal_basis_role", (username, code)
            assert basis.reference in refused.message and "ne peut être invoquée" in refused.message


def test_the_information_step_and_the_justification_are_required(db):
    case_id = open_case(db, "demo-is")
    silent = invoke(db, "demo-is", case_id, "ip_crip", information=NOT_INFORMED)
    assert refusal(db, case_id, silent, "crip-demo").code == "legal_basis_information_missing"
    reasoned = invoke(db, "demo-is", case_id, "ip_crip", information=NOT_INFORMED,
                      reason="Informer le père exposerait l'enfant.")
    assert authorize(db, case_id, reasoned, "crip-demo").information == NOT_INFORMED
    for code, information in (("ip_crip", "not_applicable"),
                              ("secret_partage_adultes", NOT_INFORMED)):
        record = invoke(db, "demo-is", case_id, code, information=information, reason="motif")
        refused = refusal(db, case_id, record, "cd-demo")
        assert refused.code == "legal_basis_information_missing", code
        assert "Étape d'information" in refused.message
    blank = invoke(db, "demo-is", case_id, "ip_crip", justification="   ")
    assert refusal(db, case_id, blank, "cd-demo").code == "legal_basis_justification_missing"
    unknown = invoke(db, "demo-is", case_id, "bon_vouloir")
    assert refusal(db, case_id, unknown, "cd-demo").code == "legal_basis_unknown"


def test_recipients_and_categories_are_those_of_the_basis(db):
    case_id = open_case(db, "demo-is")
    adults = invoke(db, "demo-is", case_id, "secret_partage_adultes")
    refused = refusal(db, case_id, adults, "asso-test")
    assert refused.code == "legal_basis_recipient" and "secret professionnel" in refused.message
    with transaction(db) as uow:
        identity.set_bound_by_secrecy(uow, SYSTEM, identity.get_organisation(uow, "asso-test"),
                                      True)
    assert authorize(db, case_id, adults, "asso-test").legal_basis == "secret_partage_adultes"
    flagged = actions(db, "identity.organisation_flag_changed")[-1]
    assert json.loads(flagged.details) == {"flag": "bound_by_secrecy", "value": True}
    assert refusal(db, case_id, adults, "commissariat-demo").code == "legal_basis_recipient"
    assert authorize(db, case_id, adults, "ccas-test")  # CCAS staff: bound by statute
    assert refusal(db, case_id, adults, "cd-demo",
                   categories=("SOC", "MINOR")).code == "legal_basis_categories"

    crip = invoke(db, "demo-is", case_id, "ip_crip")
    assert refusal(db, case_id, crip, "asso-test").code == "legal_basis_recipient"
    # Recipient capabilities bind legal bases too.
    assert refusal(db, case_id, crip, "crip-demo",
                   categories=("SOC", "OFF")).code == "recipient_capability_offence"
    assert refusal(db, case_id, crip, "crip-demo",
                   categories=("SOC", "HEALTH")).code == "recipient_capability_health"
    # A record of another case, or of another form, is no legal basis.
    other_case = open_case(db, "demo-is")
    assert refusal(db, other_case, crip, "crip-demo").code == "legal_basis_invalid"
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        note = cases.store_record(uow, who.actor, cases.get_case(uow, case_id), kind="form",
                                  payload={"legal_basis": "ip_crip"}, categories={"SOC"},
                                  organisation_id=who.primary_organisation_id, form="note.json")
        note_id = note.id
    assert refusal(db, case_id, note_id, "crip-demo").code == "legal_basis_invalid"


def test_a_requisition_is_never_answered_automatically(db):
    case_id = open_case(db, "demo-asso")
    record_id = invoke(db, "demo-asso", case_id, "requisition_60_1", information="not_applicable")
    pending = refusal(db, case_id, record_id, "commissariat-demo", categories=("ID", "OFF"))
    assert pending.code == "legal_basis_review_pending"
    with transaction(db) as uow:
        invoked = consent.invoke_legal_basis(uow, SYSTEM, cases.get_case(uow, case_id),
                                             record_id)
        assert invoked.review is not None and invoked.review.decision is None
        review_id = invoked.review.id
    with transaction(db) as uow:  # invoking again opens nothing more
        again = consent.invoke_legal_basis(uow, SYSTEM, cases.get_case(uow, case_id), record_id)
        assert again.review.id == review_id
    assert refusal(db, case_id, record_id, "commissariat-demo").code == \
        "legal_basis_review_pending"
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        consent.answer_legal_review(uow, principal(uow, "demo-police"),
                                    uow.session.get(consent.LegalReview, review_id), "approved")
    with transaction(db) as uow, pytest.raises(PermissionDenied):  # four eyes
        consent.answer_legal_review(uow, principal(uow, "demo-asso"),
                                    uow.session.get(consent.LegalReview, review_id), "approved")
    with transaction(db) as uow:
        consent.answer_legal_review(uow, principal(uow, reviewer_of("demo-asso")),
                                    uow.session.get(consent.LegalReview, review_id), "approved")
    granted = authorize(db, case_id, record_id, "commissariat-demo", categories=("ID", "OFF"))
    assert granted.legal_basis == "requisition_60_1"
    with transaction(db) as uow, pytest.raises(ReviewAlreadyAnswered):
        consent.answer_legal_review(uow, principal(uow, reviewer_of("demo-asso")),
                                    uow.session.get(consent.LegalReview, review_id), "rejected")

    rejected = invoke(db, "demo-asso", case_id, "requisition_60_1", information="not_applicable")
    approve(db, rejected, case_id, "demo-asso", decision="rejected")
    assert refusal(db, case_id, rejected, "commissariat-demo").code == \
        "legal_basis_review_rejected"
    opened = actions(db, "consent.legal_review_opened")
    answered = actions(db, "consent.legal_review_answered")
    assert len(opened) == 2 and len(answered) == 2
    assert json.loads(answered[0].details)["decision"] == "approved"


def test_a_diagram_transmits_on_a_legal_basis_and_records_it(db, settings):
    from routing_support import database_bytes

    deploy_diagram(db, "crip.bpmn", legal_diagram("crip", "IS", "ip_crip", "crip-demo",
                                                  ["SOC"]))
    start_and_fill(db, "crip", "demo-is", {
        "justification": f"Enfant laissé seul la nuit ({MARKER}).",
        "information": "not_informed_contrary_to_interest",
        "information_reason": "Informer le père exposerait l'enfant."})
    assert run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        delivery = uow.session.scalars(select(Delivery)).one()
        assert delivery.legal_basis == "ip_crip" and delivery.consent_id is None
        manifest = json.loads(delivery.manifest)
        assert manifest["legal_basis"] == "ip_crip" and manifest["consent_id"] is None
        delivery_id = delivery.id
    [sent] = actions(db, "routing.transmitted")
    details = json.loads(sent.details)
    assert details["legal_basis"] == "ip_crip" and details["consent"] is None
    assert details["information"] == "not_informed_contrary_to_interest"
    assert isinstance(details["legal_basis_record"], int)
    assert MARKER not in sent.details
    with transaction(db) as uow:
        opened = routing.open_document(uow, principal(uow, "demo-crip"), delivery_id)
        text = docx_text(opened.content)
    assert MARKER in text and "CASF art. L.226-2-1 et L.226-3" in text
    assert MARKER.encode() not in database_bytes(settings)


def test_the_health_professionals_report_is_the_cmps_alone(db):
    for lane, username in (("IS", "demo-is"), ("CMP", "demo-cmp")):
        process = f"signalement_{lane.lower()}"
        deploy_diagram(db, f"{process}.bpmn", legal_diagram(
            process, lane, "signalement_226_14", "parquet-demo", ["ID", "SOC", "THIRD"],
            purpose="signalement_violences", invoke_first=True))
        start_and_fill(db, process, username, {"justification": "Danger immédiat.",
                                               "information": "informed"})
    assert run_outbox(db) == ["refused", "done"]  # the invocations…
    assert run_outbox(db) == ["done"]  # …then the CMP's transmission
    with db.unit_of_work() as uow:
        [incident] = uow.session.scalars(select(Incident)).all()
        assert "ne peut être invoquée que par" in incident.error
        [delivery] = uow.session.scalars(select(Delivery)).all()
        assert delivery.legal_basis == "signalement_226_14"
        sender = uow.session.get(Organisation, delivery.sender_organisation_id)
        assert sender.slug == "cmp-demo"
    [refused] = actions(db, "runtime.connector_refused")
    assert json.loads(refused.details)["code"] == "legal_basis_role"
    [invoked] = actions(db, "consent.legal_basis_invoked")
    assert json.loads(invoked.details)["legal_basis"] == "signalement_226_14"
