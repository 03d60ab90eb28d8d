"""Territories: a second territory with its own partners; protocols started there send to
them, not to the demo's; a start is refused in French when the territory lacks a partner the
diagram declares, or when the organisation has none; slot kinds and one territory per
organisation are enforced; every change is audited; administrators only."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_support import GRANTED, Territory
from sqlalchemy import func, select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.errors import Invalid
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.identity.models import OrganisationKind as K
from engine.identity.roles import Role
from engine.keys import service as keys
from engine.runtime.models import Instance
from engine.territory import service as territories
from engine.territory.errors import TerritoryInvalid, TerritoryMissing

NORD = "Territoire Nord (essai)"
ORGS = (("iscg-nord", "Association ISCG Nord", K.ASSOCIATION),
        ("victimes-nord", "Aide aux victimes Nord", K.ASSOCIATION),
        ("cd-nord", "Conseil départemental du Nord (essai)", K.DEPARTMENTAL_COUNCIL),
        ("crip-nord", "CRIP du Nord (essai)", K.CRIP),
        ("cmp-nord", "CMP Nord (essai)", K.CMP),
        ("parquet-nord", "Parquet Nord (essai)", K.PARQUET),
        ("iscg-sud", "Association ISCG Sud (sans territoire)", K.ASSOCIATION))
USERS = (("is-nord", "iscg-nord", Role.IS), ("asso-nord", "victimes-nord", Role.ASSOCIATION),
         ("itp-nord", "cd-nord", Role.CG_ITP), ("social-nord", "cd-nord", Role.CG_SOCIAL),
         ("is-sud", "iscg-sud", Role.IS))
PARTNERS = {"ASSOCIATION": "victimes-nord", "IS": "iscg-nord", "CG_ITP": "cd-nord",
            "CG_SOCIAL": "cd-nord", "CMP": "cmp-nord", "CRIP": "crip-nord",
            "PARQUET": "parquet-nord"}


def _admin(uow):
    return identity.principal_for(identity.get_user(uow, "demo-admin"))


@pytest.fixture
def nord(db) -> int:
    """The second territory, its organisations (keys, letterhead, capabilities) and people."""
    with transaction(db) as uow:
        for slug, name, kind in ORGS:
            org = identity.create_organisation(uow, SYSTEM, slug=slug, name=name, kind=kind)
            identity.set_letterhead(uow, SYSTEM, org, address="1 rue de l'Essai, 59000 Lille",
                                    phone="03 00 00 00 00", dpo_contact="dpo@essai.invalid")
            keys.ensure_organisation_keys(uow, org)
        for slug in ("iscg-nord", "victimes-nord", "iscg-sud"):
            identity.set_offence_data_authorised(uow, SYSTEM,
                                                 identity.get_organisation(uow, slug), True)
        for username, slug, role in USERS:
            user = identity.create_user(uow, SYSTEM, username=username,
                                        display_name=f"{username} (essai)",
                                        password="mot-de-passe-essai-2026")
            identity.grant_role(uow, SYSTEM, user, identity.get_organisation(uow, slug), role)
        view = territories.create_territory(uow, _admin(uow), name=NORD, partners=PARTNERS)
        return view.territory.id


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def _consent_recipients(t: Territory, user: str, instance_id: int) -> list[str]:
    task = t.task(user, instance_id)
    return t.form(user, task["id"])["properties"]["recipients"]["const"]


def _instances(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.scalar(select(func.count(Instance.id)))


def test_violence_sheet_goes_to_the_territorys_association_not_the_demo_one(t, nord):
    vc = t.start("is-nord", "violence_conjugale")
    t.complete("is-nord", vc["id"], {"mode_saisine": "main_courante", "danger_immediat": False})
    t.complete("is-nord", vc["id"], {
        "victime_nom": "Lefèvre", "victime_prenom": "Anne", "date_faits": t.days(-2),
        "lieu_faits": "domicile_commun", "commune_faits": "Lille", "violences": ["physiques"],
        "enfants_presents": False, "blessures": "aucune", "certificat_medical": "non",
        "faits_anterieurs": False, "suite_judiciaire": "main_courante",
        "auteur_lien": "conjoint"})
    assert _consent_recipients(t, "is-nord", vc["id"]) == ["victimes-nord"]
    t.complete("is-nord", vc["id"], GRANTED)
    sheet = "Fiche protocole violences conjugales"
    assert len(t.received("asso-nord", sheet)) == 1
    assert t.received("demo-asso", sheet) == []
    # the demo territory still sends to the demo association
    demo = t.start("demo-is", "violence_conjugale")
    assert demo["id"] != vc["id"]


def test_itp_request_goes_to_the_territorys_council_and_invited_cmp(t, nord):
    itp = t.start("is-nord", "itp_synthese")
    t.complete("is-nord", itp["id"], {
        "personne_nom": "Durand", "personne_prenom": "Léa", "foyer": "famille_monoparentale",
        "mineurs_concernes": True, "resume": "Famille suivie.",
        "chronologie": "03/09/2026 : première venue au commissariat",
        "problematiques": ["logement"],
        "actions_menees": "Entretiens.", "question": "Quelle stratégie ?",
        "inviter_cmp": True, "inviter_association": False})
    t.complete("is-nord", itp["id"], {"information_personne": "informee"})
    assert _consent_recipients(t, "is-nord", itp["id"]) == ["cd-nord", "cmp-nord"]
    t.complete("is-nord", itp["id"], GRANTED)
    assert [x["name"] for x in t.tasks("itp-nord", itp["id"])]
    assert t.tasks("demo-itp", itp["id"]) == []


def test_liaison_sheet_goes_to_the_territorys_social_office(t, nord):
    liaison = t.start("is-nord", "fiche_liaison")
    t.complete("is-nord", liaison["id"], {
        "contact_professionnel": "IS Nord, 03 00 00 00 01", "personne_nom": "Bernard",
        "personne_prenom": "Yasmine", "personne_naissance": "1990-06-01",
        "personne_adresse": "3 rue des Lilas, Lille", "motif": "parentalite",
        "precisions": "Soutien éducatif.", "connue_services_sociaux": "non",
        "enfants_au_foyer": True, "enfant_en_danger": False})
    t.complete("is-nord", liaison["id"], {"relecture": "validee"})
    assert _consent_recipients(t, "is-nord", liaison["id"]) == ["cd-nord"]
    t.complete("is-nord", liaison["id"], GRANTED)
    assert len(t.received("social-nord", "Fiche de liaison")) == 1
    assert t.received("demo-social", "Fiche de liaison") == []


def test_a_start_is_refused_in_french_when_a_needed_partner_is_missing(t, db, nord):
    with transaction(db) as uow:
        territories.update_territory(uow, _admin(uow), nord, name=NORD,
                                     partners={**PARTNERS, "CRIP": ""})
    before = _instances(db)
    refused = t.post("is-nord", "/instances", {"process_id": "fiche_liaison"}, status=409)
    assert refused["code"] == "territory_partner_missing"
    assert "Cellule de recueil des informations préoccupantes" in refused["detail"]
    assert NORD in refused["detail"]
    assert _instances(db) == before  # nothing started, no case opened
    t.start("is-nord", "violence_conjugale")  # a protocol that does not need the CRIP starts


def test_an_organisation_without_territory_cannot_start_a_protocol_that_needs_partners(t, db,
                                                                                       nord):
    refused = t.post("is-sud", "/instances", {"process_id": "violence_conjugale"}, status=409)
    assert "n'est rattachée à aucun territoire" in refused["detail"]
    assert "Association ISCG Sud" in refused["detail"]


def test_each_slot_takes_an_organisation_of_a_compatible_kind(db, nord):
    with transaction(db) as uow, pytest.raises(TerritoryInvalid) as wrong:
        territories.create_territory(uow, _admin(uow), name="Autre",
                                     partners={"CRIP": "iscg-sud"})
    assert wrong.value.field == "partner_CRIP"
    assert "Cellule de recueil" in wrong.value.message and "il faut" in wrong.value.message
    with transaction(db) as uow, pytest.raises(TerritoryInvalid) as unknown:
        territories.create_territory(uow, _admin(uow), name="Autre",
                                     partners={"ASSOCIATION": "nulle-part"})
    assert unknown.value.field == "partner_ASSOCIATION"
    with transaction(db) as uow:  # the right kind is accepted
        view = territories.create_territory(uow, _admin(uow), name="Autre",
                                            partners={"ASSOCIATION": "iscg-sud"})
        assert view.partners["ASSOCIATION"].slug == "iscg-sud"


def test_an_organisation_belongs_to_one_territory_only(db, nord):
    with transaction(db) as uow, pytest.raises(TerritoryInvalid) as taken:
        territories.create_territory(uow, _admin(uow), name="Autre",
                                     partners={"CRIP": "crip-nord"})
    assert taken.value.field == "partner_CRIP" and NORD in taken.value.message
    with transaction(db) as uow, pytest.raises(TerritoryInvalid) as member:
        territories.create_territory(uow, _admin(uow), name="Autre", partners={},
                                     members=["cmp-nord"])
    assert member.value.field == "members"
    with transaction(db) as uow, pytest.raises(TerritoryInvalid) as same_name:
        territories.create_territory(uow, _admin(uow), name=NORD, partners={})
    assert same_name.value.field == "name"
    with db.unit_of_work() as uow:
        names = {v.territory.name for v in territories.list_territories(uow, _admin(uow))}
    assert names == {"Territoire de démonstration (Yvelines)", NORD}  # nothing half-made


def test_every_change_is_audited_and_a_no_change_save_is_not(t, db, nord):
    assert [r["subject"] for r in t.audit("territory.created")][-1] == str(nord)
    with transaction(db) as uow:
        territories.update_territory(uow, _admin(uow), nord, name=NORD, partners=PARTNERS)
    assert t.audit("territory.changed") == []
    with transaction(db) as uow:
        territories.update_territory(uow, _admin(uow), nord, name=NORD,
                                     partners={**PARTNERS, "CMP": ""}, members=["iscg-sud"])
    [row] = t.audit("territory.changed")
    assert row["subject"] == str(nord) and "CMP" not in row["partners"]
    assert row["actor"] == "demo-admin"


def test_only_administrators_read_or_change_territories(db, nord):
    with db.unit_of_work() as uow:
        principal = identity.principal_for(identity.get_user(uow, "is-nord"))
        with pytest.raises(PermissionDenied):
            territories.list_territories(uow, principal)
        with pytest.raises(PermissionDenied):
            territories.create_territory(uow, principal, name="Pirate", partners={})
        with pytest.raises(PermissionDenied):
            territories.update_territory(uow, principal, nord, name="Pirate", partners={})


def test_the_demo_territory_names_every_partner_the_bundled_protocols_need(db):
    with db.unit_of_work() as uow:
        [demo] = territories.list_territories(uow, _admin(uow))
        assert set(demo.partners) == {"ASSOCIATION", "IS", "CG_ITP", "CG_SOCIAL", "CMP",
                                      "CRIP", "CDDF", "POLICE", "GENDARMERIE", "PARQUET"}
        data: dict[str, Any] = territories.start_parameters(
            uow, identity.get_organisation(uow, "asso-iscg-demo").id, ["POLICE"])
    assert data["organisation_POLICE"] == "commissariat-demo"
    assert data["territoire"]["POLICE"]["signataire"].startswith("Le commissaire")
    assert "organisation_CRIP" not in data  # only what the diagram declares


def test_invalid_is_the_refusal_kind_the_pages_show_on_the_field():
    assert issubclass(TerritoryInvalid, Invalid) and issubclass(TerritoryMissing, Invalid)
