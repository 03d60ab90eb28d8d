"""Each purpose records its RGPD lawfulness apart from the agreement lifting secrecy, and the
retention of the data about an offence follows the gravity recorded on the sheet."""

from __future__ import annotations

from datetime import timedelta

import forms
from engine.consent.catalogue import (
    LEGAL_BASES,
    PURPOSES,
    SOCIAL_FILE_RETENTION,
    gdpr_bases,
    retention_of,
)
from engine.identity.models import OrganisationKind
from engine.identity.roles import Role, bound_by_secrecy

YEAR = timedelta(days=365)


def test_every_purpose_names_its_rgpd_article_6_basis_and_its_special_conditions():
    for code, purpose in PURPOSES.items():
        assert purpose.gdpr_basis.startswith("RGPD art. 6.1."), code
        assert gdpr_bases(code)[0] == purpose.gdpr_basis
    assert any("art. 9.2.a" in b for b in gdpr_bases("vc_transmission"))
    assert any("art. 10" in b for b in gdpr_bases("vc_transmission"))
    assert any("art. 9.2.h" in b for b in gdpr_bases("cmp_sharing"))
    assert gdpr_bases("requisition_judiciaire")[0].startswith("RGPD art. 6.1.c")
    assert gdpr_bases("fiche_liaison") == (PURPOSES["fiche_liaison"].gdpr_basis,)
    assert gdpr_bases("inconnue") == ()


def test_retention_follows_the_gravity_recorded_on_the_sheet():
    assert retention_of(["vc_transmission"], "crime") >= 20 * YEAR
    assert 6 * YEAR <= retention_of(["vc_transmission"], "delit") < 7 * YEAR
    assert retention_of(["vc_transmission"]) == retention_of(["vc_transmission"], "delit")
    assert retention_of(["vc_transmission"], "contravention") == SOCIAL_FILE_RETENTION
    assert retention_of(["fiche_liaison"], "crime") == SOCIAL_FILE_RETENTION
    assert retention_of(["fiche_liaison", "signalement_violences"], "crime") >= 20 * YEAR
    assert retention_of(["requisition_judiciaire"], "crime") < 7 * YEAR


def test_reports_to_the_procureur_have_the_parquet_as_only_recipient():
    for code in ("signalement_226_14", "danger_grave_223_6", "maltraitance_226_14"):
        assert LEGAL_BASES[code].recipient_kinds == {OrganisationKind.PARQUET}, code
        assert "OFF" not in LEGAL_BASES[code].categories or code == "requisition_60_1"
    assert LEGAL_BASES["ip_crip"].recipient_kinds == {OrganisationKind.CRIP}
    assert "L.121-6-2" in LEGAL_BASES["cddf_information"].reference
    assert not LEGAL_BASES["secret_partage_enfance"].objection_blocks


def test_secrecy_is_a_property_of_roles():
    assert bound_by_secrecy(Role.IS) and bound_by_secrecy(Role.CMP)
    assert bound_by_secrecy("CG_SOCIAL")
    assert not bound_by_secrecy(Role.POLICE) and not bound_by_secrecy(Role.ADMIN)
    assert not bound_by_secrecy(None)


def test_the_consent_form_records_who_gave_the_agreement():
    given_by = forms.load("consentement.json").properties["given_by"]
    assert given_by["enum"] == ["personne", "representant_legal", "mineur_et_parents"]
    assert "titulaires de l'autorité parentale" in given_by["x-relais-labels"]["mineur_et_parents"]
    objection = forms.load("base_legale.json").properties
    assert objection["objection"]["type"] == "boolean" and "objection_detail" in objection
