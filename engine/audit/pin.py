"""The trusted fingerprint of the checkpoint key, kept outside the database.

`relais init` writes the SHA-256 fingerprint of the platform signing key into a file beside
the master key (`<master key file>.audit-pin`, one fingerprint per line). `relais audit
verify` believes a checkpoint only when the key that signed it has a fingerprint given from
outside the database: `--trusted-key`, else RELAIS_AUDIT_TRUSTED_KEY, else this file.

The file is created 0644: a fingerprint is public (partners and auditors receive the same
value); what matters is that it cannot be changed by whoever can write to the database, and
that the operator keeps a copy offline with the master key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from engine.audit.errors import NoTrustAnchor

ENV = "RELAIS_AUDIT_TRUSTED_KEY"
SUFFIX = ".audit-pin"
FINGERPRINT_RE = re.compile(r"[0-9a-f]{64}")



def pin_file(master_key_file: Path) -> Path:
    return master_key_file.with_name(master_key_file.name + SUFFIX)


def parse_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as hex (colons and spaces tolerated), lowercase."""
    value = re.sub(r"[\s:]", "", text).lower()
    if not FINGERPRINT_RE.fullmatch(value):
        raise NoTrustAnchor("Empreinte de clé invalide : 64 caractères hexadécimaux attendus "
                            "(SHA-256 de la clé publique de la plateforme).")
    return value


def read_pins(path: Path) -> list[str]:
    """The fingerprints pinned in `path` (blank lines and # comments ignored); [] if absent."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [parse_fingerprint(line) for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def add_pins(path: Path, fingerprints: Iterable[str]) -> list[str]:
    """Append the fingerprints not pinned yet; returns those added. Never removes one."""
    known = read_pins(path)
    added = [fp for fp in sorted(set(fingerprints)) if fp not in known]
    if not added:
        return []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        if not known:
            fh.write("# Empreintes SHA-256 des clés de la plateforme qui signent les points "
                     "de contrôle du journal d'audit (relais audit verify).\n")
        fh.writelines(fp + "\n" for fp in added)
    return added


def trusted_fingerprints(option: str | None, environ: dict[str, str] | os._Environ[str],
                         master_key_file: Path) -> tuple[list[str], str]:
    """(fingerprints, where they came from): the option, else the environment, else the pin
    file. Refuses when none is available rather than trusting the database."""
    if option:
        return [parse_fingerprint(option)], "--trusted-key"
    if environ.get(ENV):
        return [parse_fingerprint(environ[ENV])], ENV
    path = pin_file(master_key_file)
    pins = read_pins(path)
    if pins:
        return pins, str(path)
    raise NoTrustAnchor(
        f"aucune empreinte de confiance pour la clé des points de contrôle ({path} absent : "
        "plateforme non initialisée ?). Lancez « relais init », ou indiquez l'empreinte "
        f"conservée hors ligne par --trusted-key ou {ENV} ; le journal n'est pas vérifié "
        "avec une clé trouvée dans sa propre base.")
