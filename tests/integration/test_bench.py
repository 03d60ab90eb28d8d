"""`relais bench` runs end to end with tiny sizes and reports every figure (no timing asserted).

PostgreSQL is measured too when RELAIS_TEST_DATABASE_URL is set: the suite then creates and
drops its own throw-away `relais_bench_*` database on that server.
"""

from __future__ import annotations

import json
from numbers import Number

import pytest
from click.testing import CliRunner
from conftest import pg_url

from engine import bench
from engine.cli import main

STEPS = 3


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = {"RELAIS_HOME": str(tmp_path_factory.mktemp("bench-home")),
           "RELAIS_DATABASE_URL": "", "RELAIS_BENCH_DATABASE_URL": pg_url() or ""}
    result = CliRunner().invoke(main, ["bench", "--json", "--steps", str(STEPS),
                                       "--tasklist-instances", "40",
                                       "--messages-instances", "30"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _positive(figures: dict, *keys: str) -> None:
    for key in keys:
        assert isinstance(figures[key], Number) and figures[key] > 0, (key, figures[key])


def _backends(report: dict) -> list[str]:
    return ["sqlite", "postgresql"] if pg_url() else ["sqlite"]


def test_report_has_every_section(report):
    for key in ("date", "machine", "parameters", "raw", "raw_facade", "engine", "ratio",
                "growth", "tasklist_p95_ms", "state_bytes", "documents", "targets"):
        assert key in report
    assert report["machine"]["nproc"] >= 1 and report["parameters"]["steps"] == STEPS
    if not pg_url():
        assert "skipped" in report["engine"]["postgresql"]


def test_raw_and_engine_figures_are_positive(report):
    step_keys = ("step_ms_median", "step_ms_mean", "step1_ms", "stepN_ms", "growth",
                 "state_bytes_3", f"state_bytes_{STEPS}")
    _positive(report["raw"], *step_keys, "max_task_depth")
    _positive(report["raw_facade"], *step_keys)
    for backend in _backends(report):
        figures = report["engine"][backend]
        _positive(figures, *step_keys, "start_instance_ms", "growth_sequential",
                  "raw_step_ms_median", "raw_step1_ms", "raw_stepN_ms", "raw_growth")
        assert figures["checks"]["ok"], figures["checks"]
        for window in ("step1", "stepN"):
            _positive(figures["breakdown_ms"][window], "total", "sql_statements",
                      "spiff_load_state", "spiff_dump_state", "audit_append")
        tasklist = figures["tasklist"]
        assert tasklist["instances"] == 40 and tasklist["user_ready_tasks"] >= 0
        _positive(tasklist["ready_tasks"], "p50_ms", "p95_ms")
        _positive(tasklist["worklist"], "p50_ms", "p95_ms")
        assert tasklist["ready_tasks_plan"]  # at 40 instances PostgreSQL rightly scans
        api = tasklist["api"]
        _positive(api["first_page"], "p50_ms", "p95_ms")
        _positive(api["deep_page"], "p50_ms", "p95_ms")
        assert api["first_page"]["rows"] == tasklist["user_ready_tasks"]
        messages = figures["messages"]
        # Every posted message found its own waiting instance through the index.
        assert messages["instances"] == 30 and messages["delivered"] == messages["posted"] > 0
        _positive(messages, "p50_ms", "p95_ms")
        _positive(figures["api_complete"], "p50_ms", "p95_ms", "sql_statements")
        year = figures["figures"]
        assert year["situations"] == 40 and year["people_counted"] == 40
        assert year["fact_rows"] > 40 * 5 and year["indicators"] >= 10
        _positive(year, "p50_ms", "p95_ms")


def test_ratios_targets_and_documents(report):
    for backend in _backends(report):
        _positive(report["ratio"][backend], "value", "step1", "stepN", "vs_raw_alone")
        _positive(report["growth"], backend)
        _positive(report["tasklist_p95_ms"], backend)
        _positive(report["state_bytes"], f"{backend}_3", f"{backend}_{STEPS}")
    names = {(t["name"], t["backend"]) for t in report["targets"]}
    assert ("ratio", "sqlite") in names and ("envelope_throughput_ratio", "-") in names
    assert ("figures_year_p95_ms", "sqlite") in names
    for key in ("messages_p95_ms", "api_complete_p50_ms", "tasklist_api_p95_ms"):
        assert (key, "sqlite") in names
        for backend in _backends(report):
            _positive(report[key], backend)
    assert all(isinstance(t["met"], bool) for t in report["targets"])
    _positive(report["documents"], "envelope_small_seal_open_ms", "envelope_throughput_ratio",
              "raw_aes_gcm_mb_s")


def test_the_table_reads_the_same_report(report):
    table = bench.format_table(report)
    assert "SpiffWorkflow seul (raw)" in table and "moteur sqlite" in table
    assert "Objectifs" in table and "envelope_throughput_ratio" in table
    assert "Chiffres d'une année (sqlite, 40 personnes reçues" in table
    assert "POST /messages (sqlite, 30 instances en attente, " in table
    assert "GET /api/v1/tasks" in table and "POST /tasks/{id}/complete (sqlite" in table


def test_workspace_pages_and_search_are_reported(report):
    """`pages.<db>.<page>_ms`, `pages_at_scale.<db>`, `search_p95_ms.<db>` and their targets."""
    pages = ("accueil_ms", "taches_ms", "situations_ms", "situation_ms", "recus_ms",
             "recherche_ms")
    for backend in _backends(report):
        _positive(report["pages"][backend], *pages)
        _positive(report["pages_at_scale"][backend], *pages)
        assert report["search_p95_ms"][backend] > 0
        workspace = report["engine"][backend]["workspace"]
        assert workspace["search"]["situations"] >= 40  # the filler was written
        assert workspace["search"]["rows_found"] > 0  # the needles were found among them
    names = {t["name"] for t in report["targets"]}
    assert {"pages_demo_p95_ms", "pages_at_scale_p95_ms", "search_p95_ms"} <= names
