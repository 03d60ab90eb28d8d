"""Backup and restore of one installation, and the integrity check that proves a restore.

A backup is a folder: the database (SQLite file copy, or `pg_dump` custom format), the
configuration that is not secret, and a manifest with each file's SHA-256, the schema
revision and the audit log's head. The master key is never written into it: without the
master key a backup opens nothing, so the two must be kept apart (`--master-key-copy` writes
a copy elsewhere, on other media, for the offline safe).

Guarantees:
- `restore` refuses a backup whose files do not match their manifest, and a target database
  that already holds tables: it never mixes two installations.
- `check` proves a restore: every record of every live situation decrypts, every stored
  envelope opens and verifies, and the audit chain verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from engine.audit import service as audit
from engine.cases.integrity import check_records
from engine.config import Settings
from engine.db import Database
from engine.errors import ConfigurationError
from engine.platform import write_private
from engine.routing.integrity import check_deliveries
from engine.schema import upgrade

FORMAT = "relais-backup/1"
MANIFEST = "manifest.json"
SQLITE_FILE, PG_FILE, CONFIG_FILE = "relais.sqlite", "relais.pgdump", "configuration.json"


class BackupError(ConfigurationError):
    """A backup or restore that cannot proceed; the message says why, in French."""


@dataclass
class CheckReport:
    cases: int = 0
    destroyed_cases: int = 0
    records: int = 0
    deliveries: int = 0
    audit_entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def backup(settings: Settings, destination: Path, *,
           master_key_copy: Path | None = None) -> dict[str, Any]:
    """Write a backup of `settings`' installation into the new folder `destination`."""
    destination = destination.resolve()
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"Le dossier {destination} n'est pas vide : choisissez un dossier "
                          "neuf pour la sauvegarde.")
    if master_key_copy is not None and _inside(master_key_copy.resolve(), destination):
        raise BackupError("La copie de la clé maîtresse ne doit pas être rangée avec la "
                          "sauvegarde : placez-la sur un autre support, hors ligne.")
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = _dump(settings, destination)
    write_private(destination / CONFIG_FILE,
                  json.dumps(_configuration(settings), indent=2).encode())
    manifest = {"format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "dialect": settings.dialect, "database_file": name,
                **_database_facts(settings),
                "files": {f: _sha256(destination / f) for f in (name, CONFIG_FILE)}}
    write_private(destination / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    if master_key_copy is not None:
        _copy_master_key(settings, master_key_copy)
    return manifest


def restore(settings: Settings, source: Path) -> dict[str, Any]:
    """Load the backup in `source` into `settings`' database, which must be empty; then bring
    the schema to the newest migration. Returns the backup's manifest."""
    manifest = read_manifest(source)
    if manifest["dialect"] != settings.dialect:
        raise BackupError(f"Cette sauvegarde vient d'une base {manifest['dialect']} ; la base "
                          f"configurée est {settings.dialect}.")
    _require_empty(settings)
    dump = source / manifest["database_file"]
    if settings.dialect == "sqlite":
        _sqlite_copy(dump, _sqlite_path(settings.database_url))
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              "--dbname", _libpq_url(settings.database_url), str(dump)], "pg_restore")
    upgrade(settings.database_url)
    return manifest


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file against its SHA-256."""
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source} n'est pas une sauvegarde Relais lisible "
                          f"(manifeste absent ou illisible).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} n'est pas une sauvegarde Relais de ce format.")
    for name, digest in manifest.get("files", {}).items():
        path = source / Path(name).name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"Le fichier {name} de la sauvegarde est absent ou altéré : "
                              "restauration refusée.")
    return manifest


def check(db: Database) -> CheckReport:
    """Every live situation readable, every envelope verifiable, the audit chain intact."""
    report = CheckReport()
    with db.unit_of_work() as uow:
        records = check_records(uow)
        deliveries = check_deliveries(uow)
        chain = audit.verify(uow)
    report.cases, report.destroyed_cases = records.cases, records.destroyed
    report.records, report.deliveries = records.records, deliveries.deliveries
    report.audit_entries = chain.entries
    report.problems = records.problems + deliveries.problems
    if not chain.ok:
        report.problems.append(f"journal d'audit : ligne {chain.first_bad_seq} — {chain.reason}")
    return report


# --- the database --------------------------------------------------------------------------

def _dump(settings: Settings, destination: Path) -> str:
    if settings.dialect == "sqlite":
        _sqlite_copy(_sqlite_path(settings.database_url), destination / SQLITE_FILE)
        return SQLITE_FILE
    if settings.dialect != "postgresql":
        raise BackupError(f"Sauvegarde non prise en charge pour {settings.dialect}.")
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
          "--file", str(destination / PG_FILE), _libpq_url(settings.database_url)], "pg_dump")
    os.chmod(destination / PG_FILE, 0o600)
    return PG_FILE


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup (safe while the app runs)."""
    if not source.is_file():
        raise BackupError(f"Base SQLite introuvable : {source}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _require_empty(settings: Settings) -> None:
    if settings.dialect == "sqlite":
        path = _sqlite_path(settings.database_url)
        if not path.exists():
            return
    engine = create_engine(settings.database_url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("La base de destination contient déjà des tables : restaurez dans "
                          "une base vide (elle n'est jamais mélangée à une autre installation).")


def _database_facts(settings: Settings) -> dict[str, Any]:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            head = conn.execute(text("SELECT seq, hash FROM audit_entry "
                                     "ORDER BY seq DESC LIMIT 1")).first()
    finally:
        engine.dispose()
    return {"schema_revision": revision,
            "audit_head": {"seq": head.seq, "hash": head.hash} if head else None}


def _configuration(settings: Settings) -> dict[str, Any]:
    """What is needed to run the restored installation again, without any secret."""
    broker = make_url(settings.broker_url).set(password=None).render_as_string() \
        if settings.broker_url and "://" in settings.broker_url else None
    return {"dialect": settings.dialect, "broker": broker,
            "max_request_bytes": settings.max_request_bytes,
            "master_key_file": str(settings.master_key_file),
            "note": "La clé maîtresse n'est pas dans cette sauvegarde : gardez-en une copie "
                    "hors ligne, séparément."}


def _copy_master_key(settings: Settings, target: Path) -> None:
    if not settings.master_key_file.is_file():
        raise BackupError(f"Clé maîtresse introuvable : {settings.master_key_file}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out, settings.master_key_file.open("rb") as src:
        shutil.copyfileobj(src, out)


# --- small helpers -------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise BackupError("Base SQLite en mémoire : rien à sauvegarder ni à restaurer.")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq tools want it (no `+driver`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(argv: list[str], tool: str) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"{tool} est introuvable : installez le client PostgreSQL "
                          "(paquet postgresql-client) de la même version que le serveur.") from exc
    if result.returncode != 0:
        # The tool's own words (no data: they name objects, not values).
        first = (result.stderr.strip().splitlines() or ["?"])[0]
        raise BackupError(f"{tool} a échoué : {first}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
