"""The production process model: gunicorn runs several Relais processes on the WSGI entry
point; the entry point refuses an installation without a broker or a master key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.web import wsgi

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_entry_point_refuses_to_serve_without_a_broker(settings):
    assert settings.broker_url is None
    with pytest.raises(ConfigurationError, match="RELAIS_BROKER_URL"):
        wsgi.build(settings)


def test_the_entry_point_refuses_to_serve_without_the_master_key(settings, tmp_path):
    missing = Settings.from_env({"RELAIS_HOME": str(tmp_path),
                                 "RELAIS_DATABASE_URL": settings.database_url,
                                 "RELAIS_MASTER_KEY_FILE": str(tmp_path / "absent.key"),
                                 "RELAIS_BROKER_URL": "redis://127.0.0.1:6379/0"})
    with pytest.raises(ConfigurationError, match="Clé maîtresse"):
        wsgi.build(missing)


def test_gunicorn_serves_relais_from_several_processes(sqlite_template, master_key_file,
                                                        tmp_path):
    database = tmp_path / "relais.db"
    database.write_bytes(sqlite_template.read_bytes())
    port = _free_port()
    env = {**os.environ, "RELAIS_HOME": str(tmp_path),
           "RELAIS_DATABASE_URL": f"sqlite:///{database}",
           "RELAIS_MASTER_KEY_FILE": str(master_key_file),
           "RELAIS_BROKER_URL": "redis://127.0.0.1:6379/0",  # not reached by the web processes
           "RELAIS_SECRET_KEY": "test-secret", "RELAIS_WEB_WORKERS": "2",
           "RELAIS_WEB_THREADS": "2", "RELAIS_BIND": f"127.0.0.1:{port}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "ops/deploy/gunicorn.conf.py"),
         "engine.web.wsgi:application"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pids = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pids) < 2:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
            except OSError:
                time.sleep(0.3)
                continue
            pids = _worker_pids(server.pid)
        assert len(pids) == 2, "gunicorn did not start two worker processes"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()
