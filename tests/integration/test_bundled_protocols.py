"""`relais init` deploys the five protocols of `workflows/` (and the association's dossier
process), once; each persona of the demo may start what its role starts; the dossier
connectors refuse what is not theirs to file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import bearer
from protocol_support import GRANTED, Territory
from sqlalchemy import func, select

from engine.cli import main
from engine.db import Database
from engine.keys.master import FileMasterKey
from engine.runtime.models import ProcessVersion

BUNDLED = {"violence_conjugale", "violence_conjugale_dossier", "violence_conjugale_partenaire",
           "cmp_binome", "itp_synthese",
           "convocation_mineurs", "fiche_liaison", "orientation_is",
           "orientation_is_gendarmerie", "requisition_judiciaire", "requisition_reponse"}


@pytest.fixture
def fresh_home(monkeypatch, tmp_path: Path) -> Path:
    for name in ("RELAIS_HOME", "RELAIS_DATABASE_URL", "RELAIS_MASTER_KEY_FILE",
                 "RELAIS_SECRET_KEY", "RELAIS_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("RELAIS_HOME", str(home))
    return home


def test_relais_init_deploys_the_bundled_protocols_once(fresh_home):
    for _ in range(2):
        result = CliRunner().invoke(main, ["init"])
        assert result.exit_code == 0, result.output
    db = Database(f"sqlite:///{fresh_home / 'relais.db'}",
                  master=FileMasterKey.load(fresh_home / "master.key"))
    with db.unit_of_work() as uow:
        rows = uow.session.execute(select(ProcessVersion.process_id,
                                          func.count(ProcessVersion.id))
                                   .group_by(ProcessVersion.process_id)).all()
    db.dispose()
    assert dict(rows) == dict.fromkeys(BUNDLED, 1)


@pytest.mark.parametrize(("user", "startable"), [
    ("demo-is", {"violence_conjugale", "cmp_binome", "itp_synthese", "convocation_mineurs",
                 "fiche_liaison", "requisition_reponse"}),
    ("demo-asso", {"violence_conjugale_dossier"}),
    ("demo-police", {"orientation_is", "requisition_judiciaire"}),
    ("demo-gendarme", {"orientation_is_gendarmerie"}),
    ("demo-urgences", {"violence_conjugale_partenaire"}),
    ("demo-itp", set()), ("demo-dpp", set()), ("demo-cddf", set()),
])
def test_each_persona_starts_what_its_role_starts(client, db, user, startable):
    listed = client.get("/api/v1/processes", headers=bearer(db, user)).get_json()
    assert {p["id"] for p in listed} == BUNDLED
    assert {p["id"] for p in listed if p["can_start"]} == startable
    names = {p["id"]: p["name"] for p in listed}
    assert names["fiche_liaison"] == "Fiche de liaison vers le service social départemental"


def test_a_dossier_files_only_what_its_organisation_received_and_only_once(client, db, clock):
    t = Territory(client, db, clock)
    sheet = t.start("demo-is", "fiche_liaison")
    t.complete("demo-is", sheet["id"], {
        "contact_professionnel": "IS", "personne_nom": "Nom", "personne_prenom": "Prénom",
        "personne_adresse": "Adresse", "motif": "logement", "precisions": "Précisions.",
        "connue_services_sociaux": "oui", "enfants_au_foyer": False,
        "enfant_en_danger": False})
    t.complete("demo-is", sheet["id"], {"relecture": "validee"})
    t.complete("demo-is", sheet["id"], GRANTED)
    [liaison] = t.inbox("demo-social")

    wrong = t.start("demo-asso", "violence_conjugale_dossier")  # not the association's
    t.complete("demo-asso", wrong["id"], {"action": "classer"})
    # A number the connector would refuse is a field error at once (not an incident later).
    refused = t.complete("demo-asso", wrong["id"], {"envoi": liaison["id"]}, status=422)
    assert [e["field"] for e in refused["errors"]] == ["envoi"]
    assert t.status(wrong["id"]) == "running" and not t.incidents()
    assert t.delivery("demo-social", liaison["id"])["status"] == "delivered"

    sent = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", sent["id"], {"mode_saisine": "personne", "danger_immediat": False})
    t.complete("demo-is", sent["id"], {
        "victime_nom": "Nom", "victime_prenom": "Prénom", "date_faits": t.days(-1),
        "lieu_faits": "autre", "violences": ["verbales"], "enfants_presents": False,
        "blessures": "aucune", "certificat_medical": "non", "faits_anterieurs": False,
        "suite_judiciaire": "aucune", "auteur_lien": "ex_partenaire"})
    t.complete("demo-is", sent["id"], GRANTED)
    [fiche] = t.inbox("demo-asso")
    for attempt in range(2):
        dossier = t.start("demo-asso", "violence_conjugale_dossier")
        t.complete("demo-asso", dossier["id"], {"action": "classer"})
        answer = t.complete("demo-asso", dossier["id"], {"envoi": fiche["id"]},
                            status=200 if attempt == 0 else 422)
        assert t.status(dossier["id"]) == ("completed" if attempt == 0 else "running")
    assert "déjà classé" in answer["errors"][0]["message"]
    assert len(t.audit("dossiers.piece_filed")) == 1
    assert not t.audit("runtime.connector_refused") and not t.incidents()
