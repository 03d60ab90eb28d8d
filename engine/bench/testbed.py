"""The engine measured through its service layer: a fresh Relais on one database, and one
long-lived instance advanced step by step beside a bare SpiffWorkflow twin."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from engine.audit.service import SYSTEM
from engine.bench.breakdown import delta, instrumented, median_buckets
from engine.bench.common import (
    DIAGRAM,
    FORMS_DIR,
    PROCESS_ID,
    USER,
    WARMUP_STEPS,
    Progress,
    ms,
    submission,
    windows,
)
from engine.bench.raw import RawProtocol
from engine.cases.models import CaseRecord
from engine.config import Settings
from engine.db import transaction
from engine.demo import create_demo
from engine.identity import service as identity
from engine.keys.master import FileMasterKey
from engine.platform import initialise
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Incident, Instance


class Testbed:
    """A fresh Relais on `url` (schema, keys, demo territory, benchmark protocol deployed)."""

    def __init__(self, url: str | None, home: Path):
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
        with self.db.engine.connect() as conn:
            if self.db.dialect == "postgresql":
                return str(conn.execute(text("SHOW server_version")).scalar())
            return str(conn.execute(text("SELECT sqlite_version()")).scalar())

    def start(self) -> tuple[int, float]:
        began = time.perf_counter()
        with transaction(self.db) as uow:
            instance_id = runtime.start_instance(uow, self.principal, PROCESS_ID).id
        return instance_id, time.perf_counter() - began

    def ready_task(self, instance_id: int) -> int:
        with self.db.unit_of_work() as uow:
            task_id = uow.session.scalar(select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "ready"))
        if task_id is None:
            raise RuntimeError(f"instance {instance_id} : aucune tâche prête")
        return task_id

    def complete(self, task_id: int, data: dict[str, Any]) -> tuple[float, str]:
        """One step in its own unit of work; (seconds, the instance's saved state)."""
        began = time.perf_counter()
        with transaction(self.db) as uow:
            instance = runtime.complete_task(uow, self.principal, task_id, data)
        elapsed = time.perf_counter() - began
        return elapsed, instance.state

    def checks(self, instance_id: int, expected_tasks: int) -> dict[str, Any]:
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


def measure_engine(testbed: Testbed, steps: int, progress: Progress,
                   raw_factory: Callable[[], RawProtocol]) -> dict[str, Any]:
    """One long-lived instance through the service layer, measured against bare SpiffWorkflow.

    Step k of the instance is interleaved with step k of a raw twin (same protocol, no
    database), so the ratio compares steps taken under the same load. Over the late window
    (steps N−h…N+h) step j of a fresh instance, and of a fresh raw twin, is interleaved too:
    "step 1" and "step N" are then timed side by side, and a burst of other work on the
    machine weighs on both rather than on one. Each step is its own unit of work; finding
    the ready task's id (what the user clicked) is outside the timed part.
    """
    warm, _ = testbed.start()
    warm_raw = raw_factory()
    for step in range(1, WARMUP_STEPS + 1):
        testbed.complete(testbed.ready_task(warm), submission(step, step < WARMUP_STEPS))
        warm_raw.step(step)

    size, half = windows(steps)
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
    instance_id, start_s = testbed.start()
    raw_long = raw_factory()
    fresh_id, raw_fresh = 0, raw_long
    with instrumented(testbed.db) as breakdown:

        def engine_step(instance: int, step: int,
                        continuing: bool) -> tuple[float, str, dict[str, float]]:
            task_id = testbed.ready_task(instance)
            before = breakdown.snapshot()
            elapsed, state = testbed.complete(task_id, submission(step, continuing))
            return elapsed, state, delta(before, breakdown.snapshot(), elapsed)

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
                fresh_id, _ = testbed.start()
                raw_fresh = raw_factory()
            if step in late:
                j = step - late.start + 1
                fresh_raw_times.append(raw_fresh.step(j))
                elapsed, _state, buckets = engine_step(fresh_id, j, True)
                fresh_times.append(elapsed)
                fresh_buckets.append(buckets)
            if step % 50 == 0:
                progress(f"  {testbed.db.dialect} : étape {step}/{total}")

    def median(values: list[float]) -> float:
        return statistics.median(values)

    window = slice(late.start - 1, late.stop - 1)
    step1, step_n = median(fresh_times), median(engine_times[window])
    raw1, raw_n = median(fresh_raw_times), median(raw_times[window])
    return {
        "step_ms_median": ms(median(engine_times[:steps])),
        "step_ms_mean": ms(statistics.fmean(engine_times[:steps])),
        "step_ms_max": ms(max(engine_times[:steps])),
        "step1_ms": ms(step1),
        "stepN_ms": ms(step_n),
        "growth": round(step_n / step1, 3),
        "growth_sequential": round(step_n / median(engine_times[:size]), 3),
        "raw_step_ms_median": ms(median(raw_times[:steps])),
        "raw_step1_ms": ms(raw1),
        "raw_stepN_ms": ms(raw_n),
        "raw_growth": round(raw_n / raw1, 3),
        "windows": [[1, size], [late.start, late.stop - 1]],
        "start_instance_ms": ms(start_s),
        "state_bytes_3": sizes[3],
        f"state_bytes_{steps}": sizes[steps],
        "breakdown_ms": {"step1": median_buckets(fresh_buckets),
                         "stepN": median_buckets(long_buckets[window])},
        "checks": testbed.checks(instance_id, total),
        "_state_3": state_3,
    }
