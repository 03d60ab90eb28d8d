"""The sample production files of ops/deploy/ parse, and say what the README promises: three
systemd units running real `relais` commands, gunicorn workers from a setting, nginx with TLS
passing exactly the forwarded headers the app trusts."""

from __future__ import annotations

import configparser
import runpy
from pathlib import Path

import crossplane
import pytest
from click.testing import CliRunner

from engine.cli import main

DEPLOY = Path(__file__).resolve().parents[2] / "ops" / "deploy"
UNITS = ("relais-web.service", "relais-worker.service", "relais-scheduler.service")


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text())
    return parser


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_parses_and_runs_as_an_unprivileged_hardened_service(name):
    unit = _unit(name)
    service = unit["Service"]
    assert service["User"] == "relais"
    assert service["EnvironmentFile"] == "/etc/relais/relais.env"
    assert service["UMask"] == "0077" and service["NoNewPrivileges"] == "yes"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize(("name", "command"), [("relais-worker.service", "worker"),
                                               ("relais-scheduler.service", "scheduler")])
def test_background_units_run_commands_that_exist(name, command):
    argv = _unit(name)["Service"]["ExecStart"].split()
    assert argv[0].endswith("/relais") and argv[1] == command
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_the_web_unit_runs_gunicorn_on_the_wsgi_entry_point():
    argv = _unit("relais-web.service")["Service"]["ExecStart"].split()
    assert argv[0].endswith("/gunicorn")
    assert argv[-1] == "engine.web.wsgi:application"
    assert argv[argv.index("--config") + 1].endswith("ops/deploy/gunicorn.conf.py")


def test_gunicorn_workers_are_a_setting(monkeypatch):
    monkeypatch.setenv("RELAIS_WEB_WORKERS", "3")
    monkeypatch.setenv("RELAIS_WEB_THREADS", "2")
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 2, "gthread")
    assert conf["bind"].startswith("127.0.0.1:")
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"


def _directives(block: list[dict], name: str) -> list[dict]:
    return [d for d in block if d["directive"] == name]


def test_the_nginx_site_parses_terminates_tls_and_forwards_the_trusted_headers():
    parsed = crossplane.parse(str(DEPLOY / "nginx-relais.conf"), single=True,
                              check_ctx=False, check_args=False)
    assert parsed["status"] == "ok", parsed["errors"]
    servers = _directives(parsed["config"][0]["parsed"], "server")
    assert len(servers) == 2
    plain, tls = servers
    assert _directives(plain["block"], "return")[0]["args"][0] == "301"
    assert any("ssl" in d["args"] for d in _directives(tls["block"], "listen"))
    assert _directives(tls["block"], "ssl_certificate")
    location = _directives(tls["block"], "location")[0]
    headers = {d["args"][0]: d["args"][1]
               for d in _directives(location["block"], "proxy_set_header")}
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-For"] == "$remote_addr"  # one hop, never a client's list
    assert _directives(location["block"], "proxy_pass")[0]["args"] == ["http://127.0.0.1:8000"]


def test_the_sample_environment_names_only_settings_relais_reads():
    names = {line.split("=", 1)[0] for line in (DEPLOY / "relais.env.example").read_text()
             .splitlines() if line and not line.startswith("#")}
    assert {"RELAIS_DATABASE_URL", "RELAIS_BROKER_URL", "RELAIS_MASTER_KEY_FILE",
            "RELAIS_WEB_WORKERS"} <= names
    assert not any("KEY=" in line and "FILE" not in line
                   for line in (DEPLOY / "relais.env.example").read_text().splitlines())
