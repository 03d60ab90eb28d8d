"""Where a step's time goes: exclusive timers wrapped around a few service functions, and SQL
statements counted on the engine. The wrappers cost a few microseconds per step."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from sqlalchemy import event

import forms
from engine.audit import service as audit
from engine.bench.common import ms
from engine.cases import service as cases
from engine.runtime import service as runtime
from engine.runtime import spiff


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
def instrumented(db: Any) -> Iterator[_Breakdown]:
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


def delta(before: dict[str, float], after: dict[str, float],
           elapsed: float) -> dict[str, float]:
    """What one step added to each bucket, plus the rest of its time and its total."""
    step = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in set(after) | set(before)}
    step["commit_and_other"] = elapsed - sum(v for k, v in step.items() if not k.startswith("sql"))
    step["total"] = elapsed
    return step


def median_buckets(steps: list[dict[str, float]]) -> dict[str, float]:
    """Median per bucket over a window of steps (ms; SQL statements as a count).

    Medians, so that one step stalled by other work on the machine does not skew a bucket;
    they need not add up exactly to the median total.
    """
    keys = sorted(set().union(*steps))
    result = {k: ms(statistics.median(s.get(k, 0.0) for s in steps)) for k in keys
              if k != "sql_statements"}
    result["sql_statements"] = statistics.median(s["sql_statements"] for s in steps)
    return result
