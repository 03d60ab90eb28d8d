"""The letterhead and the DPO contact are the organisation's settings (changed through the
identity service, audited, refused when incomplete), and a document's mentions name its
author's function in the issuing organisation."""

from __future__ import annotations

import pytest
from routing_support import actions

from engine.audit.service import SYSTEM
from engine.consent import mentions as issued
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.errors import IdentityInvalid


def test_the_letterhead_is_set_through_the_identity_service_and_audited(db):
    before = len(actions(db, "identity.organisation_letterhead_changed"))  # the demo's
    with transaction(db) as uow:
        org = identity.get_organisation(uow, "cmp-demo")
        with pytest.raises(IdentityInvalid):
            identity.set_letterhead(uow, SYSTEM, org, address=" ", phone="01",
                                    dpo_contact="dpo@cmp.invalid")
        identity.set_letterhead(uow, SYSTEM, org, address="9 rue Neuve", phone="01 02",
                                dpo_contact="dpo@cmp.invalid")
        identity.set_letterhead(uow, SYSTEM, org, address="9 rue Neuve", phone="01 02",
                                dpo_contact="dpo@cmp.invalid")  # unchanged: not audited
    rows = actions(db, "identity.organisation_letterhead_changed")
    assert len(rows) == before + 1 and "9 rue Neuve" not in rows[-1].details
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "cmp-demo")
        nurse = identity.get_user(uow, "demo-cmp")
        mentions = issued.mentions_for(uow, org, nurse.id, "cmp_sharing", uow.now())
        name = nurse.display_name
    assert (mentions.address, mentions.phone, mentions.dpo_contact) == \
        ("9 rue Neuve", "01 02", "dpo@cmp.invalid")
    assert mentions.author == name
    assert mentions.author_function == "Infirmier·e de CMP"
    assert any("9.2.h" in b for b in mentions.gdpr_basis)
    assert mentions.retention.startswith("2 ans")
