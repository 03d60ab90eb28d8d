"""`relais bench`: the runtime and document benchmarks, measured in one process run.

What is measured (figures, never assertions; `docs/benchmarks.md` records them):

- `raw`: bare SpiffWorkflow 3.2 on the benchmark protocol (`ops/bench/bench.bpmn`, a user task
  in a BPMN standard loop): parsed once with `SpiffBpmnParser`; each step deserializes the
  workflow from JSON, completes the ready user task with the routing values the engine would
  copy, runs engine steps and serializes again (the library's own serializer, spec embedded).
  `raw_facade` is the same loop through our facade (`engine.runtime.spiff`: spec stored apart,
  RestrictedPython script engine), to split SpiffWorkflow's share from the service layer's.
- `engine`: the same protocol through the service layer, one unit of work per step:
  `runtime.complete_task` (permission check, form validation, encrypted case record, load,
  run, save, human-task rows, audit rows) and the commit; on SQLite (a temporary RELAIS_HOME)
  and on PostgreSQL when RELAIS_BENCH_DATABASE_URL or a postgresql RELAIS_DATABASE_URL names a
  server: a throw-away database `relais_bench_*` is created there and dropped afterwards.
- `ratio`: engine time per step ÷ raw time per step, medians over steps 1…N, each raw step
  timed right before the engine step of the same rank (target ≤ 3);
- `growth`: time per step around step N ÷ around step 1, each the median of a window of
  `WINDOW` steps (N−4…N+4 of the long-lived instance; 1…9 of a fresh instance whose steps
  alternate with those late steps, so both windows see the same machine load)
  (target ≤ 1.5);
- `tasklist`: p95 latency of `runtime.ready_tasks` (and of `runtime.worklist`) for demo-is
  with `tasklist_instances` instances bulk-inserted beside the benchmark's own, spread over
  30 organisations and 6 roles (target ≤ 20 ms on PostgreSQL);
- `state_bytes`: len(Instance.state) after 3 steps and after N steps;
- `documents`: `engine.documents.bench.run` (20 KB seal+open for 3 recipients, 10 MB
  throughput as a ratio to raw AES-256-GCM, target ≥ 0.4).

The engine run also reports where a step's time goes (`breakdown_ms`), by wrapping a few
service functions with exclusive timers and counting SQL statements; the wrappers cost a few
microseconds per step.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[1] / "ops" / "bench"
DIAGRAM = BENCH_DIR / "bench.bpmn"
FORMS_DIR = BENCH_DIR / "forms"
PROCESS_ID = "bench_suivi"
USER = "demo-is"
WINDOW = 9  # steps per median window (growth, early/late figures)
MAX_STEPS = 990  # the diagram's loopMaximum is 1000: N + WINDOW // 2 + 1 iterations must fit
WARMUP_STEPS = 5

TARGET_RATIO = 3.0
TARGET_GROWTH = 1.5
TARGET_TASKLIST_P95_MS = 20.0

TASKLIST_ORGANISATIONS = 30
TASKLIST_ROLES = ("IS", "ASSOCIATION", "CG_ITP", "CMP", "POLICE", "DPP")
TASKLIST_RUNNING_SHARE = 0.3  # instances still running (one ready task each)
BULK_BATCH = 5000

PG_ENV = ("RELAIS_BENCH_DATABASE_URL", "RELAIS_DATABASE_URL")

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


# --- statistics ---------------------------------------------------------------------------

def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def _windows(steps: int) -> tuple[int, int]:
    """(window size, half window) for N steps: 9 and 4 normally, smaller for tiny runs."""
    size = min(WINDOW, steps)
    size -= 1 - size % 2  # odd, so the late window is centred on step N
    return size, size // 2


def _step_summary(times: list[float], steps: int) -> dict[str, Any]:
    """Figures of one long-lived run: `times[k]` is step k+1; steps 1…N (+ half window)."""
    size, half = _windows(steps)
    early = statistics.median(times[:size])
    late = statistics.median(times[steps - 1 - half: steps + half])
    first_n = times[:steps]
    return {
        "step_ms_median": _ms(statistics.median(first_n)),
        "step_ms_mean": _ms(statistics.fmean(first_n)),
        "step_ms_max": _ms(max(first_n)),
        "step1_ms": _ms(early),
        "stepN_ms": _ms(late),
        "growth": round(late / early, 3),
        "windows": [[1, size], [steps - half, steps + half]],
    }


# --- the protocol's data --------------------------------------------------------------------

def _submission(step: int, continuing: bool = True) -> dict[str, Any]:
    """What a social worker types at one follow-up point (free text is encrypted)."""
    return {"continuer": continuing, "date_point": "2026-11-20",
            "observations": f"Point de suivi n° {step} : entretien téléphonique, situation "
                            "stable, prochain rendez-vous fixé, orientation vers l'association "
                            "d'aide aux victimes confirmée."}


def _routing(step: int, continuing: bool = True) -> dict[str, Any]:
    """What the engine copies into workflow data for the same submission (invariant 1)."""
    return {"continuer": continuing, "date_point": "2026-11-20", "record_suivi": step}


# --- raw SpiffWorkflow ----------------------------------------------------------------------

class _RawProtocol:
    """One workflow of the benchmark protocol, advanced one step at a time without a database.

    A step: deserialize, complete the ready user task with the routing values, run engine
    steps, serialize — SpiffWorkflow's own round trip.
    """

    def __init__(self, first: Any, load: Callable[[str], Any], dump: Callable[[Any], str]):
        self.load, self.dump = load, dump
        first.data.update({"case_id": 1, "instance_id": 1})
        first.do_engine_steps()
        self.state = dump(first)
        self.workflow = first

    def step(self, step: int, continuing: bool = True) -> float:
        from SpiffWorkflow.util.task import TaskState

        began = time.perf_counter()
        workflow = self.load(self.state)
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(_routing(step, continuing))
        task.run()
        workflow.do_engine_steps()
        self.state = self.dump(workflow)
        elapsed = time.perf_counter() - began
        self.workflow = workflow
        return elapsed

    def depth(self) -> int:
        return max(t.depth for t in self.workflow.get_tasks())


def _bare_factory() -> Callable[[], _RawProtocol]:
    """Bare SpiffWorkflow: SpiffBpmnParser (parsed once), its serializer with the spec
    embedded, its default script engine."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    spec = parser.get_spec(PROCESS_ID)
    subprocess_specs = parser.get_subprocess_specs(PROCESS_ID)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    return lambda: _RawProtocol(BpmnWorkflow(spec, subprocess_specs),
                                serializer.deserialize_json, serializer.serialize_json)


def _facade_factory() -> Callable[[], _RawProtocol]:
    """Our facade (engine.runtime.spiff): hardened loading, spec stored apart, restricted
    script engine."""
    from engine.runtime import loader, spiff
    from engine.runtime.expressions import make_script_engine

    model = loader.load_model({DIAGRAM.name: DIAGRAM.read_bytes()}, FORMS_DIR)
    spec_text = spiff.spec_json(model.specs[PROCESS_ID],
                                model.subprocess_specs.get(PROCESS_ID, {}))
    version_id = -os.getpid()  # a key of its own in the facade's spec cache

    def script_engine() -> Any:
        engine = make_script_engine()
        engine.service_requests = []
        return engine

    def load(state: str) -> Any:
        return spiff.load_state(version_id, spec_text, state, script_engine())

    return lambda: _RawProtocol(spiff.new_workflow(version_id, spec_text, script_engine()),
                                load, spiff.dump_state)


def _measure_sequential(factory: Callable[[], _RawProtocol], steps: int) -> dict[str, Any]:
    warm = factory()
    for step in range(1, WARMUP_STEPS + 1):
        warm.step(step)
    _, half = _windows(steps)
    total = steps + half + 1
    protocol = factory()
    times, sizes, depth = [], {}, 0
    for step in range(1, total + 1):
        times.append(protocol.step(step, continuing=step < total))
        sizes[step] = len(protocol.state)
        if step == total - 1:
            depth = protocol.depth()
    if not protocol.workflow.is_completed():
        raise RuntimeError("le protocole de banc d'essai ne s'est pas terminé (SpiffWorkflow)")
    return {**_step_summary(times, steps), "state_bytes_3": sizes[3],
            f"state_bytes_{steps}": sizes[steps], "max_task_depth": depth}


def measure_raw(steps: int) -> dict[str, Any]:
    """Bare SpiffWorkflow, alone in the process (no database work interleaved)."""
    return {**_measure_sequential(_bare_factory(), steps),
            "serializer": "BpmnWorkflowSerializer(DEFAULT_CONFIG), spec embedded"}


def measure_raw_facade(steps: int) -> dict[str, Any]:
    """The same loop through engine.runtime.spiff, alone in the process."""
    return _measure_sequential(_facade_factory(), steps)


# --- where the engine's time goes -----------------------------------------------------------

class _Breakdown:
    """Exclusive timers around a few functions, plus SQL statement counts and time."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.stack: list[list[Any]] = []  # [name, start, time spent in nested timers]
        self.sql_count = 0
        self.sql_time = 0.0
        self._sql_start: float | None = None
        self._patches: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attribute: str, bucket: str) -> None:
        original = getattr(owner, attribute, None)
        if original is None:
            return  # the runtime changed: that bucket is simply not reported
        breakdown = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            breakdown.stack.append([bucket, time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                name, start, nested = breakdown.stack.pop()
                spent = time.perf_counter() - start
                breakdown.totals[name] = breakdown.totals.get(name, 0.0) + spent - nested
                if breakdown.stack:
                    breakdown.stack[-1][2] += spent

        self._patches.append((owner, attribute, original))
        setattr(owner, attribute, timed)

    def before_sql(self, *_args: Any) -> None:
        self._sql_start = time.perf_counter()

    def after_sql(self, *_args: Any) -> None:
        self.sql_count += 1
        if self._sql_start is not None:
            self.sql_time += time.perf_counter() - self._sql_start

    def snapshot(self) -> dict[str, float]:
        return {**self.totals, "sql_statements": float(self.sql_count),
                "sql_time": self.sql_time}

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._patches):
            setattr(owner, attribute, original)
        self._patches.clear()


@contextmanager
def _instrumented(db: Any) -> Iterator[_Breakdown]:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.task import Task
    from sqlalchemy import event

    import forms
    from engine.audit import service as audit
    from engine.cases import service as cases
    from engine.runtime import service as runtime
    from engine.runtime import spiff

    breakdown = _Breakdown()
    breakdown.wrap(spiff, "load_state", "spiff_load_state")
    breakdown.wrap(spiff, "dump_state", "spiff_dump_state")
    breakdown.wrap(Task, "run", "spiff_run")
    breakdown.wrap(BpmnWorkflow, "do_engine_steps", "spiff_run")
    breakdown.wrap(BpmnWorkflow, "refresh_timers", "spiff_run")
    breakdown.wrap(forms.Form, "validate", "form_validate")
    breakdown.wrap(cases, "store_record", "case_record_encrypt_store")
    breakdown.wrap(audit, "append", "audit_append")
    for name in ("_sync_human_tasks", "_sync_timers", "_detect_stall", "_throw_events"):
        breakdown.wrap(runtime, name, "runtime_sync")
    event.listen(db.engine, "before_cursor_execute", breakdown.before_sql)
    event.listen(db.engine, "after_cursor_execute", breakdown.after_sql)
    try:
        yield breakdown
    finally:
        event.remove(db.engine, "before_cursor_execute", breakdown.before_sql)
        event.remove(db.engine, "after_cursor_execute", breakdown.after_sql)
        breakdown.restore()


def _delta(before: dict[str, float], after: dict[str, float],
           elapsed: float) -> dict[str, float]:
    """What one step added to each bucket, plus the rest of its time and its total."""
    step = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in set(after) | set(before)}
    step["commit_and_other"] = elapsed - sum(v for k, v in step.items() if not k.startswith("sql"))
    step["total"] = elapsed
    return step


def _median_buckets(steps: list[dict[str, float]]) -> dict[str, float]:
    """Median per bucket over a window of steps (ms; SQL statements as a count).

    Medians, so that one step stalled by other work on the machine does not skew a bucket;
    they need not add up exactly to the median total.
    """
    keys = sorted(set().union(*steps))
    result = {k: _ms(statistics.median(s.get(k, 0.0) for s in steps)) for k in keys
              if k != "sql_statements"}
    result["sql_statements"] = statistics.median(s["sql_statements"] for s in steps)
    return result


# --- the engine on one database -------------------------------------------------------------

class _Platform:
    """A fresh Relais on `url` (schema, keys, demo territory, benchmark protocol deployed)."""

    def __init__(self, url: str | None, home: Path):
        from engine.audit.service import SYSTEM
        from engine.config import Settings
        from engine.db import transaction
        from engine.demo import create_demo
        from engine.identity import service as identity
        from engine.keys.master import FileMasterKey
        from engine.platform import initialise
        from engine.runtime import service as runtime

        key = home / "master.key"
        FileMasterKey.create(key)
        env = {"RELAIS_HOME": str(home), "RELAIS_MASTER_KEY_FILE": str(key)}
        if url:
            env["RELAIS_DATABASE_URL"] = url
        self.settings = Settings.from_env(env)
        self.db = initialise(self.settings)
        create_demo(self.db)
        with transaction(self.db) as uow:
            runtime.deploy(uow, SYSTEM, {DIAGRAM.name: DIAGRAM.read_bytes()}, source="cli",
                           forms_dir=FORMS_DIR)
        with self.db.unit_of_work() as uow:
            self.principal = identity.principal_for(identity.get_user(uow, USER))

    def server_version(self) -> str:
        from sqlalchemy import text

        with self.db.engine.connect() as conn:
            if self.db.dialect == "postgresql":
                return str(conn.execute(text("SHOW server_version")).scalar())
            return str(conn.execute(text("SELECT sqlite_version()")).scalar())

    def start(self) -> tuple[int, float]:
        from engine.db import transaction
        from engine.runtime import service as runtime

        began = time.perf_counter()
        with transaction(self.db) as uow:
            instance_id = runtime.start_instance(uow, self.principal, PROCESS_ID).id
        return instance_id, time.perf_counter() - began

    def ready_task(self, instance_id: int) -> int:
        from sqlalchemy import select

        from engine.runtime.models import HumanTask

        with self.db.unit_of_work() as uow:
            task_id = uow.session.scalar(select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "ready"))
        if task_id is None:
            raise RuntimeError(f"instance {instance_id} : aucune tâche prête")
        return task_id

    def complete(self, task_id: int, data: dict[str, Any]) -> tuple[float, str]:
        """One step in its own unit of work; (seconds, the instance's saved state)."""
        from engine.db import transaction
        from engine.runtime import service as runtime

        began = time.perf_counter()
        with transaction(self.db) as uow:
            instance = runtime.complete_task(uow, self.principal, task_id, data)
        elapsed = time.perf_counter() - began
        return elapsed, instance.state

    def checks(self, instance_id: int, expected_tasks: int) -> dict[str, Any]:
        from sqlalchemy import func, select

        from engine.cases.models import CaseRecord
        from engine.runtime.models import HumanTask, Incident, Instance

        with self.db.unit_of_work() as uow:
            instance = uow.session.get(Instance, instance_id)
            assert instance is not None
            status = instance.status
            done = uow.session.scalar(select(func.count(HumanTask.id)).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "completed"))
            records = uow.session.scalar(select(func.count(CaseRecord.id)).where(
                CaseRecord.instance_id == instance_id))
            incidents = uow.session.scalar(select(func.count(Incident.id)).where(
                Incident.instance_id == instance_id))
        ok = (status == "completed" and done == expected_tasks
              and records == expected_tasks and incidents == 0)
        return {"completed": status == "completed", "human_tasks_completed": done,
                "case_records": records, "incidents": incidents, "ok": ok}

    def dispose(self) -> None:
        self.db.dispose()


def measure_engine(platform_: _Platform, steps: int, progress: Progress,
                   raw_factory: Callable[[], _RawProtocol]) -> dict[str, Any]:
    """One long-lived instance through the service layer, measured against bare SpiffWorkflow.

    Step k of the instance is interleaved with step k of a raw twin (same protocol, no
    database), so the ratio compares steps taken under the same load. Over the late window
    (steps N−h…N+h) step j of a fresh instance, and of a fresh raw twin, is interleaved too:
    "step 1" and "step N" are then timed side by side, and a burst of other work on the
    machine weighs on both rather than on one. Each step is its own unit of work; finding
    the ready task's id (what the user clicked) is outside the timed part.
    """
    warm, _ = platform_.start()
    warm_raw = raw_factory()
    for step in range(1, WARMUP_STEPS + 1):
        platform_.complete(platform_.ready_task(warm), _submission(step, step < WARMUP_STEPS))
        warm_raw.step(step)

    size, half = _windows(steps)
    total = steps + half + 1  # the last step ends the loop (continuer = false)
    late = range(steps - half, steps + half + 1)
    engine_times: list[float] = []
    raw_times: list[float] = []
    fresh_times: list[float] = []
    fresh_raw_times: list[float] = []
    long_buckets: list[dict[str, float]] = []
    fresh_buckets: list[dict[str, float]] = []
    sizes: dict[int, int] = {}
    state_3 = ""
    instance_id, start_s = platform_.start()
    raw_long = raw_factory()
    fresh_id, raw_fresh = 0, raw_long
    with _instrumented(platform_.db) as breakdown:

        def engine_step(instance: int, step: int,
                        continuing: bool) -> tuple[float, str, dict[str, float]]:
            task_id = platform_.ready_task(instance)
            before = breakdown.snapshot()
            elapsed, state = platform_.complete(task_id, _submission(step, continuing))
            return elapsed, state, _delta(before, breakdown.snapshot(), elapsed)

        for step in range(1, total + 1):
            continuing = step < total
            raw_times.append(raw_long.step(step, continuing))
            elapsed, state, buckets = engine_step(instance_id, step, continuing)
            engine_times.append(elapsed)
            long_buckets.append(buckets)
            sizes[step] = len(state)
            if step == 3:
                state_3 = state
            if step == late.start:
                fresh_id, _ = platform_.start()
                raw_fresh = raw_factory()
            if step in late:
                j = step - late.start + 1
                fresh_raw_times.append(raw_fresh.step(j))
                elapsed, _state, buckets = engine_step(fresh_id, j, True)
                fresh_times.append(elapsed)
                fresh_buckets.append(buckets)
            if step % 50 == 0:
                progress(f"  {platform_.db.dialect} : étape {step}/{total}")

    def median(values: list[float]) -> float:
        return statistics.median(values)

    window = slice(late.start - 1, late.stop - 1)
    step1, step_n = median(fresh_times), median(engine_times[window])
    raw1, raw_n = median(fresh_raw_times), median(raw_times[window])
    return {
        "step_ms_median": _ms(median(engine_times[:steps])),
        "step_ms_mean": _ms(statistics.fmean(engine_times[:steps])),
        "step_ms_max": _ms(max(engine_times[:steps])),
        "step1_ms": _ms(step1),
        "stepN_ms": _ms(step_n),
        "growth": round(step_n / step1, 3),
        "growth_sequential": round(step_n / median(engine_times[:size]), 3),
        "raw_step_ms_median": _ms(median(raw_times[:steps])),
        "raw_step1_ms": _ms(raw1),
        "raw_stepN_ms": _ms(raw_n),
        "raw_growth": round(raw_n / raw1, 3),
        "windows": [[1, size], [late.start, late.stop - 1]],
        "start_instance_ms": _ms(start_s),
        "state_bytes_3": sizes[3],
        f"state_bytes_{steps}": sizes[steps],
        "breakdown_ms": {"step1": _median_buckets(fresh_buckets),
                         "stepN": _median_buckets(long_buckets[window])},
        "checks": platform_.checks(instance_id, total),
        "_state_3": state_3,
    }


# --- the task list at scale -----------------------------------------------------------------

def _bulk_organisations(platform_: _Platform) -> list[int]:
    from sqlalchemy import select

    from engine.audit.service import SYSTEM
    from engine.db import transaction
    from engine.identity import service as identity
    from engine.identity.models import Organisation

    with transaction(platform_.db) as uow:
        existing = list(uow.session.scalars(select(Organisation.id)))
        for n in range(len(existing), TASKLIST_ORGANISATIONS):
            identity.create_organisation(uow, SYSTEM, slug=f"bench-org-{n:02d}",
                                         name=f"Organisation de banc d'essai {n}",
                                         kind="association")
    with platform_.db.unit_of_work() as uow:
        return sorted(uow.session.scalars(select(Organisation.id)))


def _bulk_insert(platform_: _Platform, count: int, state: str, rng: random.Random,
                 progress: Progress) -> dict[str, Any]:
    """Insert `count` instances (with their case and human-task rows) in executemany batches.

    30 % are running with one ready task, the rest completed; each has one completed task.
    Lanes and organisations are drawn uniformly from 6 roles × 30 organisations, so the
    benchmark user's own ready tasks are about 1 in 180 of the ready ones.
    """
    from sqlalchemy import func, insert, select, text

    from engine.cases.models import Case
    from engine.runtime.models import HumanTask, Instance, ProcessVersion

    organisations = _bulk_organisations(platform_)
    db = platform_.db
    with db.unit_of_work() as uow:
        version_id = uow.session.scalar(select(ProcessVersion.id).where(
            ProcessVersion.process_id == PROCESS_ID))
        base = {t: (uow.session.scalar(select(func.max(t.id))) or 0) + 1
                for t in (Case, Instance, HumanTask)}
    user_id = platform_.principal.user_id
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
            conn.execute(insert(Case.__table__), cases)
            conn.execute(insert(Instance.__table__), instances)
            conn.execute(insert(HumanTask.__table__), tasks)
            done += batch
            if done % 20_000 == 0 or done == count:
                progress(f"  {db.dialect} : {done}/{count} instances insérées")
        if db.dialect == "postgresql":
            for table in ("case_file", "instance", "human_task"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"))
    insert_s = time.perf_counter() - began
    began = time.perf_counter()
    with db.engine.begin() as conn:  # fresh planner statistics, as autovacuum would give
        conn.execute(text("ANALYZE"))
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
    from sqlalchemy import event

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


def measure_tasklist(platform_: _Platform, instances: int, queries: int, state: str,
                     progress: Progress) -> dict[str, Any]:
    from sqlalchemy import func, select

    from engine.runtime import service as runtime
    from engine.runtime.models import HumanTask

    rng = random.Random(20261120)  # noqa: S311 - reproducible test data, not security
    load = _bulk_insert(platform_, instances, state, rng, progress)
    principal, db = platform_.principal, platform_.db
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
        out[name] = {"p50_ms": _ms(statistics.median(times)), "p95_ms": _ms(_p95(times)),
                     "max_ms": _ms(max(times)), "rows": rows}
    out["ready_tasks_plan"] = _query_plan(db, ready_tasks)
    out["p95_ms"] = out["ready_tasks"]["p95_ms"]
    return out


# --- PostgreSQL throw-away databases --------------------------------------------------------

def postgresql_server_url(environ: dict[str, str] | None = None) -> str | None:
    """The configured PostgreSQL server, if any (RELAIS_BENCH_DATABASE_URL first)."""
    from engine.config import normalise_database_url

    env = os.environ if environ is None else environ
    for name in PG_ENV:
        url = env.get(name)
        if url and url.split(":", 1)[0].split("+", 1)[0] in {"postgresql", "postgres"}:
            return normalise_database_url(url)
    return None


class _ThrowawayDatabase:
    """A new empty database beside `server_url`'s, dropped by `drop()` (never that one)."""

    def __init__(self, server_url: str):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(server_url)
        self.name = f"relais_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception:
            self.admin.dispose()
            raise
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        from sqlalchemy import text

        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            self.admin.dispose()


# --- machine --------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    import SpiffWorkflow
    import sqlalchemy

    cpu = "?"
    memory = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {"nproc": usable, "cpu": cpu, "memory": memory, "load_average_at_start": _load(),
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "spiffworkflow": getattr(SpiffWorkflow, "__version__", None) or _dist_version(
                "SpiffWorkflow"),
            "sqlalchemy": sqlalchemy.__version__}


def _load() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


# --- the whole run --------------------------------------------------------------------------

def _backend(url: str | None, steps: int, tasklist_instances: int, tasklist_queries: int,
             progress: Progress) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="relais_bench_") as home:
        platform_ = _Platform(url, Path(home))
        try:
            name = platform_.db.dialect
            progress(f"{name} : protocole de {steps} étapes par la couche de services")
            result = measure_engine(platform_, steps, progress, _bare_factory())
            # The bulk instances carry a realistic state: the benchmark instance's at step 3.
            sample = result.pop("_state_3")
            progress(f"{name} : liste de tâches avec {tasklist_instances} instances")
            result["tasklist"] = measure_tasklist(platform_, tasklist_instances,
                                                  tasklist_queries, sample, progress)
            result["server_version"] = platform_.server_version()
            return result
        finally:
            platform_.dispose()


def _target(value: float | None, target: float, lower_is_better: bool = True) -> dict[str, Any]:
    met = None if value is None else (value <= target if lower_is_better else value >= target)
    return {"value": value, "target": f"{'≤' if lower_is_better else '≥'} {target:g}",
            "met": met}


def run(steps: int = 200, tasklist_instances: int = 100_000, tasklist_queries: int = 200,
        postgresql_url: str | None = None, sqlite_tasklist_instances: int | None = None,
        documents: dict[str, int] | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    """Measure everything and return the report (see the module docstring)."""
    from engine.documents import bench as documents_bench
    from engine.errors import ConfigurationError

    if not 3 <= steps <= MAX_STEPS:
        raise ConfigurationError(f"Le nombre d'étapes doit être entre 3 et {MAX_STEPS}.")
    if not DIAGRAM.is_file():
        raise ConfigurationError(f"{DIAGRAM} introuvable : le banc d'essai se lance depuis un "
                                 "clone du dépôt (ops/bench).")
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {"steps": steps, "window": _windows(steps)[0],
                       "tasklist_instances": tasklist_instances,
                       "sqlite_tasklist_instances": sqlite_tasklist_instances
                       if sqlite_tasklist_instances is not None else tasklist_instances,
                       "tasklist_queries": tasklist_queries,
                       "diagram": str(DIAGRAM.relative_to(BENCH_DIR.parents[1])),
                       "user": USER},
    }
    progress(f"SpiffWorkflow seul : {steps} étapes")
    report["raw"] = measure_raw(steps)
    report["raw_facade"] = measure_raw_facade(steps)

    engine: dict[str, Any] = {}
    engine["sqlite"] = _backend(None, steps, report["parameters"]["sqlite_tasklist_instances"],
                                tasklist_queries, progress)
    if postgresql_url:
        from sqlalchemy.exc import DBAPIError

        try:
            database = _ThrowawayDatabase(postgresql_url)
        except DBAPIError as exc:  # unreachable, or no right to create a database: say so
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            engine["postgresql"] = {"skipped": f"PostgreSQL inutilisable : {reason}"}
        else:
            try:
                engine["postgresql"] = _backend(database.url, steps, tasklist_instances,
                                                tasklist_queries, progress)
            finally:
                database.drop()
    else:
        engine["postgresql"] = {"skipped": "non configuré (RELAIS_BENCH_DATABASE_URL ou "
                                           "RELAIS_DATABASE_URL postgresql)"}
    report["engine"] = engine

    progress("documents : enveloppes")
    report["documents"] = documents_bench.run(**(documents or {}))
    report["machine"]["load_average_at_end"] = _load()
    _summarise(report)
    return report


def _summarise(report: dict[str, Any]) -> None:
    raw, steps = report["raw"], report["parameters"]["steps"]
    ratio: dict[str, Any] = {
        "definition": "median engine step ÷ median raw step over steps 1-N, raw step k timed "
                      "right before engine step k (bare SpiffWorkflow twin)"}
    (e1, e2), (l1, l2) = raw["windows"]
    growth: dict[str, Any] = {
        "definition": f"median step time over steps {l1}-{l2} of the long-lived instance ÷ "
                      f"median over steps {e1}-{e2} of a fresh instance, each fresh step "
                      "interleaved with a late step",
        "raw": raw["growth"], "raw_facade": report["raw_facade"]["growth"]}
    tasklist: dict[str, Any] = {}
    state: dict[str, Any] = {"raw_3": raw["state_bytes_3"],
                             f"raw_{steps}": raw[f"state_bytes_{steps}"]}
    targets: list[dict[str, Any]] = []
    for backend, figures in report["engine"].items():
        if "skipped" in figures:
            continue
        value = round(figures["step_ms_median"] / figures["raw_step_ms_median"], 2)
        ratio[backend] = {"value": value,
                          "step1": round(figures["step1_ms"] / figures["raw_step1_ms"], 2),
                          "stepN": round(figures["stepN_ms"] / figures["raw_stepN_ms"], 2),
                          "vs_raw_alone": round(figures["step_ms_median"]
                                                / raw["step_ms_median"], 2),
                          "vs_raw_facade_alone": round(figures["step_ms_median"]
                                                       / report["raw_facade"]["step_ms_median"],
                                                       2)}
        growth[backend] = figures["growth"]
        tasklist[backend] = figures["tasklist"]["p95_ms"]
        state[f"{backend}_3"] = figures["state_bytes_3"]
        state[f"{backend}_{steps}"] = figures[f"state_bytes_{steps}"]
        targets.append({"name": "ratio", "backend": backend,
                        **_target(value, TARGET_RATIO)})
        targets.append({"name": "growth", "backend": backend,
                        **_target(figures["growth"], TARGET_GROWTH)})
        tl = _target(figures["tasklist"]["p95_ms"], TARGET_TASKLIST_P95_MS)
        if backend != "postgresql":
            tl["note"] = "cible fixée pour PostgreSQL ; SQLite pour information"
        targets.append({"name": "tasklist_p95_ms", "backend": backend,
                        "instances": figures["tasklist"]["instances"], **tl})
    docs = report["documents"]
    targets.append({"name": "envelope_throughput_ratio", "backend": "-",
                    **_target(docs["envelope_throughput_ratio"],
                              docs.get("envelope_target_ratio", 0.4), lower_is_better=False)})
    ratio["target"], ratio["met"] = TARGET_RATIO, _all_met(targets, "ratio")
    growth["target"], growth["met"] = TARGET_GROWTH, _all_met(targets, "growth")
    tasklist["target"] = TARGET_TASKLIST_P95_MS
    pg = next((t for t in targets if t["name"] == "tasklist_p95_ms"
               and t["backend"] == "postgresql"), None)
    tasklist["met"] = pg["met"] if pg else None
    report["ratio"], report["growth"] = ratio, growth
    report["tasklist_p95_ms"], report["state_bytes"] = tasklist, state
    report["targets"] = targets


def _all_met(targets: list[dict[str, Any]], name: str) -> bool | None:
    values = [t["met"] for t in targets if t["name"] == name and t["met"] is not None]
    return all(values) if values else None


# --- the readable table ---------------------------------------------------------------------

def _yes_no(met: bool | None) -> str:
    return "—" if met is None else ("atteint" if met else "MANQUÉ")


def format_table(report: dict[str, Any]) -> str:
    steps = report["parameters"]["steps"]
    m = report["machine"]
    lines = [
        f"Relais bench — {report['date']}",
        f"Machine : {m['nproc']} cœur(s), {m['cpu']}, {m['memory']} ; Python {m['python']}, "
        f"SpiffWorkflow {m['spiffworkflow']} ; charge (1/5/15 min) au début "
        f"{m['load_average_at_start']}, à la fin {m.get('load_average_at_end')}",
        f"Protocole : {report['parameters']['diagram']} (boucle standard), {steps} étapes.",
        "« étape 1 » : médiane des étapes {1}-{2} (pour le moteur, d'une instance neuve dont "
        "chaque étape alterne avec une étape tardive) ; « étape {0} » : médiane des étapes "
        "{3}-{4}.".format(steps, *report["raw"]["windows"][0], *report["raw"]["windows"][1]),
        "Bases : " + ", ".join(f"{b} {f['server_version']}" for b, f in report["engine"].items()
                               if "skipped" not in f),
        "",
    ]
    header = f"{'':26}{'médiane/étape':>14}{'étape 1':>10}{f'étape {steps}':>11}" \
             f"{'croissance':>12}{'état 3':>9}{f'état {steps}':>11}"
    lines.append(header)

    def row(label: str, median: float, first: float, last: float, growth: float,
            state_3: object = "", state_n: object = "") -> str:
        return (f"{label:26}{median:>11.2f} ms{first:>7.2f} ms{last:>8.2f} ms{growth:>11.2f}x"
                f"{state_3!s:>9}{state_n!s:>11}").rstrip()

    for label, f in (("SpiffWorkflow seul (raw)", report["raw"]),
                     ("façade spiff.py seule", report["raw_facade"])):
        lines.append(row(label, f["step_ms_median"], f["step1_ms"], f["stepN_ms"], f["growth"],
                         f["state_bytes_3"], f[f"state_bytes_{steps}"]))
    for backend, f in report["engine"].items():
        if "skipped" in f:
            lines.append(f"moteur {backend:19} ignoré : {f['skipped']}")
            continue
        lines.append(row(f"moteur {backend}", f["step_ms_median"], f["step1_ms"], f["stepN_ms"],
                         f["growth"], f["state_bytes_3"], f[f"state_bytes_{steps}"]))
        lines.append(row("  raw entrelacé", f["raw_step_ms_median"], f["raw_step1_ms"],
                         f["raw_stepN_ms"], f["raw_growth"]))
        r = report["ratio"][backend]
        lines.append(f"  rapport moteur ÷ raw : {r['value']:g} (étape 1 : {r['step1']:g}, "
                     f"étape {steps} : {r['stepN']:g}) ; croissance séquentielle "
                     f"{f['growth_sequential']:g}x")
    lines.append("")
    for backend, f in report["engine"].items():
        if "skipped" in f:
            continue
        lines.append(f"Où va le temps d'une étape ({backend}, ms, étape 1 → étape {steps}) :")
        early, late = f["breakdown_ms"]["step1"], f["breakdown_ms"]["stepN"]
        buckets = [k for k in late if k not in {"total", "sql_time", "sql_statements"}]
        for key in sorted(buckets, key=lambda k: -late[k]):
            lines.append(f"  {key:28}{early.get(key, 0):>8.2f} → {late[key]:>7.2f}")
        lines.append(f"  {'total (médiane)':28}{early['total']:>8.2f} → {late['total']:>7.2f}")
        lines.append(f"  {'dont SQL':28}{early['sql_time']:>8.2f} → {late['sql_time']:>7.2f}   "
                     f"({early['sql_statements']:g} → {late['sql_statements']:g} requêtes)")
        t = f["tasklist"]
        lines.append(f"Liste de tâches ({backend}, {t['instances']} instances, "
                     f"{t['human_tasks']} tâches, {t['user_ready_tasks']} prêtes pour {USER}) : "
                     f"ready_tasks p50 {t['ready_tasks']['p50_ms']:.2f} ms, p95 "
                     f"{t['ready_tasks']['p95_ms']:.2f} ms ; worklist p50 "
                     f"{t['worklist']['p50_ms']:.2f} ms, p95 {t['worklist']['p95_ms']:.2f} ms")
        lines.append(f"  plan : {t['ready_tasks_plan'][:160]}")
        lines.append("")
    d = report["documents"]
    lines.append(f"Enveloppes : {d['envelope_small_bytes'] / 1024:g} Kio pour "
                 f"{d['envelope_recipients']} destinataires, scellement+ouverture médiane "
                 f"{d['envelope_small_seal_open_ms']:.2f} ms ; "
                 f"{d['envelope_large_bytes'] / 2**20:g} Mio : {d['envelope_large_mb_s']} Mo/s, "
                 f"AES-GCM brut {d['raw_aes_gcm_mb_s']} Mo/s, rapport "
                 f"{d['envelope_throughput_ratio']}")
    lines.append("")
    lines.append("Objectifs :")
    for t in report["targets"]:
        extra = f" ({t['note']})" if t.get("note") else ""
        lines.append(f"  {t['name']:27}{t['backend']:12}{t['value']!s:>10}  cible {t['target']:8}"
                     f"{_yes_no(t['met'])}{extra}")
    return "\n".join(lines)


if __name__ == "__main__":
    result = run(progress=lambda message: print(message, file=sys.stderr))
    print(json.dumps(result, indent=2, ensure_ascii=False))
