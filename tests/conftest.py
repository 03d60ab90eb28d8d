"""Shared fixtures: each test gets its own database, migrated and seeded with the demo territory.

Backends: `sqlite` always; `postgresql` when RELAIS_TEST_DATABASE_URL is set (and then it must
be reachable: an unreachable server fails the run rather than skipping). Each PostgreSQL test
gets a database cloned from a migrated template, so tests never see each other's rows.

What is expensive is built once per session (per xdist worker) and shared: the migrated and
seeded database templates, the Flask app (rebound to each test's database and secret). The
property tests run Hypothesis's `full` profile (200 examples each) unless CI=true or
HYPOTHESIS_PROFILE=ci selects the bounded `ci` profile. Passwords are hashed with argon2id at
its smallest cost: the tests prove the login logic, not the hash's cost (production keeps
argon2's defaults).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import echo_support  # noqa: F401  (registers the test-only connector relais/echo)
import pytest
from apiflask import APIFlask
from argon2 import PasswordHasher
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.cli import main
from engine.clock import ManualClock
from engine.config import Settings, normalise_database_url
from engine.db import Database
from engine.demo import create_demo
from engine.identity import service as identity_service
from engine.keys.directory import fingerprint
from engine.keys.master import FileMasterKey
from engine.keys.service import ensure_platform_signing_key
from engine.platform import initialise
from engine.web import create_app

hypothesis_settings.register_profile("full", max_examples=200, deadline=None)
hypothesis_settings.register_profile("ci", max_examples=25, deadline=None)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "full"))

# Before any template is seeded, so that every stored hash has the same (cheap) parameters.
identity_service._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

PG_ENV = "RELAIS_TEST_DATABASE_URL"
BROKER_ENV = "RELAIS_TEST_BROKER_URL"
BACKENDS = ["sqlite", "postgresql"]


def pg_url() -> str | None:
    url = os.environ.get(PG_ENV)
    return normalise_database_url(url) if url else None


def _worker() -> str:
    """Unique per test process: concurrent runs on one server never share a database."""
    return f'{os.environ.get("PYTEST_XDIST_WORKER", "main")}_{os.getpid()}'



class PostgresServer:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url,
                                   isolation_level="AUTOCOMMIT")

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def master_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "master.key"
    FileMasterKey.create(path)
    return path


def _seed(settings: Settings) -> None:
    db = initialise(settings)
    create_demo(db)
    _approve_victim_support(db)
    db.dispose()


def _approve_victim_support(db: Database) -> None:
    """The demo's victim-support association receives offence data (category OFF), as the
    demo territory sets it; repeated here so the tests never depend on that order."""
    from engine.audit import service as audit
    from engine.audit.service import SYSTEM
    from engine.db import transaction
    from engine.identity import service as identity

    with transaction(db) as uow:
        association = identity.get_organisation(uow, "asso-victimes-demo")
        if not association.offence_data_authorised:
            identity.set_offence_data_authorised(uow, SYSTEM, association, True)
            audit.checkpoint(uow)  # the seeded log ends on a signed checkpoint, as demo's


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, master_key_file: Path) -> Path:
    home = tmp_path_factory.mktemp("sqlite-template")
    path = home / "relais.db"
    _seed(Settings.from_env({"RELAIS_HOME": str(home),
                             "RELAIS_DATABASE_URL": f"sqlite:///{path}",
                             "RELAIS_MASTER_KEY_FILE": str(master_key_file)}))
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = pg_url()
    if url is None:
        pytest.skip(f"PostgreSQL non configuré : définissez {PG_ENV} pour ces tests.")
    server = PostgresServer(url)
    with server.admin.connect() as conn:  # unreachable → the run fails here, loudly
        conn.execute(text("SELECT 1"))
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer, master_key_file: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"relais_tpl_{_worker()}"
    url = postgres_server.create(name)
    _seed(Settings.from_env({"RELAIS_HOME": str(tmp_path_factory.mktemp("pg-template")),
                             "RELAIS_DATABASE_URL": url,
                             "RELAIS_MASTER_KEY_FILE": str(master_key_file)}))
    yield name
    postgres_server.drop(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "relais.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = f"relais_t_{_worker()}_{uuid.uuid4().hex[:8]}"
    yield server.create(name, template=template)
    server.drop(name)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(database_url: str, master_key_file: Path, tmp_path: Path) -> Settings:
    return Settings.from_env({"RELAIS_HOME": str(tmp_path),
                              "RELAIS_DATABASE_URL": database_url,
                              "RELAIS_MASTER_KEY_FILE": str(master_key_file),
                              "RELAIS_SECRET_KEY": "test-secret-" + uuid.uuid4().hex})


@pytest.fixture
def db(settings: Settings, clock: ManualClock) -> Iterator[Database]:
    database = Database(settings.database_url, clock=clock,
                        master=FileMasterKey.load(settings.master_key_file))
    yield database
    database.dispose()


@pytest.fixture
def uow(db: Database):
    with db.unit_of_work() as unit:
        yield unit


@pytest.fixture(scope="session")
def _built_apps() -> list[APIFlask]:
    return []


@pytest.fixture
def app(settings: Settings, db: Database, _built_apps: list[APIFlask]) -> APIFlask:
    """The web app on this test's database and session secret. Building it registers every
    route (about 1,400 rules through APIFlask): once per session, then rebound to each test.
    A test that changes the app itself (adds a route) takes `fresh_app`."""
    if not _built_apps:
        _built_apps.append(_new_app(settings, db))
    application = _built_apps[0]
    application.config["SECRET_KEY"] = settings.session_secret()
    application.extensions["relais.settings"] = settings
    application.extensions["relais.db"] = db
    return application


@pytest.fixture
def fresh_app(settings: Settings, db: Database) -> APIFlask:
    """An app of its own, for a test that adds routes or changes its configuration."""
    return _new_app(settings, db)


def _new_app(settings: Settings, db: Database) -> APIFlask:
    application = create_app(settings, db)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """Run `relais` against the test database; returns click's result."""
    monkeypatch.setenv("RELAIS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAIS_MASTER_KEY_FILE", str(settings.master_key_file))
    monkeypatch.setenv("RELAIS_HOME", str(settings.home))
    monkeypatch.delenv("RELAIS_PLATFORM_KEY_FILE", raising=False)

    def run(*args: object):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            repr(result.exception)
        return result

    return run


@pytest.fixture
def platform_fingerprint(db: Database) -> str:
    """The platform key's SHA-256 fingerprint, as its operator reads it on the platform and
    hands it to partners out of band."""
    with db.unit_of_work() as unit:
        public_key = ensure_platform_signing_key(unit, unit.master).public_key
        unit.commit()
    return fingerprint(public_key)


@pytest.fixture
def pinned_platform_key(cli, platform_fingerprint: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> str:
    """`relais verify` with that fingerprint pinned through RELAIS_PLATFORM_KEY_FILE."""
    pins = tmp_path / "plateforme.empreinte"
    pins.write_text(f"{platform_fingerprint}\n", encoding="utf-8")
    monkeypatch.setenv("RELAIS_PLATFORM_KEY_FILE", str(pins))
    return platform_fingerprint
