"""The machine a run is measured on, and the throw-away PostgreSQL databases it creates."""

from __future__ import annotations

import os
import platform
import uuid
from contextlib import suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import SpiffWorkflow
import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.bench.common import PG_ENV
from engine.config import normalise_database_url


def postgresql_server_url(environ: dict[str, str] | None = None) -> str | None:
    """The configured PostgreSQL server, if any (RELAIS_BENCH_DATABASE_URL first)."""
    env = os.environ if environ is None else environ
    for name in PG_ENV:
        url = env.get(name)
        if url and url.split(":", 1)[0].split("+", 1)[0] in {"postgresql", "postgres"}:
            return normalise_database_url(url)
    return None


def broker_url(environ: dict[str, str] | None = None) -> str | None:
    """The broker the load test's production processes use (RELAIS_BENCH_BROKER_URL first)."""
    env = os.environ if environ is None else environ
    return env.get("RELAIS_BENCH_BROKER_URL") or env.get("RELAIS_BROKER_URL") or None


class ThrowawayDatabase:
    """A new empty database beside `server_url`'s, dropped by `drop()` (never that one)."""

    def __init__(self, server_url: str):
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
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            self.admin.dispose()


# --- machine --------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
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
    return {"nproc": usable, "cpu": cpu, "memory": memory, "load_average_at_start": load_average(),
            "system": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "spiffworkflow": getattr(SpiffWorkflow, "__version__", None) or _dist_version(
                "SpiffWorkflow"),
            "sqlalchemy": sqlalchemy.__version__}


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"
