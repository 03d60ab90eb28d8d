"""The task list at scale: instances bulk-inserted beside the benchmark's own, then the latency
of `runtime.ready_tasks` and `runtime.worklist` and the database's plan."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select

from engine.audit.service import SYSTEM
from engine.bench.api import api_client
from engine.bench.bulk import analyze, load_rows, reset_sequences
from engine.bench.common import (
    BULK_BATCH,
    PROCESS_ID,
    TASKLIST_ORGANISATIONS,
    TASKLIST_ROLES,
    TASKLIST_RUNNING_SHARE,
    Progress,
    ms,
    p95,
)
from engine.bench.testbed import Testbed
from engine.cases.models import Case
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.models import Organisation
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance, ProcessVersion


def _bulk_organisations(testbed: Testbed) -> list[int]:
    with transaction(testbed.db) as uow:
        existing = list(uow.session.scalars(select(Organisation.id)))
        for n in range(len(existing), TASKLIST_ORGANISATIONS):
            identity.create_organisation(uow, SYSTEM, slug=f"bench-org-{n:02d}",
                                         name=f"Organisation de banc d'essai {n}",
                                         kind="association")
    with testbed.db.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(Organisation.id)))


def _bulk_insert(testbed: Testbed, count: int, state: str, rng: random.Random,
                 progress: Progress) -> dict[str, Any]:
    """Insert `count` instances (with their case and human-task rows) in executemany batches.

    30 % are running with one ready task, the rest completed; each has one completed task.
    Lanes and organisations are drawn uniformly from 6 roles × 30 organisations, so the
    benchmark user's own ready tasks are about 1 in 180 of the ready ones.
    """
    organisations = _bulk_organisations(testbed)
    db = testbed.db
    with db.unit_of_work() as uow:
        version_id = uow.session.scalar(select(ProcessVersion.id).where(
            ProcessVersion.process_id == PROCESS_ID))
        base = {t: (uow.session.scalar(select(func.max(t.id))) or 0) + 1
                for t in (Case, Instance, HumanTask)}
    user_id = testbed.principal.user_id
    now = datetime.now(UTC)
    wrapped = bytes(60)  # stands for a wrapped case key: same size, never read here
    began = time.perf_counter()
    case_id, instance_id, task_id = base[Case], base[Instance], base[HumanTask]
    done = 0
    with db.engine.begin() as conn:
        while done < count:
            batch = min(BULK_BATCH, count - done)
            cases, instances, tasks = [], [], []
            for _ in range(batch):
                owner = rng.choice(organisations)
                when = now - timedelta(minutes=rng.randrange(1, 525_600))
                running = rng.random() < TASKLIST_RUNNING_SHARE
                cases.append({"id": case_id, "reference": f"B-{case_id:012d}",
                              "organisation_id": owner, "opened_by": user_id,
                              "opened_at": when, "last_activity_at": when,
                              "wrapped_key": wrapped})
                instances.append({
                    "id": instance_id, "process_version_id": version_id,
                    "process_id": PROCESS_ID, "case_id": case_id,
                    "status": "running" if running else "completed", "state": state,
                    "lanes": json.dumps({"IS": owner}), "started_by": user_id,
                    "started_at": when, "updated_at": when,
                    "ended_at": None if running else when, "version": 3})
                rows = [("completed", owner, "IS")]
                if running:
                    rows.append(("ready", rng.choice(organisations),
                                 rng.choice(TASKLIST_ROLES)))
                for state_, org, lane in rows:
                    tasks.append({
                        "id": task_id, "instance_id": instance_id,
                        "task_guid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "spec_name": "suivi", "name": "Point de suivi", "lane": lane,
                        "organisation_id": org, "form": "bench_step.json", "state": state_,
                        "due_at": None, "created_at": when,
                        "completed_by": user_id if state_ == "completed" else None,
                        "completed_at": when if state_ == "completed" else None})
                    task_id += 1
                case_id += 1
                instance_id += 1
            load_rows(conn, Case.__table__, cases)
            load_rows(conn, Instance.__table__, instances)
            load_rows(conn, HumanTask.__table__, tasks)
            done += batch
            if done % 100_000 == 0 or done == count:
                progress(f"  {db.dialect} : {done}/{count} instances insérées")
        reset_sequences(conn, ("case_file", "instance", "human_task"))
    insert_s = time.perf_counter() - began
    began = time.perf_counter()
    with db.engine.begin() as conn:
        analyze(conn)
    return {"insert_s": round(insert_s, 2), "analyze_s": round(time.perf_counter() - began, 2)}


def _timed_queries(db: Any, query: Callable[[Any], list[Any]],
                   queries: int) -> tuple[list[float], int]:
    for _ in range(min(10, queries)):
        with db.unit_of_work() as uow:
            query(uow)
    times = []
    rows = 0
    for _ in range(queries):
        began = time.perf_counter()
        with db.unit_of_work() as uow:
            rows = len(query(uow))
        times.append(time.perf_counter() - began)
    return times, rows


def _query_plan(db: Any, query: Callable[[Any], list[Any]]) -> str:
    """The database's plan for the statement `query` sends (first statement captured)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not captured:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.unit_of_work() as uow:
            query(uow)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    prefix = "EXPLAIN " if db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        result = conn.exec_driver_sql(prefix + statement, parameters)
        lines = [" ".join(str(c) for c in row) for row in result]
    return " | ".join(line.strip() for line in lines)


def _through_api(testbed: Testbed, queries: int, mine: int) -> dict[str, Any]:
    """GET /api/v1/tasks as a client calls it (authentication, query, JSON), first page and
    a page deep in the list (keyset: `after` = an id in the middle of the user's tasks)."""
    client, headers = api_client(testbed)
    with testbed.db.unit_of_work() as uow:
        ids = [t.id for t in runtime.ready_tasks(uow, testbed.principal, limit=1_000_000)]
    middle = ids[len(ids) // 2] if ids else 0
    out: dict[str, Any] = {"user_ready_tasks": mine}
    for name, url in (("first_page", "/api/v1/tasks"),
                      ("deep_page", f"/api/v1/tasks?after={middle}")):
        times, rows = [], 0
        for n in range(queries + 10):
            began = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} : HTTP {response.status_code}")
            rows = len(response.get_json())
            if n >= 10:
                times.append(elapsed)
        out[name] = {"p50_ms": ms(statistics.median(times)), "p95_ms": ms(p95(times)),
                     "max_ms": ms(max(times)), "rows": rows}
    out["p95_ms"] = max(out["first_page"]["p95_ms"], out["deep_page"]["p95_ms"])
    return out


def measure_tasklist(testbed: Testbed, instances: int, queries: int, state: str,
                     progress: Progress) -> dict[str, Any]:
    rng = random.Random(20261120)  # noqa: S311 - reproducible test data, not security
    load = _bulk_insert(testbed, instances, state, rng, progress)
    principal, db = testbed.principal, testbed.db
    with db.unit_of_work() as uow:
        total_tasks = uow.session.scalar(select(func.count(HumanTask.id)))
        ready = uow.session.scalar(select(func.count(HumanTask.id)).where(
            HumanTask.state == "ready"))
        mine = len(runtime.ready_tasks(uow, principal, limit=1_000_000))

    def ready_tasks(uow: Any) -> list[Any]:
        return runtime.ready_tasks(uow, principal)

    def worklist(uow: Any) -> list[Any]:
        return runtime.worklist(uow, principal)

    out: dict[str, Any] = {
        "instances": instances, "human_tasks": total_tasks, "ready_tasks_total": ready,
        "user_ready_tasks": mine, "queries": queries,
        "state_bytes_per_bulk_instance": len(state), **load,
    }
    for name, query in (("ready_tasks", ready_tasks), ("worklist", worklist)):
        times, rows = _timed_queries(db, query, queries)
        out[name] = {"p50_ms": ms(statistics.median(times)), "p95_ms": ms(p95(times)),
                     "max_ms": ms(max(times)), "rows": rows}
    out["api"] = _through_api(testbed, queries, mine)
    out["ready_tasks_plan"] = _query_plan(db, ready_tasks)
    out["p95_ms"] = out["ready_tasks"]["p95_ms"]
    return out
