"""The roles bound by professional secrecy are an organisation's setting: by default the
catalogue's (roles.SECRECY_ROLES); once an administrator chooses them on the organisation's
page, the policy reads that organisation's own list for transmissions addressed to a role."""

from __future__ import annotations

import pytest
from consent_support import add_test_territory, invoke, open_case

from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.errors import ConsentRefused
from engine.db import transaction
from engine.identity import organisations
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.identity.roles import SECRECY_ROLES


@pytest.fixture(autouse=True)
def _territory(db):
    add_test_territory(db)


def _authorize(db, case_id: int, record: int, role: str):
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        return consent.authorize(uow, case, case.organisation_id,
                                 identity.get_organisation(uow, "cd-demo").id, "secret_partage",
                                 ("SOC",), uow.now(), legal_basis_record=record,
                                 recipient_role=role)


def _set_roles(db, username: str, roles: tuple[str, ...]) -> None:
    with transaction(db) as uow:
        principal = identity.principal_for(identity.get_user(uow, username))
        org = identity.get_organisation(uow, "cd-demo")
        organisations.update(uow, principal, "cd-demo", organisations.OrganisationChange(
            name=org.name, address=org.address or "", phone=org.phone or "",
            dpo_contact=org.dpo_contact or "", offence_data_authorised=False,
            bound_by_secrecy=True, secrecy_roles=roles))


def test_an_organisations_own_secrecy_roles_decide_a_shared_secrecy_transmission(db):
    case_id = open_case(db, "demo-is")
    record = invoke(db, "demo-is", case_id, "secret_partage_adultes")
    assert _authorize(db, case_id, record, "CG_ITP")  # the catalogue's default
    _set_roles(db, "demo-admin", ("CG_SOCIAL",))  # the council's ITP secretariat is not
    with pytest.raises(ConsentRefused) as refused:
        _authorize(db, case_id, record, "CG_ITP")
    assert refused.value.code == "legal_basis_recipient"
    assert "secret professionnel" in refused.value.message
    assert _authorize(db, case_id, record, "CG_SOCIAL")
    with db.unit_of_work() as uow:
        assert identity.get_organisation(uow, "cd-demo").secrecy_roles == '["CG_SOCIAL"]'
    _set_roles(db, "demo-admin", tuple(SECRECY_ROLES))  # the default again: no own list
    with db.unit_of_work() as uow:
        assert identity.get_organisation(uow, "cd-demo").secrecy_roles is None
    assert _authorize(db, case_id, record, "CG_ITP")


def test_only_an_administrator_changes_an_organisation(db):
    with pytest.raises(PermissionDenied):
        _set_roles(db, "demo-itp", ("CG_ITP",))
