"""Invariant 1: free text typed into forms never rests in clear — not in the database file,
not in a PostgreSQL dump, not in the logs, not in the broker's messages."""

from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path
from typing import Any

from helpers import bearer
from sqlalchemy.engine import make_url

import forms
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.jobs.runner import Jobs
from engine.runtime import service as runtime

FIXTURES = Path(__file__).parents[1] / "fixtures"
FORM_DIRS = [forms.FORMS_DIR, FIXTURES / "forms"]


def sample_submission(form: forms.Form, marker: str) -> dict[str, Any]:
    """A valid submission whose every free-text field carries `marker` (and its own name)."""
    data: dict[str, Any] = {}
    for name, prop in form.properties.items():
        if "enum" in prop:
            data[name] = prop["enum"][-1]
        elif prop.get("type") == "boolean":
            data[name] = True
        elif prop.get("type") in {"integer", "number"}:
            data[name] = prop.get("minimum", 1)
        elif prop.get("format") == "date":
            data[name] = "2026-11-20"
        elif prop.get("type") == "string":
            data[name] = f"{marker}-{name}"
    return form.validate(data)


def all_forms() -> list[forms.Form]:
    found = []
    for directory in FORM_DIRS:
        for path in sorted(directory.glob("*.json")):
            if not path.name.endswith(".ui.json"):
                found.append(forms.load(path.name, directory))
    return found


def test_every_form_can_be_filled_with_markers():
    markers = 0
    for form in all_forms():
        data = sample_submission(form, "M")
        markers += sum(1 for v in data.values() if isinstance(v, str) and v.startswith("M-"))
    assert markers >= 1  # at least the fixture's free-text field


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


def _drain(queue) -> list[bytes]:
    """The encoded messages the stub broker holds (what Redis or RabbitMQ would carry)."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    assert all(isinstance(item, bytes) for item in items)
    return items


def test_the_marker_test_would_see_clear_text(settings, db):
    """Guard: the scan does find a marker that was written in clear."""
    marker = f"TEMOIN{uuid.uuid4().hex[:10]}"
    with transaction(db) as uow:
        from engine.audit import service as audit

        audit.append(uow, SYSTEM, "test.clear_text", note=marker)
    db.engine.dispose()
    assert marker.encode() in _database_bytes(settings)
