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
- `figures` (per engine): one year of activity figures for a territory, with as many people
  received as `tasklist_instances` (target ≤ 1 s at 100,000 on PostgreSQL);
- `load` (with `--load SECONDS`): `engine.bench.load`, flows through HTTP in the production
  process model (gunicorn, worker, scheduler; PostgreSQL and Redis), one web worker then N;
- `documents`: `engine.bench.documents.run` (20 KB seal+open for 3 recipients, 10 MB
  throughput as a ratio to raw AES-256-GCM, target ≥ 0.4).

The engine run also reports where a step's time goes (`breakdown_ms`), by wrapping a few
service functions with exclusive timers and counting SQL statements; the wrappers cost a few
microseconds per step.

Modules: `common` (protocol, targets, statistics), `raw` (SpiffWorkflow alone), `breakdown`
(timers), `testbed` (the engine on one database), `tasklist`, `documents` (envelopes),
`machine` (machine facts, throw-away PostgreSQL databases), `suite` (the run and its summary),
`table` (the printed report).
"""

from engine.bench.machine import broker_url, postgresql_server_url
from engine.bench.suite import run
from engine.bench.table import format_table

__all__ = ["broker_url", "format_table", "postgresql_server_url", "run"]
