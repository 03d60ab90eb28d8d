"""Activity figures: facts written with their record in one transaction, figures equal to a
recount from the (decrypted) records, scopes (IS, comité de suivi, police), shredding,
exports that open, the command line, and no typed text in any of it."""

from __future__ import annotations

import csv
import io
import json
import uuid

import docx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odf.opendocument import load as load_ods
from sqlalchemy import func, select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cli import main
from engine.consent import service as consent
from engine.db import transaction
from engine.figures import exports, reporting
from engine.figures import service as figures
from engine.figures.errors import PeriodInvalid, ScopeNotFound
from engine.figures.models import Fact
from engine.identity import service as identity

PERSON = st.fixed_dictionaries({
    "personne_type": st.sampled_from(["victime", "auteur", "temoin", "autre"]),
    "arrivee": st.sampled_from(["police", "gendarmerie", "main_courante", "personne"]),
    "problematiques": st.lists(st.sampled_from(["logement", "violences", "isolement"]),
                               unique=True, max_size=3),
})


def _principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def _stats(person: dict) -> list[tuple[str, str]]:
    return [("personne_type", person["personne_type"]), ("arrivee", person["arrivee"]),
            *[("problematiques", p) for p in person["problematiques"]]]


def _receive(uow, username: str, person: dict, note: str = "") -> None:
    principal = _principal(uow, username)
    org = identity.get_organisation(uow, principal.grants[0].organisation_slug)
    case = cases.open_case(uow, principal, org.id)
    cases.store_record(uow, principal.actor, case, kind="accueil",
                       payload={**person, "note": note}, categories={"SOC"},
                       organisation_id=org.id, stats=_stats(person))


def _this_year(uow) -> figures.Period:
    return figures.parse_period(str(uow.now().year))


def test_facts_are_written_in_the_transaction_of_their_record(db):
    person = {"personne_type": "victime", "arrivee": "police", "problematiques": ["logement"]}
    with db.unit_of_work() as uow:
        _receive(uow, "demo-is", person)
        uow.rollback()
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Fact.id))) == 0
    with transaction(db) as uow:
        _receive(uow, "demo-is", person)
    with db.unit_of_work() as uow:
        rows = set(uow.session.execute(select(Fact.indicator, Fact.value)))
        assert rows == {("personne_type", "victime"), ("arrivee", "police"),
                        ("problematiques", "logement")}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.lists(PERSON, min_size=1, max_size=25))
def test_figures_always_equal_a_recount_from_the_records(db, people):
    with transaction(db) as uow:
        org = identity.get_organisation(uow, "asso-iscg-demo")
        before = {i: figures.recount(uow, i, [org.id], _this_year(uow))
                  for i in ("personne_type", "arrivee", "problematiques")}
        for person in people:
            _receive(uow, "demo-is", person)
    with db.unit_of_work() as uow:
        records = [cases.read_record(uow, SYSTEM, case, record, audited=False)
                   for case in _cases_of(uow, org.id)
                   for record in cases.records_of(uow, case, "accueil")]
        for indicator in ("personne_type", "arrivee"):
            expected = dict(before[indicator])
            for record in records[-len(people):]:
                expected[record[indicator]] = expected.get(record[indicator], 0) + 1
            assert figures.recount(uow, indicator, [org.id], _this_year(uow)) == expected
        expected = dict(before["problematiques"])
        for record in records[-len(people):]:
            for problem in record["problematiques"]:
                expected[problem] = expected.get(problem, 0) + 1
        assert figures.recount(uow, "problematiques", [org.id], _this_year(uow)) == expected


def _cases_of(uow, organisation_id: int):
    from engine.cases.models import Case

    return list(uow.session.scalars(select(Case).where(Case.organisation_id == organisation_id)
                                    .order_by(Case.id)))


def test_the_is_sees_its_post_the_comite_its_territory_and_police_nothing(db):
    with db.unit_of_work() as uow:
        assert [o.slug for o in figures.visible(uow, _principal(uow, "demo-is"))] == \
            ["asso-iscg-demo"]
        comite = _principal(uow, "demo-comite")
        assert sorted(o.slug for o in figures.visible(uow, comite)) == \
            ["asso-iscg-demo", "asso-victimes-demo"]
        assert figures.visible(uow, _principal(uow, "demo-police")) == []
        with pytest.raises(ScopeNotFound):
            figures.scope_for(uow, _principal(uow, "demo-police"), None)
        with pytest.raises(ScopeNotFound):  # another organisation: the same answer as unknown
            figures.scope_for(uow, _principal(uow, "demo-is"), "asso-victimes-demo")


def test_the_comite_never_sees_a_situation(db):
    with transaction(db) as uow:
        _receive(uow, "demo-is", {"personne_type": "victime", "arrivee": "police",
                                  "problematiques": []})
    with db.unit_of_work() as uow:
        case = _cases_of(uow, identity.get_organisation(uow, "asso-iscg-demo").id)[-1]
        with pytest.raises(Exception, match="introuvable"):
            cases.visible_case(uow, _principal(uow, "demo-comite"), case.id)


def test_shredding_a_situation_keeps_its_anonymous_counts(db):
    with transaction(db) as uow:
        principal = _principal(uow, "demo-is")
        org = identity.get_organisation(uow, "asso-iscg-demo")
        case = cases.open_case(uow, principal, org.id)
        cases.store_record(uow, principal.actor, case, kind="accueil", payload={},
                           categories={"SOC"}, organisation_id=org.id,
                           stats=[("personne_type", "victime")])
    with transaction(db) as uow:
        consent.shred_case(uow, SYSTEM, cases.get_case(uow, case.id), "destruction_request")
    with db.unit_of_work() as uow:
        assert set(uow.session.execute(select(Fact.indicator, Fact.value))) == \
            {("personne_type", "victime")}


@pytest.mark.parametrize("text", ["2026-13", "26", "2026-Q5", "", "2027-01..2026-01",
                                  "'; DROP TABLE figure_fact; --", "9" * 10_000])
def test_a_period_that_is_not_one_is_refused_in_french(text):
    with pytest.raises(PeriodInvalid, match="Période non reconnue"):
        figures.parse_period(text)


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026", "2026-01", "2026-12"), ("2026-Q3", "2026-07", "2026-09"),
    ("2026-09", "2026-09", "2026-09"), ("2026-02..2026-05", "2026-02", "2026-05")])
def test_periods_are_years_quarters_months_or_ranges(text, first, last):
    period = figures.parse_period(text)
    assert (period.first, period.last) == (first, last)


def _populated(db, marker: str = "") -> None:
    with transaction(db) as uow:
        for i in range(30):
            kind = "victime" if i < 18 else "auteur" if i < 21 else "temoin"  # 18, 3, 9
            person = {"personne_type": kind,
                      "arrivee": ["police", "gendarmerie", "personne"][i % 3],
                      "problematiques": ["violences"] if i % 2 else ["logement", "isolement"]}
            _receive(uow, "demo-is", person, note=marker)


def test_every_export_opens_and_says_the_same_suppressed_figures(db):
    _populated(db)
    with db.unit_of_work() as uow:
        org = [identity.get_organisation(uow, "asso-iscg-demo")]
        report = reporting.build(uow, org, _this_year(uow))
        as_json = json.loads(reporting.file_for(uow, org, _this_year(uow), "json"))
        as_csv = reporting.file_for(uow, org, _this_year(uow), "csv").decode("utf-8-sig")
        as_ods = reporting.file_for(uow, org, _this_year(uow), "ods")
        as_docx = reporting.file_for(uow, org, _this_year(uow), "docx")
    assert set(as_json) == {"period", "scope", "threshold", "indicators"}
    kinds = next(i for i in as_json["indicators"] if i["id"] == "personne_type")
    rows = {r["label"]: (r["count"], r["suppressed"]) for r in kinds["rows"]}
    assert rows["Victime"] == (18, False) and rows["Auteur"] == (None, True)
    assert rows["Témoin"] == (None, True) and rows["Autre"] == (0, False)
    assert rows["Total"] == (30, False)
    lines = list(csv.reader(io.StringIO(as_csv), delimiter=";"))
    assert ["Personnes reçues, selon leur place dans la situation", "Victime", "18"] in lines
    assert ["Personnes reçues, selon leur place dans la situation", "Auteur", "< 10"] in lines
    spreadsheet = load_ods(io.BytesIO(as_ods))
    assert len(spreadsheet.spreadsheet.childNodes) == len(report.figures)
    document = docx.Document(io.BytesIO(as_docx))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Volet qualitatif" in headings
    assert any("selon leur place" in h for h in headings)
    assert len(document.inline_shapes) == len(report.figures)  # one chart per indicator


def test_no_typed_text_reaches_the_facts_or_any_export(db):
    marker = f"MARQUEUR-{uuid.uuid4().hex}"
    _populated(db, marker)
    with db.unit_of_work() as uow:
        facts = " ".join(f"{f.indicator} {f.value} {f.source} {f.subject} {f.situation_key}"
                         for f in uow.session.scalars(select(Fact)))
        assert marker not in facts
        org = [identity.get_organisation(uow, "asso-iscg-demo")]
        for fmt in exports.FORMATS:
            content = reporting.file_for(uow, org, _this_year(uow), fmt)
            assert marker.encode() not in content, fmt


def test_the_command_line_writes_a_user_s_scope(db, settings, master_key_file, monkeypatch,
                                                tmp_path):
    _populated(db)
    for name, value in (("RELAIS_HOME", str(settings.home)),
                        ("RELAIS_DATABASE_URL", settings.database_url),
                        ("RELAIS_MASTER_KEY_FILE", str(master_key_file))):
        monkeypatch.setenv(name, value)
    with db.unit_of_work() as uow:
        year = str(uow.now().year)
    out = CliRunner().invoke(main, ["figures", "--period", year, "--user", "demo-comite",
                                    "--format", "json"])
    assert out.exit_code == 0, out.output
    assert sorted(json.loads(out.output)["scope"]) == ["asso-iscg-demo", "asso-victimes-demo"]
    report = tmp_path / "bilan.docx"
    done = CliRunner().invoke(main, ["figures", "--period", year, "--organisation",
                                     "asso-iscg-demo", "--format", "docx", "--output",
                                     str(report)])
    assert done.exit_code == 0, done.output
    assert docx.Document(str(report)).paragraphs[0].text == "Bilan d'activité"
    refused = CliRunner().invoke(main, ["figures", "--period", year, "--user", "demo-police"])
    assert refused.exit_code == 2 and "pas accessibles" in refused.output
    bad = CliRunner().invoke(main, ["figures", "--period", "2026-13", "--organisation",
                                    "asso-iscg-demo"])
    assert bad.exit_code == 2 and "Période non reconnue" in bad.output
    needs_file = CliRunner().invoke(main, ["figures", "--period", year, "--organisation",
                                           "asso-iscg-demo", "--format", "ods"])
    assert needs_file.exit_code == 2 and "--output" in needs_file.output


def test_a_person_received_in_the_register_is_counted_by_month_without_any_typed_text(db):
    from datetime import date

    from engine.situations import service as situations

    raw = {"nom": "MARQUEUR-nom", "prenoms": "MARQUEUR-prenom", "naissance": "1985-03-02",
           "commune": "la verriere", "sexe": "femme", "qualite": "victime",
           "arrivee": "spontanee",
           "recu_le": "2026-10-14", "problematiques": ["violences_conjugales", "logement"],
           "orientations": ["association_victimes"], "connu_service_social": "inconnu",
           "mineurs": "on"}
    with transaction(db) as uow:
        data = situations.parse_reception(raw, date(2026, 11, 30))
        situations.receive(uow, _principal(uow, "demo-is"), data)
    with db.unit_of_work() as uow:
        facts = {(f.indicator, f.value, f.month) for f in uow.session.scalars(select(Fact))}
    assert facts == {("personne_type", "victime", "2026-10"), ("arrivee", "personne", "2026-10"),
                     ("connu_services_sociaux", "ne_sait_pas", "2026-10"),
                     ("mineurs_concernes", "oui", "2026-10"),
                     ("problematiques", "violences", "2026-10"),
                     ("problematiques", "logement", "2026-10"),
                     ("orientations", "association", "2026-10"),
                     ("tranche_age", "41_60", "2026-10"), ("sexe", "femme", "2026-10"),
                     ("commune", "78644", "2026-10")}
    assert not any("MARQUEUR" in value for fact in facts for value in fact)
