"""Invariant 1: free text typed into forms never rests in clear — not in the database file,
not in a PostgreSQL dump, not in the logs, not in the broker's messages.

`sample_submission` fills every free-text field of any form with a marker; the five bundled
protocols are then run end to end through the API with such submissions (documents
generated, signed, sealed, filed, exported), the worker fed through the in-process broker,
and the marker is looked for everywhere.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import bearer
from protocol_support import Territory
from sqlalchemy.engine import make_url

import forms
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.jobs import outbox
from engine.jobs.runner import Jobs
from engine.runtime import service as runtime

FIXTURES = Path(__file__).parents[1] / "fixtures"
FORM_DIRS = [forms.FORMS_DIR, FIXTURES / "forms"]
DAY = "2026-11-20"
CODES = ("essai", "asso-victimes-demo")  # array items with a pattern are codes, never text


def _text(name: str, prop: dict[str, Any], marker: str) -> str | None:
    """A free-text value carrying the marker (and the field's name) that fits the field."""
    limit = prop.get("maxLength", 10_000)
    pattern = prop.get("pattern")
    for candidate in (f"{marker}-{name}", f"20/11/2026 : {marker}-{name}"):
        candidate = candidate[:limit]
        if pattern is None or re.search(pattern, candidate):
            return candidate
    default = prop.get("default")
    return default if isinstance(default, str) else None


def _array(prop: dict[str, Any]) -> list[Any] | None:
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    if "enum" in items:
        return [items["enum"][-1]]
    if items.get("type") == "string" and "pattern" in items:
        fitting = [c for c in CODES if re.search(items["pattern"], c)]
        return fitting[:1] or None
    return None


def sample_submission(form: forms.Form, marker: str) -> dict[str, Any]:
    """A valid submission whose every free-text field carries `marker` (and its own name):
    fixed values as fixed, the last choice of each list, booleans true, dates and numbers at
    their first allowed value."""
    data: dict[str, Any] = {}
    for name, prop in form.properties.items():
        if "const" in prop:
            data[name] = prop["const"]
        elif "enum" in prop:
            data[name] = prop["enum"][-1]
        elif prop.get("type") == "boolean":
            data[name] = True
        elif prop.get("type") in {"integer", "number"}:
            data[name] = prop.get("minimum", 1)
        elif prop.get("format") == "date":
            data[name] = DAY
        elif prop.get("format") == "date-time":
            data[name] = f"{DAY}T10:00:00+01:00"
        elif prop.get("type") == "array":
            value = _array(prop)
            if value is not None:
                data[name] = value
        elif prop.get("type") == "string":
            value = _text(name, prop, marker)
            if value is not None:
                data[name] = value
    return form.validate(data)


def all_forms() -> list[forms.Form]:
    found = []
    for directory in FORM_DIRS:
        for path in sorted(directory.glob("*.json")):
            if not path.name.endswith(".ui.json"):
                found.append(forms.load(path.name, directory))
    return found


def _free_text(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "string" and "enum" not in prop and "const" not in prop \
        and "format" not in prop and prop.get("default") is None


def test_every_form_can_be_filled_with_markers():
    for form in all_forms():
        data = sample_submission(form, "M")
        for name, prop in form.properties.items():
            if _free_text(prop):
                assert str(data.get(name, "")).find(f"M-{name}") >= 0, (form.name, name)
    assert sum(1 for form in all_forms() for p in form.properties.values() if _free_text(p)) >= 40


def _dump(database_url: str) -> bytes:
    url = make_url(database_url)
    return subprocess.run(
        ["pg_dump", "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
         "-U", url.username or "postgres", url.database or ""],
        check=True, capture_output=True, timeout=120).stdout


def _database_bytes(settings) -> bytes:
    if settings.database_url.startswith("sqlite"):
        path = Path(make_url(settings.database_url).database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return _dump(settings.database_url)


def _drain(queue) -> list[bytes]:
    """The encoded messages the stub broker holds (what Redis or RabbitMQ would carry)."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    assert all(isinstance(item, bytes) for item in items)
    return items


def test_markers_never_rest_in_clear(client, db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    marker = f"MARQUEUR{uuid.uuid4().hex[:12]}"
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {"essai.bpmn": (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")
    headers = bearer(db, "demo-is")
    started = client.post("/api/v1/instances", json={"process_id": "essai"}, headers=headers)
    assert started.status_code == 201
    [task] = client.get("/api/v1/tasks", headers=headers).get_json()
    form = forms.load("essai_fiche.json", FIXTURES / "forms")
    data = {**sample_submission(form, marker), "gravite": "haute"}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                       headers=headers)
    assert done.status_code == 200, done.get_json()

    jobs = Jobs(db, None)  # in-process broker: inspect exactly what would be sent
    jobs.tick()
    queued = [m for q in jobs.broker.queues.values() for m in _drain(q)]
    assert queued, "the service task should have been relayed to the broker"

    # The record was stored (encrypted) and can be read back with the case key.
    with db.unit_of_work() as uow:
        from engine.cases import service as cases
        from engine.cases.models import CaseRecord

        record = uow.session.query(CaseRecord).one()
        case = cases.get_case(uow, record.case_id)
        assert cases.read_record(uow, SYSTEM, case, record, audited=False)["recit"] \
            == f"{marker}-recit"
        db.engine.dispose()  # checkpoint nothing more; read the files as they are

    needle = marker.encode()
    assert needle not in _database_bytes(settings)
    assert marker not in caplog.text
    assert all(needle not in m for m in queued)


class _Relay:
    """The scheduler and the worker, through the in-process broker: every message is kept
    (to be searched) and its outbox row then run, as a worker would."""

    def __init__(self, t: Territory):
        self.t = t
        self.jobs = Jobs(t.db, None)
        self.messages: list[bytes] = []

    def __call__(self) -> list[str]:
        outcomes: list[str] = []
        for _round in range(30):
            self.jobs.tick()
            sent = [m for q in self.jobs.broker.queues.values() for m in _drain(q)]
            if not sent:
                return outcomes
            self.messages += sent
            for message in sent:
                outcomes.append(outbox.run_item(self.t.db, json.loads(message)["args"][0]))
        raise AssertionError("the outbox never empties")


@pytest.fixture
def marked(client, db, clock) -> tuple[Territory, str, _Relay]:
    t = Territory(client, db, clock)
    relay = _Relay(t)
    t.work = relay  # type: ignore[method-assign]
    return t, f"MARQUEUR{uuid.uuid4().hex[:12]}", relay


def fill(t: Territory, marker: str, user: str, instance_id: int, name: str | None = None,
         **overrides: Any) -> None:
    """Complete the task with a marker-filled submission of its own form (as the task
    shows it: fixed values fixed), then the given choices."""
    task = t.task(user, instance_id, name)
    detail = t.get(user, f"/tasks/{task['id']}")
    data: dict[str, Any] = {}
    if detail["form"] is not None:
        form = forms.Form(name=task["form_name"], schema=detail["form"]["schema"])
        data = {**sample_submission(form, marker), **overrides}
        data.pop("expires_on", None)  # a consent's expiry: the protocol's (the sample's is past)
    t.post(user, f"/tasks/{task['id']}/complete", {"data": data})
    t.work()


def _violence_conjugale(t: Territory, m: str) -> None:
    vc = t.start("demo-is", "violence_conjugale")["id"]
    fill(t, m, "demo-is", vc, danger_immediat=False)
    fill(t, m, "demo-is", vc)
    fill(t, m, "demo-is", vc, decision="granted")
    [sheet] = t.inbox("demo-asso")
    dossier = t.start("demo-asso", "violence_conjugale_dossier")
    fill(t, m, "demo-asso", dossier["id"], action="classer")
    fill(t, m, "demo-asso", dossier["id"], envoi=sheet["id"])
    export = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])["id"]
    fill(t, m, "demo-asso", export, action="exporter")
    fill(t, m, "demo-asso", export, unite_destinataire="commissariat-demo")
    fill(t, m, "demo-asso", export, decision="granted")
    assert t.status(vc) == "completed" and t.status(export) == "running"


def _cmp_binome(t: Territory, m: str) -> None:
    pair = t.start("demo-is", "cmp_binome")["id"]
    fill(t, m, "demo-is", pair, urgence_psychiatrique=False)
    fill(t, m, "demo-is", pair)
    t.later(minutes=1)  # the appointment (in the past) is due
    fill(t, m, "demo-is", pair, decision="granted")
    fill(t, m, "demo-cmp", pair)
    fill(t, m, "demo-is", pair)
    fill(t, m, "demo-is", pair)
    fill(t, m, "demo-cmp", pair, accord_cmp="accord")
    fill(t, m, "demo-is", pair, accord_is="accord")
    assert t.status(pair) == "completed"


def _itp_synthese(t: Territory, m: str) -> None:
    itp = t.start("demo-is", "itp_synthese")["id"]
    fill(t, m, "demo-is", itp)
    fill(t, m, "demo-is", itp)  # not informed: shared secrecy, reason written
    fill(t, m, "demo-is", itp)
    fill(t, m, "demo-itp", itp, completude="a_completer")
    fill(t, m, "demo-is", itp)
    fill(t, m, "demo-itp", itp, completude="complete")
    fill(t, m, "demo-itp", itp)
    fill(t, m, "demo-itp", itp)
    fill(t, m, "demo-is", itp)  # the IS notes the session's date and place
    [session] = [s for s in t.get("demo-itp", "/itp/sessions") if s["booked"]]
    t.clock.set(datetime.fromisoformat(session["starts_at"]))
    t.later(minutes=1)
    fill(t, m, "demo-itp", itp, examen="examinee")
    assert t.task("demo-is", itp)["name"] == "Proposer un point de suivi"


def _fiche_liaison(t: Territory, m: str) -> None:
    liaison = t.start("demo-is", "fiche_liaison")["id"]
    fill(t, m, "demo-is", liaison)  # a child may be in danger: the CRIP branch
    fill(t, m, "demo-is", liaison, danger_grave=False)
    fill(t, m, "demo-is", liaison, information="not_informed_contrary_to_interest")
    assert len(t.inbox("demo-crip")) == 1


def _convocation_mineurs(t: Territory, m: str) -> None:
    minor = t.start("demo-is", "convocation_mineurs")["id"]
    fill(t, m, "demo-is", minor)
    fill(t, m, "demo-dpp", minor, suivi_judiciaire=False, deja_convoque=False)
    fill(t, m, "demo-is", minor)
    fill(t, m, "demo-is", minor)
    t.later(minutes=1)
    fill(t, m, "demo-dpp", minor, presence="presents")
    fill(t, m, "demo-dpp", minor)
    fill(t, m, "demo-is", minor)
    fill(t, m, "demo-is", minor)
    fill(t, m, "demo-is", minor, presenter_cddf="oui")
    fill(t, m, "demo-is", minor)
    assert t.status(minor) == "completed" and len(t.inbox("demo-cddf")) == 1


def _orientation_is(t: Territory, m: str) -> None:
    orientation = t.start("demo-police", "orientation_is")["id"]
    fill(t, m, "demo-police", orientation)
    fill(t, m, "demo-police", orientation, decision="granted")
    fill(t, m, "demo-is", orientation)
    assert t.status(orientation) == "completed"


def _requisition_judiciaire(t: Territory, m: str) -> None:
    sent = t.start("demo-police", "requisition_judiciaire")["id"]
    fill(t, m, "demo-police", sent)
    fill(t, m, "demo-police", sent)
    [received] = t.received("demo-is", "Réquisition judiciaire")
    answer = t.start("demo-is", "requisition_reponse")["id"]
    fill(t, m, "demo-is", answer, envoi=received["id"], service_requerant="police")
    fill(t, m, "demo-is", answer)
    fill(t, m, "demo-is", answer)
    fill(t, m, "demo-is2", answer, review_decision="approved")
    assert t.status(answer) == "completed"


def test_the_protocols_leave_no_marker_in_clear(marked, settings, caplog):
    t, marker, relay = marked
    caplog.set_level(logging.DEBUG)
    for run in (_violence_conjugale, _cmp_binome, _itp_synthese, _fiche_liaison,
                _convocation_mineurs, _orientation_is, _requisition_judiciaire):
        run(t, marker)
    assert t.incidents() == []
    assert relay.messages, "connectors went through the broker"
    # the marker is there, for its recipient only
    [sheet] = t.received("demo-police", "Dossier protocole violences conjugales")
    assert f"{marker}-victime_nom" in t.document("demo-police", sheet["id"])
    t.db.engine.dispose()

    needle = marker.encode()
    assert needle not in _database_bytes(settings)
    assert marker not in caplog.text
    assert all(needle not in message for message in relay.messages)


def test_the_marker_test_would_see_clear_text(settings, db):
    """Guard: the scan does find a marker that was written in clear."""
    marker = f"TEMOIN{uuid.uuid4().hex[:10]}"
    with transaction(db) as uow:
        from engine.audit import service as audit

        audit.append(uow, SYSTEM, "test.clear_text", note=marker)
    db.engine.dispose()
    assert marker.encode() in _database_bytes(settings)
