"""Opening the platform: settings → database (with its master key) → initialised schema.

Guarantees (file permissions, embedded mode):
- RELAIS_HOME is created 0700; relais.db and its -wal/-shm companions, the session secret and
  the master key are 0600 (an existing database file is tightened to 0600).
- A master key file that group or others may read is refused: the platform does not start
  on a key that may already have leaked (`chmod 600` it, or mount it with mode 0400).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.audit import pin, roles
from engine.audit import service as audit
from engine.audit.errors import AuditOwnershipRefused
from engine.audit.service import SYSTEM, Actor
from engine.clock import Clock
from engine.config import Settings
from engine.db import Database, transaction
from engine.errors import ConfigurationError
from engine.keys import service as keys
from engine.keys.master import FileMasterKey
from engine.schema import upgrade

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def connect(settings: Settings, clock: Clock | None = None) -> Database:
    """The database of these settings, with the master key when its file exists."""
    master = None
    if settings.master_key_file.exists():
        check_master_key_mode(settings.master_key_file)
        master = FileMasterKey.load(settings.master_key_file)
    protect_sqlite_files(settings.database_url)
    return Database(settings.database_url, clock=clock, master=master)


def check_master_key_mode(path: Path) -> None:
    """Refuse a master key that group or others may read (or write)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigurationError(
            f"La clé maîtresse {path} est lisible par d'autres comptes que celui de Relais "
            f"(droits {mode:o}) : elle a pu fuiter. Restreignez-la (chmod 600 {path}), "
            "envisagez de la renouveler, puis relancez.")


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) when missing; the folder itself gets mode 0700."""
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR)
        os.chmod(path, PRIVATE_DIR)  # whatever the umask


def write_private(path: Path, content: bytes) -> None:
    """Write `content` to a file only its owner may read (an existing file is tightened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def protect_sqlite_files(database_url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it gives -wal and -shm the mode of the
    database file) and tighten files left wider by an older version."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database)
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
            os.chmod(file, PRIVATE_FILE)


def initialise(settings: Settings, clock: Clock | None = None, *, audit_owner: str | None = None,
               app_role: str | None = None) -> Database:
    """`relais init`: keys, schema, platform signing key (pinned beside the master key), and
    on request the audit tables handed to another PostgreSQL role. Safe to run again."""
    if audit_owner and settings.dialect != "postgresql":
        raise AuditOwnershipRefused("--audit-owner ne s'applique qu'à PostgreSQL.")
    private_dir(settings.home)
    protect_sqlite_files(settings.database_url)
    if not settings.master_key_file.exists():
        if not settings.embedded:
            raise ConfigurationError(
                f"Clé maîtresse introuvable ({settings.master_key_file}) : en production, "
                "fournissez-la par RELAIS_MASTER_KEY_FILE ; elle n'est créée d'office qu'en "
                "mode embarqué.")
        FileMasterKey.create(settings.master_key_file)
    upgrade(settings.database_url)
    db = connect(settings, clock)
    deploy_bundled(db)
    with transaction(db) as uow:
        pair = keys.ensure_platform_signing_key(uow, uow.master)
        if audit.last_checkpoint_seq(uow) == 0:  # first init: the log starts signed
            audit.append(uow, SYSTEM, "platform.initialised", subject_type="key_pair",
                         subject_id=pair.kid)
            audit.checkpoint(uow)
    pin_platform_key(db, settings)
    if audit_owner:
        with transaction(db) as uow:
            roles.hand_over(uow, audit_owner, app_role)
    return db


def pin_platform_key(db: Database, settings: Settings) -> list[str]:
    """Write the fingerprints of the platform signing keys the master key proves its own into
    the pin file beside the master key (see engine.audit.pin); returns the file's pins."""
    with db.unit_of_work() as uow:
        proven = keys.proven_platform_fingerprints(uow, uow.master)
    path = pin.pin_file(settings.master_key_file)
    pin.add_pins(path, proven)
    return pin.read_pins(path)


WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"


def deploy_bundled(db: Database, folder: Path = WORKFLOWS) -> list[str]:
    """Deploy each protocol folder of `workflows/` (identical content is a no-op)."""
    from engine.runtime.service import deploy

    deployed: list[str] = []
    if not folder.is_dir():
        return deployed
    for protocol in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = {f.name: f.read_bytes() for f in sorted(protocol.iterdir())
                 if f.suffix in {".bpmn", ".dmn"}}
        if files:
            with transaction(db) as uow:
                versions = deploy(uow, Actor(None, "init"), files, source="bundled")
            deployed += [v.process_id for v in versions]
    return deployed
