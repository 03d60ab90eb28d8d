"""The audit log as the administration console reads it: the log searched and paginated,
its verification in steps, its checkpoints listed and exported. Administrators only.

The audit domain cannot import identity (identity logs here), so the administrator check is
made on the principal's `has_role` with the role's value; the web guard checks it too.

Guarantees:
- pages are keyset-paginated on `seq` (newest first): a page costs the same at row 10 or
  10 million, and rows appended meanwhile never shift what the next page shows;
- the verification in steps applies `service.verify_step`, the same rules as
  `relais audit verify`, trusting only the fingerprint given from outside the database
  (`pin.trusted_fingerprints`: RELAIS_AUDIT_TRUSTED_KEY, else the file `relais init` pins);
- exporting a checkpoint is `relais audit checkpoint --export`, to the byte.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from engine.audit import pin, service
from engine.audit.chain import GENESIS, Actor, append
from engine.audit.models import AuditCheckpoint, AuditEntry
from engine.db import UnitOfWork
from engine.errors import Forbidden, Invalid

ADMIN = "ADMIN"  # engine.identity.roles.Role.ADMIN (audit cannot import identity)
PAGE_SIZE = 50
STEP_ROWS = 2000  # rows verified per step: well under a second on SQLite and PostgreSQL
MAX_STEP_ROWS = 20_000
_CURSOR = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


class Reader(Protocol):
    """The principal as this module needs it (engine.identity.service.Principal)."""

    @property
    def actor(self) -> Actor: ...

    def has_role(self, role: str, organisation_id: int | None = None) -> bool: ...


def require_admin(principal: Reader) -> None:
    if not principal.has_role(ADMIN):
        raise Forbidden("Vous n'avez pas le rôle nécessaire pour cette action.")


# --- the log -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What the administrator filters on; every field optional."""

    since: datetime | None = None
    until: datetime | None = None  # exclusive
    actor: str | None = None  # the actor's label (user name, « système », « cli »)
    organisation_id: int | None = None
    action: str | None = None  # an action name, or a prefix ending with "." (« keys. »)
    subject_type: str | None = None
    subject_id: str | None = None


@dataclass(frozen=True)
class Page:
    entries: list[AuditEntry]
    next_before: int | None  # the `before` of the next (older) page, None on the last one


def search(uow: UnitOfWork, principal: Reader, filters: Filters, *,
           before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The rows matching `filters`, newest first, `size` at a time, older than `before`."""
    require_admin(principal)
    stmt = select(AuditEntry)
    for clause in _clauses(filters):
        stmt = stmt.where(clause)
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    rows = list(uow.session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].seq if more and rows else None)


def _clauses(f: Filters) -> list[Any]:
    clauses: list[Any] = []
    if f.since is not None:
        clauses.append(AuditEntry.at >= f.since)
    if f.until is not None:
        clauses.append(AuditEntry.at < f.until)
    if f.actor:
        clauses.append(AuditEntry.actor_label == f.actor)
    if f.organisation_id is not None:
        clauses.append(AuditEntry.organisation_id == f.organisation_id)
    if f.action:
        clauses.append(AuditEntry.action.startswith(f.action, autoescape=True)
                       if f.action.endswith(".") else AuditEntry.action == f.action)
    if f.subject_type:
        clauses.append(AuditEntry.subject_type == f.subject_type)
    if f.subject_id:
        clauses.append(AuditEntry.subject_id == f.subject_id)
    return clauses


def actions(uow: UnitOfWork, principal: Reader) -> list[str]:
    """Every action name present in the log, for the filter's list."""
    require_admin(principal)
    return list(uow.session.scalars(select(AuditEntry.action).distinct()
                                    .order_by(AuditEntry.action)))


# --- verification in steps -----------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """Where a verification in steps stands, as the page's script receives it."""

    cursor: str  # "<seq>:<hash>" of the last row verified: where the next step resumes
    checked: int
    total: int
    checkpoints_reached: int
    trusted: tuple[str, ...]
    trusted_from: str
    result: service.Verification | None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "cursor": self.cursor, "checked": self.checked, "total": self.total,
            "checkpoints_reached": self.checkpoints_reached, "trusted": list(self.trusted),
            "trusted_from": self.trusted_from, "done": self.result is not None}
        if self.result is not None:
            r = self.result
            body["result"] = {"ok": r.ok, "entries": r.entries, "checkpoints": r.checkpoints,
                              "first_bad_seq": r.first_bad_seq, "reason": r.reason,
                              "uncovered": r.uncovered}
        return body


def parse_cursor(text: str | None) -> tuple[int, str]:
    """(seq, hash) from the page's cursor; the start of the log when empty."""
    if not text:
        return 0, GENESIS
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise Invalid("Position de vérification illisible : relancez la vérification.",
                      [{"field": "cursor", "message": "Format attendu : numéro:empreinte."}])
    return int(match.group(1)), match.group(2)


def trust_anchor(master_key_file: Path) -> tuple[list[str], str]:
    """The fingerprints verification trusts and where they come from — never the database:
    RELAIS_AUDIT_TRUSTED_KEY, else the pin file `relais init` wrote (NoTrustAnchor if none)."""
    return pin.trusted_fingerprints(None, os.environ, master_key_file)


def verify_next(uow: UnitOfWork, principal: Reader, master_key_file: Path,
                cursor: str | None, rows: int | None = None) -> Progress:
    """Verify the next `rows` rows after `cursor` (`service.verify_step`), with the trusted
    fingerprints of `trust_anchor`; the last step carries the result and is audited
    (`admin.journal.verified`, appended after the rows it verified). The caller commits."""
    require_admin(principal)
    after = parse_cursor(cursor)
    trusted, source = trust_anchor(master_key_file)
    step = service.verify_step(uow, trusted, after=after,
                               rows=max(1, min(rows or STEP_ROWS, MAX_STEP_ROWS)))
    result = step.result
    if result is not None:
        append(uow, principal.actor, "admin.journal.verified", subject_type="audit",
               ok=result.ok, entries=result.entries, first_bad_seq=result.first_bad_seq,
               trusted=sorted(trusted))
    return Progress(f"{step.after[0]}:{step.after[1]}", step.after[0], step.total,
                    step.reached, tuple(sorted(trusted)), source, result)


def verify_all(uow: UnitOfWork, principal: Reader, master_key_file: Path,
               rows: int | None = None) -> Progress:
    """Every step in turn (the page without JavaScript, and tests)."""
    progress = verify_next(uow, principal, master_key_file, None, rows)
    while progress.result is None:
        progress = verify_next(uow, principal, master_key_file, progress.cursor, rows)
    return progress


# --- checkpoints ---------------------------------------------------------------------------

def checkpoints(uow: UnitOfWork, principal: Reader, limit: int = 100) -> list[AuditCheckpoint]:
    """The newest checkpoints first."""
    require_admin(principal)
    return list(uow.session.scalars(select(AuditCheckpoint)
                                    .order_by(AuditCheckpoint.id.desc()).limit(limit)))


def export_current(uow: UnitOfWork, principal: Reader) -> dict[str, Any] | None:
    """`relais audit checkpoint --export`: the newest checkpoint (signing the head first if
    it moved on), as partners keep it; None on an empty log. Audited
    (`admin.journal.checkpoint_exported`); the caller commits."""
    require_admin(principal)
    doc = service.export_current(uow)
    if doc is not None:
        append(uow, principal.actor, "admin.journal.checkpoint_exported",
               subject_type="audit_checkpoint", subject_id=doc["number"], seq=doc["seq"])
    return doc


def checkpoint_fingerprints(rows: Collection[AuditCheckpoint], uow: UnitOfWork) -> dict[str, str]:
    """kid → fingerprint of the keys that signed these checkpoints (for the listing)."""
    found: dict[str, str] = {}
    for kid in {cp.kid for cp in rows}:
        public = service.signer().public_key(uow, kid)
        if public is not None:
            found[kid] = service.fingerprint(public.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    return found
