"""Load through HTTP in the production process model, on loopback only.

A throw-away PostgreSQL database gets the demo territory and the benchmark protocol; then the
production processes run against it and the broker: gunicorn serving `engine.web.wsgi`
(first with one worker process, then with `workers`), `relais worker` and
`relais scheduler`. `clients` threads, each with its own keep-alive connection to 127.0.0.1,
run short protocol flows through the REST API for `seconds` — start an instance, complete its
three steps — and every request's latency is recorded per endpoint.

Bounded: every run stops at its deadline and after `MAX_REQUESTS` requests, whichever comes
first; requests go to 127.0.0.1 only; the processes are stopped at the end, whatever happens.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.audit.service import SYSTEM
from engine.bench.common import PROCESS_ID, USER, Progress, ms, p95, submission
from engine.bench.machine import ThrowawayDatabase
from engine.bench.testbed import Testbed
from engine.db import transaction
from engine.identity import service as identity

ROOT = Path(__file__).resolve().parents[2]
MAX_REQUESTS = 200_000
STEPS_PER_FLOW = 3
HOST = "127.0.0.1"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    flows: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(endpoint, []).append(seconds)
            self.requests += 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(what[:200])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Client:
    """One professional's browser-less client: a keep-alive connection to the loopback."""

    def __init__(self, port: int, token: str, tally: Tally):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}",
                        "Content-Type": "application/json"}
        self.tally = tally

    def call(self, endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        began = time.perf_counter()
        try:
            self.conn.request("POST", path, json.dumps(body), self.headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.tally.fail(f"{endpoint}: {type(exc).__name__}")
            return None
        self.tally.add(endpoint, time.perf_counter() - began)
        if response.status >= 300:
            self.tally.fail(f"{endpoint}: HTTP {response.status} {payload[:120]!r}")
            return None
        return json.loads(payload)

    def flow(self) -> bool:
        """Start an instance and complete its steps; True when it reached its end."""
        summary = self.call("POST /instances", "/api/v1/instances",
                            {"process_id": PROCESS_ID})
        for step in range(1, STEPS_PER_FLOW + 1):
            if summary is None or not summary.get("ready_tasks"):
                return False
            task = summary["ready_tasks"][0]["id"]
            done = self.call("POST /tasks/{id}/complete", f"/api/v1/tasks/{task}/complete",
                             {"data": submission(step, step < STEPS_PER_FLOW)})
            summary = done["instance"] if done else None
        return summary is not None and summary.get("status") == "completed"


def _drive(port: int, token: str, clients: int, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds

    def run() -> None:
        client = Client(port, token, tally)
        while time.monotonic() < deadline and tally.requests < MAX_REQUESTS:
            if client.flow():
                with tally.lock:
                    tally.flows += 1

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    return tally


def _wait_healthy(port: int, server: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn s'est arrêté au démarrage")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn ne répond pas sur /healthz")


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _one_run(env: dict[str, str], workers: int, clients: int, seconds: float,
             token: str, home: Path) -> dict[str, Any]:
    port = _free_port()
    run_env = {**env, "RELAIS_WEB_WORKERS": str(workers), "RELAIS_WEB_THREADS": "4",
               "RELAIS_BIND": f"{HOST}:{port}"}
    log = home / f"processes-{workers}.log"
    relais = [sys.executable, "-m", "engine.cli"]
    processes = [
        _start([sys.executable, "-m", "gunicorn", "--config",
                str(ROOT / "ops/deploy/gunicorn.conf.py"), "engine.web.wsgi:application"],
               run_env, log),
        _start([*relais, "worker", "--threads", "2"], run_env, log),
        _start([*relais, "scheduler"], run_env, log),
    ]
    try:
        _wait_healthy(port, processes[0])
        _drive(port, token, min(clients, 4), min(3.0, seconds))  # warm-up, not counted
        began = time.perf_counter()
        tally = _drive(port, token, clients, seconds)
        elapsed = time.perf_counter() - began
    finally:
        _stop(processes)
    endpoints = {name: {"requests": len(times), "p50_ms": ms(statistics.median(times)),
                        "p95_ms": ms(p95(times))}
                 for name, times in tally.latencies.items() if times}
    return {"workers": workers, "clients": clients, "seconds": round(elapsed, 1),
            "flows": tally.flows, "flows_per_s": round(tally.flows / elapsed, 2),
            "requests": tally.requests, "errors": tally.errors,
            "error_samples": tally.error_samples, "endpoints": endpoints}


def measure_load(postgresql_url: str | None, broker_url: str | None, seconds: float,
                 clients: int, workers: int, progress: Progress) -> dict[str, Any]:
    """Throughput with one web worker, then with `workers`; both with the same clients."""
    if not postgresql_url or not broker_url:
        return {"skipped": "charge mesurée sur PostgreSQL et Redis : définissez "
                           "RELAIS_BENCH_DATABASE_URL et RELAIS_BENCH_BROKER_URL"}
    database = ThrowawayDatabase(postgresql_url)
    try:
        with tempfile.TemporaryDirectory(prefix="relais_load_") as folder:
            home = Path(folder)
            testbed = Testbed(database.url, home)
            with transaction(testbed.db) as uow:
                _token, token = identity.create_token(
                    uow, SYSTEM, identity.get_user(uow, USER), "charge")
            testbed.dispose()
            env = {**os.environ, "RELAIS_HOME": str(home), "RELAIS_DATABASE_URL": database.url,
                   "RELAIS_MASTER_KEY_FILE": str(home / "master.key"),
                   "RELAIS_BROKER_URL": broker_url, "RELAIS_SECRET_KEY": "bench-load",
                   "RELAIS_BROKER_NAMESPACE": f"relais-load-{os.getpid()}"}
            runs = []
            for count in (1, workers):
                progress(f"charge : {clients} clients, {count} processus web, {seconds:g} s")
                runs.append(_one_run(env, count, clients, seconds, token, home))
    finally:
        database.drop()
    one, many = runs
    return {"clients": clients, "seconds": seconds, "workers_n": workers,
            "flow": f"lancer {PROCESS_ID} puis compléter {STEPS_PER_FLOW} étapes (API REST)",
            "flows_per_s_1": one["flows_per_s"], "flows_per_s_n": many["flows_per_s"],
            "scale_ratio": round(many["flows_per_s"] / one["flows_per_s"], 2)
            if one["flows_per_s"] else None,
            "errors": one["errors"] + many["errors"], "runs": runs}
