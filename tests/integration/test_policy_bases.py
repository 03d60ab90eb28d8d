"""The legal bases and recipients the law names: reports go to the procureur (the parquet)
alone, the information préoccupante to the CRIP alone; an informed objection is recorded
and shown without blocking; professional secrecy is carried by the recipient's role; the
holder of offence data must be authorised to keep it; health data reaches an association
only under an explicit consent."""

from __future__ import annotations

import pytest
from consent_support import add_test_territory, invoke, open_case
from routing_support import principal

from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.errors import ConsentRefused
from engine.db import transaction
from engine.identity import service as identity


@pytest.fixture(autouse=True)
def _territory(db):
    add_test_territory(db)


def authorize(db, case_id, recipient, categories=("SOC",), *, record=None,
              purpose="secret_partage", role=None, sender=None):
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        sender_id = identity.get_organisation(uow, sender).id if sender \
            else case.organisation_id
        return consent.authorize(uow, case, sender_id,
                                 identity.get_organisation(uow, recipient).id, purpose,
                                 categories, uow.now(), legal_basis_record=record,
                                 recipient_role=role)


def refused(db, case_id, recipient, categories=("SOC",), **kw) -> ConsentRefused:
    with pytest.raises(ConsentRefused) as raised:
        authorize(db, case_id, recipient, categories, **kw)
    return raised.value


def test_the_health_professionals_report_goes_to_the_procureur_only(db):
    case_id = open_case(db, "demo-cmp")
    record = invoke(db, "demo-cmp", case_id, "signalement_226_14")
    for police in ("commissariat-demo", "brigade-test"):
        refusal = refused(db, case_id, police, record=record, purpose="signalement_violences")
        assert refusal.code == "legal_basis_recipient"
        assert "parquet" in refusal.message.lower()
    granted = authorize(db, case_id, "parquet-demo", ("ID", "SOC"), record=record,
                        purpose="signalement_violences")
    assert granted.legal_basis == "signalement_226_14" and granted.consent_id is None
    assert "Code pénal art. 226-14 3°" in granted.explanation


@pytest.mark.parametrize(("basis", "reference"), [
    ("danger_grave_223_6", "Code pénal art. 223-6"),
    ("maltraitance_226_14", "Code pénal art. 226-14 1° ; CASF art. L.226-4 II")])
def test_a_person_in_danger_is_reported_to_the_procureur_without_consent(db, basis, reference):
    for username in ("demo-is", "demo-asso", "demo-cmp"):
        case_id = open_case(db, username)
        record = invoke(db, username, case_id, basis, information="not_informed_contrary_to_"
                        "interest", reason="Prévenir l'auteur mettrait la victime en danger.")
        granted = authorize(db, case_id, "parquet-demo", ("ID", "MINOR", "SOC"),
                            record=record, purpose="signalement_procureur")
        assert granted.legal_basis == basis and reference in granted.explanation
        with db.unit_of_work() as uow:
            assert consent.consents_of(uow, cases.get_case(uow, case_id)) == []
        assert refused(db, case_id, "cd-demo", record=record).code == "legal_basis_recipient"
    police_case = open_case(db, "demo-police")
    record = invoke(db, "demo-police", police_case, basis)
    assert refused(db, police_case, "parquet-demo", record=record).code == "legal_basis_role"


def test_the_information_preoccupante_goes_to_the_crip_and_not_to_any_council_office(db):
    case_id = open_case(db, "demo-is")
    record = invoke(db, "demo-is", case_id, "ip_crip")
    refusal = refused(db, case_id, "cd-demo", record=record)
    assert refusal.code == "legal_basis_recipient"
    assert "cellule de recueil des informations préoccupantes" in refusal.message
    assert authorize(db, case_id, "crip-demo", record=record).legal_basis == "ip_crip"


def test_an_informed_objection_is_recorded_and_shown_and_does_not_block(db):
    case_id = open_case(db, "demo-is")
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        record = cases.store_record(
            uow, who.actor, cases.get_case(uow, case_id), kind="form", categories={"SOC"},
            organisation_id=who.primary_organisation_id, form="base_legale.json",
            payload={"legal_basis": "secret_partage_enfance", "information": "informed",
                     "justification": "Suivi éducatif à coordonner.", "objection": True,
                     "objection_detail": "La mère ne veut pas que l'école soit informée."}).id
    granted = authorize(db, case_id, "cd-demo", ("ID", "MINOR", "SOC"), record=record,
                        role="CG_SOCIAL")
    assert granted.objection == "La mère ne veut pas que l'école soit informée."
    assert "s'y est opposée" in granted.explanation
    assert "ne fait pas obstacle" in granted.explanation
    assert "CASF art. L.226-2-2" in granted.explanation
    silent = invoke(db, "demo-is", case_id, "secret_partage_enfance")
    assert authorize(db, case_id, "cd-demo", record=silent).objection is None


def test_professional_secrecy_is_carried_by_the_recipients_role(db):
    case_id = open_case(db, "demo-is")
    record = invoke(db, "demo-is", case_id, "secret_partage_adultes")
    with db.unit_of_work() as uow:  # an association nobody flagged as bound by secrecy
        assert not identity.get_organisation(uow, "asso-test").bound_by_secrecy
    granted = authorize(db, case_id, "asso-test", record=record, role="ASSOCIATION")
    assert granted.legal_basis == "secret_partage_adultes"
    assert refused(db, case_id, "asso-test", record=record).code == "legal_basis_recipient"
    # Addressed to a role that is not bound by secrecy, a flagged council is refused.
    refusal = refused(db, case_id, "cd-demo", record=record, role="ADMIN")
    assert refusal.code == "legal_basis_recipient" and "secret professionnel" in refusal.message
    assert authorize(db, case_id, "cd-demo", record=record, role="CG_ITP")


def test_the_holder_of_offence_data_must_be_authorised_to_keep_it(db):
    cmp_case = open_case(db, "demo-cmp")
    refusal = refused(db, cmp_case, "asso-victimes-demo", ("ID", "OFF"), purpose="vc_transmission")
    assert refusal.code == "holder_capability_offence"
    assert "article 46" in refusal.message or "art. 46" in refusal.message
    # Without offence data, the same holder meets the ordinary consent check.
    assert refused(db, cmp_case, "asso-victimes-demo", ("ID",),
                   purpose="vc_transmission").code == "consent_missing"
    is_case = open_case(db, "demo-is")  # the IS's employer is authorised (demo territory)
    assert refused(db, is_case, "asso-victimes-demo", ("ID", "OFF"),
                   purpose="vc_transmission").code == "consent_missing"


def test_health_data_reaches_the_association_only_under_an_explicit_consent(db):
    case_id = open_case(db, "demo-is")
    with transaction(db) as uow:
        consent.record_consent(uow, principal(uow, "demo-is"), cases.get_case(uow, case_id),
                               purposes=["vc_transmission"], recipients=["asso-victimes-demo"],
                               categories=["HEALTH", "ID", "OFF", "SOC"], channel="oral")
    granted = authorize(db, case_id, "asso-victimes-demo", ("HEALTH", "ID", "OFF", "SOC"),
                        purpose="vc_transmission")
    assert granted.consent_id is not None
    # A consent that does not name HEALTH does not carry it.
    other = open_case(db, "demo-is")
    with transaction(db) as uow:
        consent.record_consent(uow, principal(uow, "demo-is"), cases.get_case(uow, other),
                               purposes=["vc_transmission"], recipients=["asso-victimes-demo"],
                               categories=["ID", "SOC"], channel="oral")
    assert refused(db, other, "asso-victimes-demo", ("HEALTH", "ID"),
                   purpose="vc_transmission").code == "consent_out_of_scope"
    # Never on a legal basis, never to a council (the police only under her consent).
    record = invoke(db, "demo-is", case_id, "secret_partage_adultes")
    assert refused(db, case_id, "asso-victimes-demo", ("HEALTH", "SOC"), record=record,
                   role="ASSOCIATION").code == "recipient_capability_health"
    assert refused(db, case_id, "cd-demo", ("HEALTH", "SOC"),
                   purpose="vc_transmission").code == "recipient_capability_health"
