"""Settings from the RELAIS_* environment variables, with embedded defaults under RELAIS_HOME.

Nothing needs configuring to try Relais: without variables it keeps a SQLite file, a master
key and a session secret under ./var and runs its background work in process.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from engine.errors import ConfigurationError

MIB = 1024 * 1024
MAX_PROXIES = 5


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    broker_url: str | None
    master_key_file: Path
    secret_key: str | None
    max_request_bytes: int = 4 * MIB
    # Where users reach the platform (`https://…` behind a TLS proxy): decides the cookies'
    # Secure flag and HSTS, never the Host header of a request.
    public_url: str | None = None
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed.
    trusted_proxies: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        """True when the database is the embedded SQLite file (single-machine mode)."""
        return self.database_url.startswith("sqlite")

    @property
    def dialect(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies unless the operator says the site is plain HTTP (`http://…`)."""
        return not (self.public_url or "").startswith("http://")

    @property
    def hsts(self) -> bool:
        return (self.public_url or "").startswith("https://")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        home = Path(env.get("RELAIS_HOME") or "./var").resolve()
        database_url = env.get("RELAIS_DATABASE_URL") or f"sqlite:///{home / 'relais.db'}"
        master = env.get("RELAIS_MASTER_KEY_FILE")
        max_request_bytes = _integer(env, "RELAIS_MAX_REQUEST_BYTES", 4 * MIB)
        return cls(
            home=home,
            database_url=normalise_database_url(database_url),
            broker_url=env.get("RELAIS_BROKER_URL") or None,
            master_key_file=Path(master).resolve() if master else home / "master.key",
            secret_key=env.get("RELAIS_SECRET_KEY") or None,
            max_request_bytes=max_request_bytes,
            public_url=_public_url(env.get("RELAIS_PUBLIC_URL")),
            trusted_proxies=_integer(env, "RELAIS_TRUSTED_PROXIES", 0, upper=MAX_PROXIES),
        )

    def session_secret(self) -> str:
        """The Flask session secret: RELAIS_SECRET_KEY, or one generated once into RELAIS_HOME."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def _integer(env: dict[str, str], name: str, default: int, upper: int | None = None) -> int:
    raw = env.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ConfigurationError(f"{name} doit être un entier.") from exc
    if value < 0:
        raise ConfigurationError(f"{name} doit être un entier positif ou nul.")
    if upper is not None and value > upper:
        raise ConfigurationError(f"{name} doit être compris entre 0 et {upper}.")
    return value


def _public_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError("RELAIS_PUBLIC_URL doit être une adresse complète, par "
                                 "exemple https://relais.example.fr.")
    return raw.rstrip("/")


def normalise_database_url(url: str) -> str:
    """Make plain `postgresql://` URLs use psycopg 3, the driver we ship."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
