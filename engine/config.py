"""Settings from the RELAIS_* environment variables, with embedded defaults under RELAIS_HOME.

Nothing needs configuring to try Relais: without variables it keeps a SQLite file, a master
key and a session secret under ./var and runs its background work in process.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigurationError

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    broker_url: str | None
    master_key_file: Path
    secret_key: str | None
    max_request_bytes: int = 4 * MIB
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when the database is the embedded SQLite file (single-machine mode)."""
        return self.database_url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("RELAIS_HOME") or "./var").resolve()
        database_url = env.get("RELAIS_DATABASE_URL") or f"sqlite:///{home / 'relais.db'}"
        master = env.get("RELAIS_MASTER_KEY_FILE")
        max_bytes = env.get("RELAIS_MAX_REQUEST_BYTES")
        try:
            max_request_bytes = int(max_bytes) if max_bytes else 4 * MIB
        except ValueError as exc:
            raise ConfigurationError("RELAIS_MAX_REQUEST_BYTES doit être un entier.") from exc
        return cls(
            home=home,
            database_url=normalise_database_url(database_url),
            broker_url=env.get("RELAIS_BROKER_URL") or None,
            master_key_file=Path(master).resolve() if master else home / "master.key",
            secret_key=env.get("RELAIS_SECRET_KEY") or None,
            max_request_bytes=max_request_bytes,
        )

    def session_secret(self) -> str:
        """The Flask session secret: RELAIS_SECRET_KEY, or one generated once into RELAIS_HOME."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Make plain `postgresql://` URLs use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
