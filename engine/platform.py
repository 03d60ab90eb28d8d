"""Opening the platform: settings → database (with its master key) → initialised schema."""

from __future__ import annotations

from pathlib import Path

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


def connect(settings: Settings, clock: Clock | None = None) -> Database:
    """The database of these settings, with the master key when its file exists."""
    master = FileMasterKey.load(settings.master_key_file) \
        if settings.master_key_file.exists() else None
    return Database(settings.database_url, clock=clock, master=master)


def initialise(settings: Settings, clock: Clock | None = None, *, audit_owner: str | None = None,
               app_role: str | None = None) -> Database:
    """`relais init`: keys, schema, platform signing key (pinned beside the master key), and
    on request the audit tables handed to another PostgreSQL role. Safe to run again."""
    if audit_owner and settings.dialect != "postgresql":
        raise AuditOwnershipRefused("--audit-owner ne s'applique qu'à PostgreSQL.")
    settings.home.mkdir(parents=True, exist_ok=True)
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
