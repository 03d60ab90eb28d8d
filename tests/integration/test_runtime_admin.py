"""Administration of running protocols: versions and migration, lifecycle, incidents, cycles."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cli import main
from engine.db import transaction
from engine.errors import Conflict, Invalid
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.jobs import outbox
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import Instance, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
ESSAI = (FIXTURES / "bpmn" / "essai.bpmn").read_bytes()
MIWG = FIXTURES / "miwg"
FICHE = {"gravite": "haute", "recit": "r", "organisation_ASSOCIATION": "asso-victimes-demo"}


def principal(uow, username):
    return identity.principal_for(identity.get_user(uow, username))


def deploy(db, content: bytes, name: str = "essai.bpmn"):
    with transaction(db) as uow:
        return runtime.deploy(uow, SYSTEM, {name: content}, source="cli",
                              forms_dir=FIXTURES / "forms")[0].version


def start(db, process="essai") -> int:
    with transaction(db) as uow:
        return runtime.start_instance(uow, principal(uow, "demo-is"), process).id


def ready(db, username="demo-is"):
    with db.unit_of_work() as uow:
        return [(t.id, t.spec_name) for t in runtime.ready_tasks(uow, principal(uow, username))]


def status(db, iid):
    with db.unit_of_work() as uow:
        row = uow.session.get(Instance, iid)
        return row.status, row.process_version_id


def test_running_instances_keep_their_version_and_can_be_migrated(db):
    assert deploy(db, ESSAI) == 1
    iid = start(db)
    renamed = ESSAI.replace('name="Classé"'.encode(), 'name="Classé sans suite"'.encode())
    assert renamed != ESSAI and deploy(db, renamed) == 2
    _status, before = status(db, iid)
    with transaction(db) as uow:
        assert runtime.latest_version(uow, "essai").version == 2
    with transaction(db) as uow:
        runtime.migrate_instance(uow, principal(uow, "demo-admin"), iid)
    _status, after = status(db, iid)
    assert after != before
    [(task_id, name)] = ready(db)
    assert name == "fiche"
    with transaction(db) as uow:
        runtime.complete_task(uow, principal(uow, "demo-is"), task_id, FICHE)
    with transaction(db) as uow, pytest.raises(Conflict):
        runtime.migrate_instance(uow, principal(uow, "demo-admin"), iid)  # already newest


def test_migration_is_refused_with_reasons_when_the_reached_step_disappears(db):
    deploy(db, ESSAI)
    iid = start(db)
    deploy(db, without_fiche())
    with transaction(db) as uow, pytest.raises(Invalid) as refused:
        runtime.migrate_instance(uow, principal(uow, "demo-admin"), iid)
    assert refused.value.code == "migration_refused"
    assert any("n'existe plus" in e["message"] for e in refused.value.errors)
    assert status(db, iid)[1] is not None and ready(db)[0][1] == "fiche"
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        runtime.migrate_instance(uow, principal(uow, "demo-is"), iid)


def without_fiche() -> bytes:
    """Version 3 of the diagram: the starting form is gone, the start leads to the gateway."""
    text = ESSAI.decode()
    text = re.sub(r'    <bpmn:userTask id="fiche".*?</bpmn:userTask>\n', "", text, flags=re.S)
    text = text.replace("        <bpmn:flowNodeRef>fiche</bpmn:flowNodeRef>\n", "")
    text = text.replace('sourceRef="start" targetRef="fiche"', 'sourceRef="start" targetRef="gw"')
    text = text.replace('    <bpmn:sequenceFlow id="f2" sourceRef="fiche" targetRef="gw"/>\n', "")
    text = text.replace("<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_haut",
                        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f_haut")
    assert "fiche" not in text.replace("essai_fiche", "")
    return text.encode()


def test_suspend_resume_terminate(db):
    deploy(db, ESSAI)
    iid = start(db)
    admin = "demo-admin"
    with transaction(db) as uow:
        runtime.set_status(uow, principal(uow, admin), iid, "suspend")
    assert status(db, iid)[0] == "suspended" and ready(db) == []
    with transaction(db) as uow, pytest.raises(Conflict):
        runtime.set_status(uow, principal(uow, admin), iid, "suspend")
    with transaction(db) as uow:
        runtime.set_status(uow, principal(uow, admin), iid, "resume")
    assert status(db, iid)[0] == "running" and [n for _i, n in ready(db)] == ["fiche"]
    with transaction(db) as uow:
        runtime.set_status(uow, principal(uow, admin), iid, "terminate")
    assert status(db, iid)[0] == "terminated" and ready(db) == []
    with transaction(db) as uow, pytest.raises(PermissionDenied):
        runtime.set_status(uow, principal(uow, "demo-is"), iid, "resume")


def test_an_admin_retries_a_failed_connector(db, monkeypatch):
    deploy(db, ESSAI)
    iid = start(db)
    with transaction(db) as uow:
        runtime.complete_task(uow, principal(uow, "demo-is"), ready(db)[0][0], FICHE)
    echo = connectors.get("relais/echo")

    def broken(_params):
        raise ConnectionError("partenaire injoignable")

    monkeypatch.setitem(connectors._REGISTRY, "relais/echo", dataclasses.replace(echo, run=broken))
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.run_item(db, item_id)
    monkeypatch.setitem(connectors._REGISTRY, "relais/echo", echo)
    with transaction(db) as uow:
        [incident] = runtime.open_incidents(uow, principal(uow, "demo-admin"))
        runtime.retry_incident(uow, principal(uow, "demo-admin"), incident.id)
    assert outbox.run_item(db, item_id) == "done"
    assert [n for _i, n in ready(db, "demo-asso")] == ["accuse"]
    with transaction(db) as uow:
        assert runtime.open_incidents(uow, principal(uow, "demo-admin")) == []
        with pytest.raises(PermissionDenied):
            runtime.open_incidents(uow, principal(uow, "demo-is"))
    assert status(db, iid)[0] == "running"


def test_weekly_cycle_timer_raises_a_reminder_each_week(db, clock):
    deploy(db, (FIXTURES / "bpmn" / "rappel.bpmn").read_bytes(), "rappel.bpmn")
    iid = start(db, "rappel")
    assert [n for _i, n in ready(db)] == ["suivi"]
    for week in (1, 2):
        clock.advance(days=7, minutes=1)
        with transaction(db) as uow:
            assert runtime.due_timers(uow) == [iid]
            runtime.fire_timers(uow, iid)
        names = [n for _i, n in ready(db)]
        assert names.count("rappel_tache") == week and "suivi" in names
    clock.advance(days=2)
    with transaction(db) as uow:
        assert runtime.due_timers(uow) == []  # nothing before the next week


def _cli(settings, monkeypatch, *args):
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))
    monkeypatch.setenv("RELAIS_HOME", str(settings.home))
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def sqlite_settings(sqlite_template, master_key_file, tmp_path):
    """One SQLite database: the deployment report does not depend on the database engine."""
    from engine.config import Settings

    path = tmp_path / "relais.db"
    shutil.copyfile(sqlite_template, path)
    return Settings.from_env({"RELAIS_HOME": str(tmp_path),
                              "RELAIS_DATABASE_URL": f"sqlite:///{path}",
                              "RELAIS_MASTER_KEY_FILE": str(master_key_file)})


@pytest.mark.parametrize("model", sorted(p.name for p in MIWG.glob("*.bpmn")))
def test_relais_deploy_reports_miwg_models_without_crashing(sqlite_settings, monkeypatch, model):
    result = _cli(sqlite_settings, monkeypatch, "deploy", str(MIWG / model))
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "Modèle refusé" in result.output


def test_a_gateway_loop_past_the_engine_depth_becomes_an_incident_not_a_completion(db):
    deploy(db, (FIXTURES / "bpmn" / "boucle.bpmn").read_bytes(), "boucle.bpmn")
    iid = start(db, "boucle")
    assert status(db, iid)[0] == "running"  # not falsely "completed" after 499 turns
    with transaction(db) as uow:
        [incident] = runtime.open_incidents(uow, principal(uow, "demo-admin"))
        assert incident.kind == "stalled" and "boucle est trop longue" in incident.error


def test_retrying_a_persisting_stall_opens_a_fresh_incident(db):
    deploy(db, (FIXTURES / "bpmn" / "boucle.bpmn").read_bytes(), "boucle.bpmn")
    start(db, "boucle")
    with transaction(db) as uow:
        admin = principal(uow, "demo-admin")
        [first] = runtime.open_incidents(uow, admin)
        runtime.retry_incident(uow, admin, first.id)
    with transaction(db) as uow:
        [second] = runtime.open_incidents(uow, principal(uow, "demo-admin"))
        assert second.id != first.id and second.kind == "stalled"
        with pytest.raises(Conflict):
            runtime.retry_incident(uow, principal(uow, "demo-admin"), first.id)
