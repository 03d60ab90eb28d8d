"""Each scope produces its annual report — the IS its post, the employer the posts it staffs,
the comité de suivi its territory — from the page and from the command line, and the report
and the spreadsheet open in LibreOffice. Figures-only roles never see a situation."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import login

from engine.cases import service as cases
from engine.cli import main
from engine.db import transaction
from engine.figures import reporting
from engine.figures import service as figures
from engine.identity import service as identity
from engine.identity.principal import Grant
from engine.identity.roles import Role

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
SCOPES = {"demo-is": ["asso-iscg-demo"], "demo-direction": ["asso-iscg-demo"],
          "demo-comite": ["asso-iscg-demo", "asso-victimes-demo"]}


def _principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def _populate(db) -> None:
    with transaction(db) as uow:
        principal = _principal(uow, "demo-is")
        org = identity.get_organisation(uow, "asso-iscg-demo")
        for i in range(24):
            case = cases.open_case(uow, principal, org.id)
            person = {"personne_type": "victime" if i < 15 else "auteur",
                      "arrivee": ["police", "gendarmerie", "personne"][i % 3]}
            cases.store_record(uow, principal.actor, case, kind="accueil", payload=person,
                               categories={"SOC"}, organisation_id=org.id,
                               stats=[("personne_type", person["personne_type"]),
                                      ("arrivee", person["arrivee"])])


@pytest.mark.parametrize("username", sorted(SCOPES))
def test_each_scope_sees_its_own_organisations(db, username):
    with db.unit_of_work() as uow:
        seen = sorted(o.slug for o in figures.visible(uow, _principal(uow, username)))
    assert seen == SCOPES[username]


def test_a_figures_only_role_in_an_organisation_holding_situations_sees_none(db):
    _populate(db)
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "asso-iscg-demo")
        is_ = _principal(uow, "demo-is")
        case = cases.open_case(uow, is_, org.id)
        assert is_.can_see(case)
        for role in (Role.EMPLOYEUR, Role.COMITE):
            manager = replace(_principal(uow, "demo-direction"), grants=(
                Grant(org.id, org.slug, org.name, role.value),))
            assert not manager.can_see(case) and not manager.works_for(org.id)
            assert figures.visible(uow, manager) == []  # only what its organisation observes


@pytest.mark.parametrize("username", sorted(SCOPES))
def test_each_scope_downloads_its_annual_report_from_the_page(client, db, username):
    _populate(db)
    login(client, username)
    year = _year(db)
    page = client.get(f"/chiffres?periode={year}")
    assert page.status_code == 200
    report = client.get(f"/chiffres/export.docx?periode={year}")
    assert report.status_code == 200 and report.data[:2] == b"PK"


def _year(db) -> str:
    with db.unit_of_work() as uow:
        return str(uow.now().year)


def _cli(settings, master_key_file, monkeypatch) -> None:
    for name, value in (("RELAIS_HOME", str(settings.home)),
                        ("RELAIS_DATABASE_URL", settings.database_url),
                        ("RELAIS_MASTER_KEY_FILE", str(master_key_file))):
        monkeypatch.setenv(name, value)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice absent : installez "
                    "libreoffice-writer-nogui et libreoffice-calc-nogui (ops/test le fait)")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_scope_s_report_from_the_command_line_opens_in_libreoffice(
        db, settings, master_key_file, monkeypatch, tmp_path):
    _populate(db)
    _cli(settings, master_key_file, monkeypatch)
    year = _year(db)
    files = []
    for username in sorted(SCOPES):
        for fmt in ("docx", "ods"):
            target = tmp_path / f"{username}.{fmt}"
            done = CliRunner().invoke(main, ["figures", "--period", year, "--user", username,
                                             "--format", fmt, "--output", str(target)])
            assert done.exit_code == 0, done.output
            files.append(target)
        scope = CliRunner().invoke(main, ["figures", "--period", year, "--user", username,
                                          "--format", "json"])
        assert sorted(json.loads(scope.output)["scope"]) == SCOPES[username]
    converted = _convert(files, tmp_path / "pdf")
    assert sorted(p.stem for p in converted) == sorted(f.stem for f in files)
    assert all(p.stat().st_size > 1000 for p in converted)


def _convert(files: list[Path], out: Path) -> list[Path]:
    """LibreOffice opens each file and prints it to PDF (its own profile, no network)."""
    profile = out.parent / "lo-profile"
    result = []
    for path in files:
        target = out / path.suffix.lstrip(".")
        subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                        "--norestore", "--convert-to", "pdf", "--outdir", str(target),
                        str(path)], check=True, capture_output=True, timeout=180)
        result.append(target / f"{path.stem}.pdf")
    assert all(p.exists() for p in result), [p for p in result if not p.exists()]
    return result


def test_the_page_and_the_command_line_give_the_same_figures(db):
    _populate(db)
    with db.unit_of_work() as uow:
        period = figures.parse_period(str(uow.now().year))
        direction = _principal(uow, "demo-direction")
        _orgs, page = reporting.for_principal(uow, direction, period=period, slug=None)
        cli = json.loads(reporting.produce(uow, period_text=str(uow.now().year), slugs=[],
                                           username="demo-direction", fmt="json"))
    by_page = {f.id: [(r.label, None if r.suppressed else r.count)
                      for r in (*f.rows, *([f.total] if f.total else []))]
               for f in page.figures}
    by_cli = {i["id"]: [(r["label"], r["count"]) for r in i["rows"]] for i in cli["indicators"]}
    assert by_page == by_cli and by_page["personne_type"]
