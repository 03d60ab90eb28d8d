"""Service tasks through a real broker: a separate `relais worker`, a worker killed mid-task,
and a connector that keeps failing until an administrator's incident.

Invariant 4 (side effects go through the outbox, run by idempotent actors: a crash never loses
or doubles one) and the lease of invariant 5, shown across processes:

- the happy path runs `relais worker` as its own process on Redis, the test process playing
  the scheduler (`Jobs.tick` relays due outbox rows to the broker);
- a worker SIGKILLed while its connector runs loses nothing: once the row's lease has expired
  the relay sends it again and a second worker completes it — exactly once;
- a connector that keeps failing is retried with exponential backoff (through the broker and
  `tick`, time moved by the injected clock) and ends in an incident only administrators see.

Redis tests need RELAIS_TEST_BROKER_URL (skipped without it, failing when it is unreachable).
Each test uses its own Redis key namespace and deletes it afterwards: tests sharing the server
never see each other's messages. Waiting on the worker process polls the database with a
bound; time-dependent decisions (leases, backoff) use the injected clock, never sleeps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dramatiq
import pytest
from echo_support import worker_command
from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.config import Settings
from engine.db import Database, transaction
from engine.errors import ConfigurationError
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.jobs import outbox
from engine.jobs.broker import DEFAULT_NAMESPACE, NAMESPACE_ENV, broker_namespace, make_broker
from engine.jobs.runner import Jobs
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance, OutboxItem

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BROKER_ENV = "RELAIS_TEST_BROKER_URL"
LEASE_ENV = "RELAIS_OUTBOX_LEASE_SECONDS"
WAIT_SECONDS = 30.0  # bound on waiting for a worker process; the tests take seconds
FICHE_HAUTE = {"gravite": "haute", "recit": "Récit d'essai.", "date_faits": "2026-11-20",
               "organisation_ASSOCIATION": "asso-victimes-demo"}


# --- the broker ----------------------------------------------------------------------------

@pytest.fixture
def broker_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """RELAIS_TEST_BROKER_URL, reachable, with a key namespace of this test's own.

    Unset → skipped; set but unreachable → the test fails (a configured broker that does not
    answer is an error, not a reason to stay silent). The namespace is exported as
    RELAIS_BROKER_NAMESPACE so the test's own broker and the worker processes share it; only
    keys under it are deleted afterwards.
    """
    url = os.environ.get(BROKER_ENV)
    if not url:
        pytest.skip(f"Courtier non configuré : définissez {BROKER_ENV} pour ces tests.")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        pytest.skip(f"{BROKER_ENV} désigne un courtier RabbitMQ : ces tests demandent Redis.")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        pytest.fail(f"Courtier injoignable ({BROKER_ENV}={url}) : {exc}", pytrace=False)
    namespace = f"relais-test-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    assert not list(client.scan_iter(match=f"{namespace}:*", count=500))
    monkeypatch.setenv(NAMESPACE_ENV, namespace)
    try:
        yield url
    finally:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


def test_the_broker_namespace_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(NAMESPACE_ENV, raising=False)
    assert broker_namespace() == DEFAULT_NAMESPACE == "dramatiq"
    monkeypatch.setenv(NAMESPACE_ENV, "relais-recette.2")
    broker = make_broker("redis://127.0.0.1:1/0")  # no connection is made before use
    assert broker.namespace == "relais-recette.2"  # type: ignore[attr-defined]
    for bad in ("a b", "-x", "clé", "x" * 101, "a:b"):
        monkeypatch.setenv(NAMESPACE_ENV, bad)
        with pytest.raises(ConfigurationError, match=NAMESPACE_ENV):
            make_broker("redis://127.0.0.1:1/0")


# --- worker processes ----------------------------------------------------------------------

class WorkerProcess:
    """`relais worker` in its own process, on the test's database and broker namespace."""

    def __init__(self, settings: Settings, broker_url: str, log_path: Path, threads: int):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
        env.update({
            "RELAIS_HOME": str(settings.home),
            "RELAIS_DATABASE_URL": settings.database_url,
            "RELAIS_MASTER_KEY_FILE": str(settings.master_key_file),
            "RELAIS_BROKER_URL": broker_url,
            NAMESPACE_ENV: os.environ[NAMESPACE_ENV],
            "PYTHONUNBUFFERED": "1",
        })
        if LEASE_ENV in os.environ:
            env[LEASE_ENV] = os.environ[LEASE_ENV]
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                worker_command("worker", "--threads", str(threads)),
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"le worker s'est arrêté (code {code}) :\n{self.output()}", pytrace=False)

    def kill(self) -> None:
        """SIGKILL: no handler, no clean-up — a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def spawn_worker(settings: Settings, broker_url: str,
                 tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; every one is stopped at teardown, whatever happened (and
    before the broker namespace is deleted)."""
    started: list[WorkerProcess] = []

    def spawn(threads: int = 1) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        worker = WorkerProcess(settings, broker_url, log_path, threads)
        started.append(worker)
        return worker

    try:
        yield spawn
    finally:
        for worker in started:
            worker.stop()


@pytest.fixture
def jobs_on(db: Database) -> Iterator[Callable[[str | None], Jobs]]:
    """The test process's scheduler side: `Jobs` on the test database (and injected clock)."""
    made: list[Jobs] = []

    def make(url: str | None) -> Jobs:
        made.append(Jobs(db, url))
        return made[-1]

    try:
        yield make
    finally:
        for jobs in made:
            jobs.stop()
            jobs.broker.close()


def wait_for_row(db: Database, item_id: int, status: str, attempts: int, what: str,
                 worker: WorkerProcess) -> SimpleNamespace:
    """Poll the outbox row until it has `status` after `attempts`; fail after WAIT_SECONDS,
    at once if it failed or the worker died, with the row and the worker's output."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        current = row(db, item_id)
        if (current.status, current.attempts) == (status, attempts):
            return current
        worker.check_alive()
        if current.last_error or current.attempts > attempts or time.monotonic() > deadline:
            pytest.fail(f"{what} : non atteint ({current})\n{worker.output()}", pytrace=False)
        time.sleep(0.05)


# --- the protocol --------------------------------------------------------------------------

def principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def deploy(db: Database, name: str) -> None:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {name: (FIXTURES / "bpmn" / name).read_bytes()},
                       source="cli", forms_dir=FIXTURES / "forms")


def start_until_service_task(db: Database, process_id: str) -> tuple[int, int]:
    """Start an instance, fill its fiche (high severity): returns (instance id, outbox id)."""
    with transaction(db) as uow:
        iid = runtime.start_instance(uow, principal(uow, "demo-is"), process_id).id
    with transaction(db) as uow:
        (task,) = runtime.ready_tasks(uow, principal(uow, "demo-is"))
        runtime.complete_task(uow, principal(uow, "demo-is"), task.id, FICHE_HAUTE, None)
    with db.unit_of_work() as uow:
        (item,) = uow.session.scalars(select(OutboxItem).where(OutboxItem.instance_id == iid))
        assert (item.status, item.attempts, item.operator) == ("pending", 0, "relais/echo")
        return iid, item.id


def row(db: Database, item_id: int) -> SimpleNamespace:
    """A fresh, detached snapshot of an outbox row (what other processes committed)."""
    with db.unit_of_work() as uow:
        item = uow.session.get(OutboxItem, item_id)
        assert item is not None
        return SimpleNamespace(status=item.status, attempts=item.attempts,
                               next_attempt_at=item.next_attempt_at, done_at=item.done_at,
                               result=item.result, last_error=item.last_error)


def audited(db: Database, action: str, instance_id: int) -> list[dict[str, Any]]:
    with db.unit_of_work() as uow:
        entries = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.subject_id == str(instance_id)))
        return [json.loads(e.details) for e in entries]


def human_tasks(db: Database, instance_id: int) -> list[tuple[str, str]]:
    with db.unit_of_work() as uow:
        return [(t.spec_name, t.state) for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id)
            .order_by(HumanTask.id))]


def ready_for(db: Database, username: str) -> list[str]:
    with db.unit_of_work() as uow:
        return [t.spec_name for t in runtime.ready_tasks(uow, principal(uow, username))]


def wait_for_unacked(broker_url: str, expected: int, worker: WorkerProcess) -> None:
    """Wait until `expected` messages of the "relais" queue are still unacknowledged.

    dramatiq's Redis broker keeps each message body in the hash "<namespace>:<queue>.msgs"
    until a worker acknowledges it, which it does after the actor returned.
    """
    import redis

    key = f"{os.environ[NAMESPACE_ENV]}:relais.msgs"
    client = redis.Redis.from_url(broker_url)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := client.hlen(key)) != expected:
            worker.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"{left} message(s) non acquitté(s), {expected} attendu(s)\n"
                            f"{worker.output()}", pytrace=False)
            time.sleep(0.05)
    finally:
        client.close()


def chain_is_intact(db: Database) -> None:
    with db.unit_of_work() as uow:
        result = audit.verify(uow)
    assert result.ok, result.reason


# --- tests ---------------------------------------------------------------------------------

def test_a_separate_relais_worker_runs_the_service_task_through_redis(
        db, broker_url, spawn_worker, jobs_on, clock):
    deploy(db, "essai.bpmn")
    iid, item_id = start_until_service_task(db, "essai")
    jobs = jobs_on(broker_url)
    assert ready_for(db, "demo-asso") == []

    worker = spawn_worker()
    assert jobs.tick() == {"timers": 0, "outbox": 1, "outbox_purged": 0}
    done = wait_for_row(db, item_id, "done", 1, "la tâche exécutée par le worker", worker)
    worker.check_alive()  # it ran the task and is still serving

    assert done.attempts == 1 and done.done_at is not None and done.last_error is None
    assert json.loads(done.result) == {"message": "alerte"}
    assert ready_for(db, "demo-asso") == ["accuse"]
    assert human_tasks(db, iid) == [("fiche", "completed"), ("accuse", "ready")]
    with db.unit_of_work() as uow:
        assert '"echo_result"' in uow.session.get(Instance, iid).state
    completed = audited(db, "runtime.service_task_completed", iid)
    assert completed == [{"operator": "relais/echo", "outbox": item_id}]
    chain_is_intact(db)

    clock.advance(hours=1)  # far past any lease: a done row is never sent again
    assert jobs.tick()["outbox"] == 0


def test_a_worker_killed_mid_task_loses_nothing_and_the_task_completes_once(
        db, broker_url, spawn_worker, jobs_on, clock, monkeypatch):
    # The lease, in both processes (claim_due and run_item read it on each call): longer than
    # the connector's pause, so a live attempt keeps it; its expiry after the crash is reached
    # by moving the injected clock, not by waiting.
    monkeypatch.setenv(LEASE_ENV, "10")
    deploy(db, "lent.bpmn")  # relais/echo with pause_seconds = 3
    iid, item_id = start_until_service_task(db, "lent")
    jobs = jobs_on(broker_url)

    first = spawn_worker()
    assert jobs.tick()["outbox"] == 1
    running = wait_for_row(db, item_id, "running", 1, "le premier worker a commencé", first)
    first.kill()  # while the connector pauses: its result is never committed

    crashed = row(db, item_id)
    assert running.attempts == crashed.attempts == 1, "the first attempt is counted"
    assert crashed.status == "running" and crashed.done_at is None, \
        "the first worker finished before it was killed: the pause is too short"
    assert audited(db, "runtime.service_task_completed", iid) == []
    assert ready_for(db, "demo-asso") == []

    # While the dead worker's lease runs (the worker set it from its own clock), the relay
    # does not send the row again; once it has expired, it does.
    assert jobs.tick()["outbox"] == 0
    clock.set(crashed.next_attempt_at + timedelta(seconds=1))
    second = spawn_worker(threads=2)
    assert jobs.tick()["outbox"] == 1
    wait_for_row(db, item_id, "running", 2, "le second worker a commencé", second)
    # A duplicate delivery while the live attempt holds the lease (as a broker redelivers
    # after a lost connection): the worker's free thread must not start a second run.
    jobs.run_outbox.send(item_id)
    done = wait_for_row(db, item_id, "done", 2, "le second worker a terminé", second)
    # Both messages sent to the second worker were handled; the only one left is the dead
    # worker's, never acknowledged.
    wait_for_unacked(broker_url, 1, second)
    second.check_alive()

    # Exactly once: one completion, one next human task, two attempts, an intact log.
    assert done.attempts == 2 and done.last_error is None
    assert json.loads(done.result) == {"message": "lent", "pause_seconds": 3}
    assert audited(db, "runtime.service_task_completed", iid) == [
        {"operator": "relais/echo", "outbox": item_id}]
    assert human_tasks(db, iid) == [("fiche", "completed"), ("accuse", "ready")]
    assert ready_for(db, "demo-asso") == ["accuse"]
    assert [d["outbox"] for d in audited(db, "runtime.service_task_queued", iid)] == [item_id]
    chain_is_intact(db)
    # A late redelivery of the dead worker's message changes nothing.
    assert outbox.run_item(db, item_id) == "skipped"
    clock.advance(hours=1)
    assert jobs.tick()["outbox"] == 0
    assert row(db, item_id).attempts == 2


def test_a_connector_that_keeps_failing_retries_with_backoff_then_opens_an_incident(
        db, jobs_on, clock, monkeypatch):
    """Through the relay and a dramatiq worker (in process, stub broker), time moved by the
    injected clock: each retry is sent exactly when its backoff has elapsed, not before."""
    deploy(db, "essai.bpmn")
    iid, item_id = start_until_service_task(db, "essai")

    def broken(_params):
        raise RuntimeError("panne simulée du partenaire")

    monkeypatch.setitem(connectors._REGISTRY, "relais/echo",
                        dataclasses.replace(connectors.get("relais/echo"), run=broken))
    jobs = jobs_on(None)
    worker = dramatiq.Worker(jobs.broker, worker_threads=1, worker_timeout=20)
    worker.start()
    try:
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            assert jobs.tick()["outbox"] == 1, f"attempt {attempt} is due"
            jobs.broker.join("relais", timeout=10_000)  # type: ignore[attr-defined]
            worker.join()
            after = row(db, item_id)
            assert after.attempts == attempt
            assert after.last_error == "RuntimeError: panne simulée du partenaire"
            if attempt == outbox.MAX_ATTEMPTS:
                break
            backoff = timedelta(seconds=outbox.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
            assert after.status == "pending"
            assert after.next_attempt_at == clock.now() + backoff
            clock.advance(seconds=backoff.total_seconds() - 1)
            assert jobs.tick()["outbox"] == 0, "sent again before its backoff elapsed"
            clock.advance(seconds=1)
        assert row(db, item_id).status == "failed"
        clock.advance(days=1)
        assert jobs.tick()["outbox"] == 0, "a failed row is never sent again by itself"
    finally:
        worker.stop()

    with db.unit_of_work() as uow:
        (incident,) = runtime.open_incidents(uow, principal(uow, "demo-admin"))
        assert (incident.instance_id, incident.kind, incident.outbox_id, incident.attempts) \
            == (iid, "connector_failed", item_id, outbox.MAX_ATTEMPTS)
        assert "relais/echo" in incident.error and f"{outbox.MAX_ATTEMPTS} fois" in incident.error
        assert "panne simulée du partenaire" not in incident.error  # the summary stays generic
        assert "panne simulée du partenaire" in incident.traceback
        assert uow.session.get(Instance, iid).status == "running"
        for username in ("demo-is", "demo-asso"):
            with pytest.raises(PermissionDenied):
                runtime.open_incidents(uow, principal(uow, username))
    assert [d["kind"] for d in audited(db, "runtime.incident_opened", iid)] == ["connector_failed"]
    assert audited(db, "runtime.service_task_completed", iid) == []
    assert human_tasks(db, iid) == [("fiche", "completed")]
    chain_is_intact(db)
