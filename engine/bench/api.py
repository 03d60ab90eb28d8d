"""What a client of the REST API waits for, measured in-process (Flask's test client: the
server's time, no network): `POST /messages` by correlation among many waiting instances,
and `POST /tasks/{id}/complete` of one short protocol's step, with its SQL statements.

- messages: `instances` instances of `ops/bench/bench_message.bpmn` wait for the message
  « retour_banc »; all but one are bulk-loaded as copies of a real waiting instance (its
  state with its own ids, its `message_wait` rows). Each timed request posts the message
  correlated by `instance_id` to a different waiting instance and must be delivered to it.
- completion: a fresh instance of the benchmark protocol per request (started through the
  service layer, untimed), then its first task completed through the API, commit included.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from typing import Any

from sqlalchemy import event, func, select

from engine.audit.service import SYSTEM
from engine.bench.bulk import analyze, load_rows, reset_sequences
from engine.bench.common import BENCH_DIR, FORMS_DIR, PROCESS_ID, USER, Progress, ms, p95
from engine.bench.common import submission as step_data
from engine.bench.testbed import Testbed
from engine.cases.models import Case
from engine.db import transaction
from engine.identity import service as identity
from engine.runtime import service as runtime
from engine.runtime.models import Instance, MessageWait

MESSAGE_DIAGRAM = BENCH_DIR / "bench_message.bpmn"
MESSAGE_PROCESS = "bench_message"
MESSAGE_NAME = "retour_banc"
BATCH = 10_000


def api_client(testbed: Testbed) -> tuple[Any, dict[str, str]]:
    from engine.web.app import create_app

    with transaction(testbed.db) as uow:
        _row, token = identity.create_token(uow, SYSTEM, identity.get_user(uow, USER), "banc")
    app = create_app(testbed.settings, testbed.db)
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _timed(call: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    response = call()
    return time.perf_counter() - began, response


def _summary(times: list[float]) -> dict[str, Any]:
    return {"requests": len(times), "p50_ms": ms(statistics.median(times)),
            "p95_ms": ms(p95(times)), "max_ms": ms(max(times))}


# --- messages -------------------------------------------------------------------------------

def _waiting_sample(testbed: Testbed) -> tuple[int, dict[str, Any]]:
    with transaction(testbed.db) as uow:
        runtime.deploy(uow, SYSTEM, {MESSAGE_DIAGRAM.name: MESSAGE_DIAGRAM.read_bytes()},
                       source="cli", forms_dir=FORMS_DIR)
    with transaction(testbed.db) as uow:
        instance = runtime.start_instance(uow, testbed.principal, MESSAGE_PROCESS)
        sample_id = instance.id
    with testbed.db.unit_of_work() as uow:
        instance = uow.session.get(Instance, sample_id)
        case = uow.session.get(Case, instance.case_id)
        waits = [(w.name, w.key, w.value) for w in uow.session.scalars(
            select(MessageWait).where(MessageWait.instance_id == sample_id))]
        sample = {"instance": {c.name: getattr(instance, c.name)
                               for c in Instance.__table__.columns},
                  "case": {c.name: getattr(case, c.name) for c in Case.__table__.columns},
                  "state": json.loads(instance.state), "waits": waits}
    return sample_id, sample


def _copies(sample: dict[str, Any], case_id: int, instance_id: int) -> tuple[
        dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """One more waiting instance like the sample, with its own ids in state and index."""
    own = {"case_id": case_id, "instance_id": instance_id}
    state = sample["state"]
    state["data"].update(own)
    case = {**sample["case"], "id": case_id, "reference": f"M-{case_id:012d}"}
    instance = {**sample["instance"], "id": instance_id, "case_id": case_id,
                "state": json.dumps(state, separators=(",", ":"))}
    waits = [{"instance_id": instance_id, "name": name, "key": key,
              "value": json.dumps(own[key]) if key in own else value}
             for name, key, value in sample["waits"]]
    return case, instance, waits


def _bulk_waiting(testbed: Testbed, sample: dict[str, Any], count: int,
                  progress: Progress) -> float:
    db = testbed.db
    with db.unit_of_work() as uow:
        case_id, instance_id, wait_id = ((uow.session.scalar(select(func.max(t.id))) or 0) + 1
                                         for t in (Case, Instance, MessageWait))
    began = time.perf_counter()
    done = 0
    with db.engine.begin() as conn:
        while done < count:
            cases, instances, waits = [], [], []
            for _ in range(min(BATCH, count - done)):
                case, instance, rows = _copies(sample, case_id, instance_id)
                for row in rows:
                    row["id"], wait_id = wait_id, wait_id + 1
                cases.append(case)
                instances.append(instance)
                waits.extend(rows)
                case_id, instance_id = case_id + 1, instance_id + 1
            load_rows(conn, Case.__table__, cases)
            load_rows(conn, Instance.__table__, instances)
            load_rows(conn, MessageWait.__table__, waits)
            done += len(instances)
            if done % 50_000 == 0 or done == count:
                progress(f"  {db.dialect} : {done}/{count} instances en attente insérées")
        reset_sequences(conn, ("case_file", "instance", "message_wait"))
    with db.engine.begin() as conn:
        analyze(conn)
    return time.perf_counter() - began


def measure_messages(testbed: Testbed, instances: int, queries: int,
                     progress: Progress) -> dict[str, Any]:
    """p50/p95 of POST /messages correlated by instance id among `instances` waiting ones."""
    sample_id, sample = _waiting_sample(testbed)
    insert_s = _bulk_waiting(testbed, sample, max(0, instances - 1), progress)
    with testbed.db.unit_of_work() as uow:
        waiting = sorted(uow.session.scalars(select(Instance.id).where(
            Instance.process_id == MESSAGE_PROCESS, Instance.status == "running")))
    client, headers = api_client(testbed)
    rng = random.Random(20261130)  # noqa: S311 - reproducible choice, not security
    targets = rng.sample(waiting, min(len(waiting), queries + 5))
    times: list[float] = []
    delivered = 0
    for n, target in enumerate(targets):
        body = {"name": MESSAGE_NAME, "correlation": {"instance_id": target},
                "payload": {"suite": "acceptee"}, "message_id": f"banc-{target}"}
        elapsed, response = _timed(lambda body=body: client.post(
            "/api/v1/messages", json=body, headers=headers))
        answer = response.get_json() or {}
        if response.status_code == 202 and answer.get("delivered_to") == target:
            delivered += 1
        if n >= 5:  # the first five warm the caches
            times.append(elapsed)
    return {"instances": len(waiting), "sample_instance": sample_id,
            "insert_s": round(insert_s, 2), "delivered": delivered,
            "posted": len(targets), **_summary(times)}


# --- one task completion --------------------------------------------------------------------

def measure_completion(testbed: Testbed, queries: int) -> dict[str, Any]:
    """Server time of POST /tasks/{id}/complete at step 1 of a fresh benchmark instance."""
    client, headers = api_client(testbed)
    statements: list[int] = []
    count = [0]

    def counter(*_args: Any) -> None:
        count[0] += 1

    times: list[float] = []
    for n in range(queries + 5):
        instance_id, _ = testbed.start()
        task_id = testbed.ready_task(instance_id)
        body = {"data": step_data(1)}
        count[0] = 0
        event.listen(testbed.db.engine, "before_cursor_execute", counter)
        try:
            elapsed, response = _timed(lambda task_id=task_id, body=body: client.post(
                f"/api/v1/tasks/{task_id}/complete", json=body, headers=headers))
        finally:
            event.remove(testbed.db.engine, "before_cursor_execute", counter)
        if response.status_code != 200:
            raise RuntimeError(f"complétion refusée : HTTP {response.status_code}")
        if n >= 5:
            times.append(elapsed)
            statements.append(count[0])
    return {**_summary(times), "process": PROCESS_ID,
            "sql_statements": statistics.median(statements)}
