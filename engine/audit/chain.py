"""The audit chain: append-only rows, each hashing the previous one's hash and its own content.

Guarantees:
- `append` belongs to the caller's unit of work: a change and its audit rows commit or roll
  back together (invariant 3). Rows are buffered and written by `write_pending` in one short
  step at commit — lock, read the head once, number, hash, one batch insert — so no lock on
  the chain is held while a transaction works, and the chain keeps one total order (seq)
  without gaps. `at` is when the row was appended; `seq` is the order of commits.
- Each row's hash covers the previous row's hash and the row's canonical content
  (engine.canonical); a modified, deleted or inserted row breaks the chain at its seq.
- Details hold identifiers, codes and enumerations only; never personal data or free text.

This module knows no keys: checkpoints, signed with the platform key, live in
engine.audit.service, which depends on this module and on engine.keys (which logs here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.util import find_tables

from engine.audit.models import AuditCheckpoint, AuditEntry
from engine.canonical import canonical_json
from engine.db import UnitOfWork

GENESIS = "0" * 64
# Serialises appends across PostgreSQL sessions (arbitrary constant: "RELAIS" in hex-ish).
ADVISORY_LOCK_ID = 0x52454C414953


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (with the token they used, if any) or the platform itself."""

    user_id: int | None
    label: str
    organisation_id: int | None = None
    via_token_id: int | None = None


SYSTEM = Actor(user_id=None, label="système")


def _halves(entry: AuditEntry, details: Any) -> tuple[bytes, bytes]:
    """The row's canonical content on either side of "seq" (keys sort as: action … at,
    details, organisation_id | seq | subject_id, subject_type, via_token_id): computed once
    when the row is appended, so numbering at commit only splices the number in — and a
    caller changing its `details` objects afterwards cannot change what is hashed."""
    before = {"action": entry.action, "actor_label": entry.actor_label,
              "actor_user_id": entry.actor_user_id, "at": entry.at.isoformat(),
              "details": details, "organisation_id": entry.organisation_id}
    after = {"subject_id": entry.subject_id, "subject_type": entry.subject_type,
             "via_token_id": entry.via_token_id}
    return canonical_json(before), canonical_json(after)


def _hash(prev_hash: str, seq: int, halves: tuple[bytes, bytes]) -> str:
    """SHA-256 of prev_hash, a newline and the canonical JSON of the whole row content."""
    content = b"%s,\"seq\":%d,%s" % (halves[0][:-1], seq, halves[1][1:])
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The hash of a stored row, recomputed from its stored values."""
    return _hash(prev_hash, entry.seq, _halves(entry, json.loads(entry.details)))


def append(uow: UnitOfWork, actor: Actor, action: str, *, subject_type: str | None = None,
           subject_id: object = None, organisation_id: int | None = None,
           **details: Any) -> AuditEntry:
    """Add one row to the chain inside the caller's transaction.

    The row is buffered in the unit of work and written by `write_pending` when the
    transaction commits (after its domain events ran), so no lock on the chain is held while
    the transaction works; its `seq` and `hash` are set then. A query of the audit tables in
    the same transaction writes the buffer first, so the transaction reads its own rows.
    """
    # Microseconds dropped: every engine stores them alike, so the hash recomputes exactly.
    now = uow.now()
    at = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    entry = AuditEntry(
        at=at, actor_user_id=actor.user_id,
        actor_label=actor.label, via_token_id=actor.via_token_id or uow.via_token_id,
        organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
        action=action, subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=canonical_json(details).decode(),
    )
    if write_pending not in uow.before_commit:
        uow.before_commit.append(write_pending)
    uow.audit_pending.append((entry, _halves(entry, details)))
    return entry


def write_pending(uow: UnitOfWork) -> None:
    """Write the transaction's buffered rows in one short step: take the chain's lock (kept
    until the transaction ends), read the head once, number and hash the rows, insert them
    in one batch. Runs at commit, or earlier when the transaction queries the audit log."""
    pending, uow.audit_pending = uow.audit_pending, []
    if not pending:
        return
    if uow.audit_head is None:
        lock_chain(uow)
        row = uow.session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        uow.audit_head = (row.seq, row.hash) if row else (0, GENESIS)
    seq, prev = uow.audit_head
    for entry, halves in pending:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = _hash(prev, seq, halves)
    uow.session.execute(insert(AuditEntry), [_row(entry) for entry, _ in pending])
    uow.audit_head = (seq, prev)


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {column.key: getattr(entry, column.key) for column in AuditEntry.__table__.columns}


@sa_event.listens_for(Session, "do_orm_execute")
def _write_before_reading(state: ORMExecuteState) -> None:
    """Like the session's autoflush: a transaction that reads the audit log sees its rows."""
    uow = state.session.info.get("uow")
    if uow is not None and uow.audit_pending and state.is_select and _reads_log(state):
        write_pending(uow)


def _reads_log(state: ORMExecuteState) -> bool:
    tables = (AuditEntry.__table__, AuditCheckpoint.__table__)
    if any(m.class_ in (AuditEntry, AuditCheckpoint) for m in state.all_mappers):
        return True
    return any(t in tables for f in state.statement.get_final_froms()  # type: ignore[attr-defined]
               for t in find_tables(f, include_joins=True))


def lock_chain(uow: UnitOfWork) -> None:
    """Serialise writers of the chain (appends and checkpoints) until this transaction ends."""
    if uow.dialect == "postgresql":
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
    elif uow.dialect == "sqlite":
        # A write that changes nothing takes SQLite's write lock (waiting its turn).
        uow.session.execute(text("UPDATE audit_entry SET seq = seq WHERE 0 = 1"))


@dataclass(frozen=True)
class Walk:
    """What walking the chain found: rows seen, the hashes at the wanted sequence numbers,
    the first bad row as (seq, reason), if any, and the last good row as (seq, hash) — where
    a walk in steps resumes."""

    count: int
    hashes_at: dict[int, str]
    bad: tuple[int, str] | None
    last: tuple[int, str] = (0, GENESIS)


def walk(uow: UnitOfWork, wanted: Collection[int], *, after: tuple[int, str] = (0, GENESIS),
         limit: int | None = None) -> Walk:
    """Recompute every row's hash from its stored values, in order, stopping at the first
    row that is missing, moved or altered.

    `after` is the last row already verified (seq, hash) and `limit` the most rows to check
    now: the administration page verifies a long log in steps that way, with the same rules
    as the whole walk. `count` counts the rows checked by this call only.
    """
    prev, expected, hashes_at, count = after[1], after[0] + 1, {}, 0
    for entry in _entries(uow, after=after[0], limit=limit):
        bad = _bad_entry(entry, expected, prev)
        if bad is not None:
            return Walk(count, hashes_at, bad, (expected - 1, prev))
        if entry.seq in wanted:
            hashes_at[entry.seq] = entry.hash
        prev, expected, count = entry.hash, expected + 1, count + 1
    return Walk(count, hashes_at, None, (expected - 1, prev))


def _entries(uow: UnitOfWork, batch: int = 2000, *, after: int = 0,
             limit: int | None = None) -> Iterator[AuditEntry]:
    left = limit
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                   .order_by(AuditEntry.seq).limit(size)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        left = None if left is None else left - len(rows)
        uow.session.expunge_all()


def _bad_entry(entry: AuditEntry, expected: int, prev: str) -> tuple[int, str] | None:
    if entry.seq != expected:
        return expected, f"ligne {expected} manquante (la suivante est {entry.seq})"
    if entry.prev_hash != prev:
        return entry.seq, "le chaînage vers la ligne précédente est rompu"
    try:
        recomputed = entry_hash(prev, entry)
    except ValueError:  # details that are not (or no longer) canonical JSON
        recomputed = None
    if recomputed != entry.hash:
        return entry.seq, "le contenu de la ligne ne correspond plus à son empreinte"
    return None


def last_seq(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.max(AuditEntry.seq))) or 0


def last_checkpoint_seq(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
