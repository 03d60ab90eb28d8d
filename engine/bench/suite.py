"""The whole run: SpiffWorkflow alone, the engine on SQLite and PostgreSQL, the task list, the
envelopes; then the summary against the targets."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from engine.bench import documents as envelope_bench
from engine.bench import workspace as workspace_bench
from engine.bench.api import measure_completion, measure_messages
from engine.bench.common import (
    BENCH_DIR,
    DIAGRAM,
    MAX_STEPS,
    TARGET_COMPLETE_P50_MS,
    TARGET_FIGURES_P95_MS,
    TARGET_GROWTH,
    TARGET_LOAD_SCALE,
    TARGET_MESSAGES_P95_MS,
    TARGET_RATIO,
    TARGET_RATIO_STEP1,
    TARGET_TASKLIST_P95_MS,
    USER,
    Progress,
    quiet,
    windows,
)
from engine.bench.figures import measure_figures
from engine.bench.load import measure_load
from engine.bench.machine import ThrowawayDatabase, load_average, machine
from engine.bench.raw import bare_factory, measure_raw, measure_raw_facade
from engine.bench.tasklist import measure_tasklist
from engine.bench.testbed import Testbed, measure_engine
from engine.errors import ConfigurationError

FIGURES_PEOPLE_MAX = 100_000  # the figures' target is set at 100,000 people, whatever
# the task list's size (1,000,000 instances there would mean 8,000,000 fact rows here)
SQLITE_MESSAGES_CAP = 20_000  # SQLite: one writer, a local file; 20k shows the index at work


def _backend(url: str | None, steps: int, tasklist_instances: int, tasklist_queries: int,
             progress: Progress, messages_instances: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="relais_bench_") as home:
        testbed = Testbed(url, Path(home))
        try:
            name = testbed.db.dialect
            progress(f"{name} : protocole de {steps} étapes par la couche de services")
            result = measure_engine(testbed, steps, progress, bare_factory())
            rounds = max(10, tasklist_queries // 10)
            result["workspace"], case_id = workspace_bench.measure_demo(testbed, rounds,
                                                                        progress)
            # The bulk instances carry a realistic state: the benchmark instance's at step 3.
            sample = result.pop("_state_3")
            progress(f"{name} : liste de tâches avec {tasklist_instances} instances")
            result["tasklist"] = measure_tasklist(testbed, tasklist_instances,
                                                  tasklist_queries, sample, progress)
            people = min(tasklist_instances, FIGURES_PEOPLE_MAX)
            progress(f"{name} : chiffres d'une année, {people} personnes reçues")
            result["figures"] = measure_figures(testbed, people,
                                                max(5, tasklist_queries // 10), progress)
            result["workspace"].update(workspace_bench.measure_scale(
                testbed, case_id, min(tasklist_instances, workspace_bench.SITUATIONS_MAX),
                rounds, progress))
            progress(f"{name} : POST /messages parmi {messages_instances} instances en attente")
            result["messages"] = measure_messages(testbed, messages_instances,
                                                  max(20, tasklist_queries // 2), progress)
            progress(f"{name} : complétion d'une tâche par l'API")
            result["api_complete"] = measure_completion(testbed, max(20, tasklist_queries // 4))
            result["server_version"] = testbed.server_version()
            return result
        finally:
            testbed.dispose()


def _target(value: float | None, target: float, lower_is_better: bool = True) -> dict[str, Any]:
    met = None if value is None else (value <= target if lower_is_better else value >= target)
    return {"value": value, "target": f"{'≤' if lower_is_better else '≥'} {target:g}",
            "met": met}


def run(steps: int = 200, tasklist_instances: int = 100_000, tasklist_queries: int = 200,
        postgresql_url: str | None = None, sqlite_tasklist_instances: int | None = None,
        documents: dict[str, int] | None = None, progress: Progress = quiet,
        load: dict[str, Any] | None = None, messages_instances: int = 100_000,
        sqlite_messages_instances: int | None = None) -> dict[str, Any]:
    """Measure everything and return the report (see the module docstring)."""
    if not 3 <= steps <= MAX_STEPS:
        raise ConfigurationError(f"Le nombre d'étapes doit être entre 3 et {MAX_STEPS}.")
    if not DIAGRAM.is_file():
        raise ConfigurationError(f"{DIAGRAM} introuvable : le banc d'essai se lance depuis un "
                                 "clone du dépôt (ops/bench).")
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": {"steps": steps, "window": windows(steps)[0],
                       "tasklist_instances": tasklist_instances,
                       "sqlite_tasklist_instances": sqlite_tasklist_instances
                       if sqlite_tasklist_instances is not None else tasklist_instances,
                       "tasklist_queries": tasklist_queries,
                       "messages_instances": messages_instances,
                       "sqlite_messages_instances": sqlite_messages_instances
                       if sqlite_messages_instances is not None
                       else min(messages_instances, SQLITE_MESSAGES_CAP),
                       "diagram": str(DIAGRAM.relative_to(BENCH_DIR.parents[1])),
                       "user": USER},
    }
    progress(f"SpiffWorkflow seul : {steps} étapes")
    report["raw"] = measure_raw(steps)
    report["raw_facade"] = measure_raw_facade(steps)

    engine: dict[str, Any] = {}
    engine["sqlite"] = _backend(None, steps, report["parameters"]["sqlite_tasklist_instances"],
                                tasklist_queries, progress,
                                report["parameters"]["sqlite_messages_instances"])
    if postgresql_url:
        try:
            database = ThrowawayDatabase(postgresql_url)
        except DBAPIError as exc:  # unreachable, or no right to create a database: say so
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            engine["postgresql"] = {"skipped": f"PostgreSQL inutilisable : {reason}"}
        else:
            try:
                engine["postgresql"] = _backend(database.url, steps, tasklist_instances,
                                                tasklist_queries, progress, messages_instances)
            finally:
                database.drop()
    else:
        engine["postgresql"] = {"skipped": "non configuré (RELAIS_BENCH_DATABASE_URL ou "
                                           "RELAIS_DATABASE_URL postgresql)"}
    report["engine"] = engine

    progress("documents : enveloppes")
    report["documents"] = envelope_bench.run(**(documents or {}))
    if load:
        report["load"] = measure_load(postgresql_url, progress=progress, **load)
    report["machine"]["load_average_at_end"] = load_average()
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
    tasklist_api: dict[str, Any] = {"target": TARGET_TASKLIST_P95_MS}
    messages: dict[str, Any] = {"target": TARGET_MESSAGES_P95_MS}
    complete: dict[str, Any] = {"target": TARGET_COMPLETE_P50_MS}
    figures_p95: dict[str, Any] = {}
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
        tasklist_api[backend] = figures["tasklist"]["api"]["p95_ms"]
        state[f"{backend}_3"] = figures["state_bytes_3"]
        state[f"{backend}_{steps}"] = figures[f"state_bytes_{steps}"]
        targets.append({"name": "ratio", "backend": backend,
                        **_target(value, TARGET_RATIO)})
        targets.append({"name": "ratio_step1", "backend": backend,
                        **_target(ratio[backend]["step1"], TARGET_RATIO_STEP1[backend])})
        targets.append({"name": "growth", "backend": backend,
                        **_target(figures["growth"], TARGET_GROWTH)})
        tl = _target(figures["tasklist"]["p95_ms"], TARGET_TASKLIST_P95_MS)
        if backend != "postgresql":
            tl["note"] = "cible fixée pour PostgreSQL ; SQLite pour information"
        targets.append({"name": "tasklist_p95_ms", "backend": backend,
                        "instances": figures["tasklist"]["instances"], **tl})
        api = _target(figures["tasklist"]["api"]["p95_ms"], TARGET_TASKLIST_P95_MS)
        if backend != "postgresql":
            api["note"] = tl["note"]
        targets.append({"name": "tasklist_api_p95_ms", "backend": backend,
                        "instances": figures["tasklist"]["instances"], **api})
        messages[backend] = figures["messages"]["p95_ms"]
        complete[backend] = figures["api_complete"]["p50_ms"]
        for name, value, target, extra in (
                ("messages_p95_ms", messages[backend], TARGET_MESSAGES_P95_MS,
                 {"instances": figures["messages"]["instances"]}),
                ("api_complete_p50_ms", complete[backend], TARGET_COMPLETE_P50_MS, {})):
            row = _target(value, target)
            if backend != "postgresql":
                row["note"] = "cible fixée pour PostgreSQL ; SQLite pour information"
            targets.append({"name": name, "backend": backend, **extra, **row})
        year = _target(figures["figures"]["p95_ms"], TARGET_FIGURES_P95_MS)
        if backend != "postgresql":
            year["note"] = "cible fixée pour PostgreSQL ; SQLite pour information"
        figures_p95[backend] = figures["figures"]["p95_ms"]
        targets.append({"name": "figures_year_p95_ms", "backend": backend,
                        "situations": figures["figures"]["situations"], **year})
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
    report["figures_year_p95_ms"] = {**figures_p95, "target": TARGET_FIGURES_P95_MS}
    report["messages_p95_ms"], report["api_complete_p50_ms"] = messages, complete
    report["tasklist_api_p95_ms"] = tasklist_api
    load = report.get("load")
    if load and "skipped" not in load:
        targets.append({"name": "load_scale_ratio", "backend": "postgresql",
                        **_target(load["scale_ratio"], TARGET_LOAD_SCALE, lower_is_better=False)})
        targets.append({"name": "load_errors", "backend": "postgresql",
                        **_target(load["errors"], 0)})
    report["tasklist_p95_ms"], report["state_bytes"] = tasklist, state
    _summarise_workspace(report, targets)
    report["targets"] = targets


def _summarise_workspace(report: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    """`pages.<db>.<page>_ms` (p95 with the demo data), `pages_at_scale.<db>.<page>_ms`,
    `search_p95_ms.<db>` (at the task list's number of situations), and their targets."""
    pages: dict[str, Any] = {"target_ms": workspace_bench.TARGET_PAGES_DEMO_MS}
    scale: dict[str, Any] = {"target_ms": workspace_bench.TARGET_PAGES_SCALE_MS}
    search: dict[str, Any] = {"target": workspace_bench.TARGET_SEARCH_P95_MS}
    for backend, figures in report["engine"].items():
        found = figures.get("workspace") if "skipped" not in figures else None
        if not found:
            continue
        pages[backend] = {k: v for k, v in found["pages_demo"].items() if "_p50" not in k}
        scale[backend] = {k: v for k, v in found["pages"].items() if "_p50" not in k}
        search[backend] = found["search"]["p95_ms"]
        note = {} if backend == "postgresql" else {
            "note": "cible fixée pour PostgreSQL ; SQLite pour information"}
        targets.append({"name": "pages_demo_p95_ms", "backend": backend,
                        **_target(max(pages[backend].values()),
                                  workspace_bench.TARGET_PAGES_DEMO_MS)})
        targets.append({"name": "pages_at_scale_p95_ms", "backend": backend,
                        "situations": found["situations"],
                        **_target(max(scale[backend].values()),
                                  workspace_bench.TARGET_PAGES_SCALE_MS), **note})
        targets.append({"name": "search_p95_ms", "backend": backend,
                        "situations": found["search"]["situations"],
                        **_target(search[backend], workspace_bench.TARGET_SEARCH_P95_MS),
                        **note})
    report["pages"], report["pages_at_scale"], report["search_p95_ms"] = pages, scale, search


def _all_met(targets: list[dict[str, Any]], name: str) -> bool | None:
    values = [t["met"] for t in targets if t["name"] == name and t["met"] is not None]
    return all(values) if values else None
