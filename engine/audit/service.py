"""The audit trail: who did what, when, on which subject, under which consent or basis.

Guarantees:
- `append` writes in the caller's unit of work, so a change and its audit row commit or roll
  back together (invariant 3).
- Each row's hash covers the previous row's hash and the row's canonical content; a modified,
  deleted or inserted row breaks the chain at that sequence number.
- Checkpoints sign (seq, hash) with the platform Ed25519 key: truncating the tail or
  rewriting the whole chain is detected against the last checkpoint.
- Details hold identifiers, codes and enumerations only; never personal data or free text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import func, select, text

from engine import events
from engine.audit.models import AuditCheckpoint, AuditEntry
from engine.db import UnitOfWork
from engine.keys import service as keys

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


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _content(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq, "at": entry.at.isoformat(), "actor_user_id": entry.actor_user_id,
        "actor_label": entry.actor_label, "via_token_id": entry.via_token_id,
        "organisation_id": entry.organisation_id, "action": entry.action,
        "subject_type": entry.subject_type, "subject_id": entry.subject_id,
        "details": json.loads(entry.details),
    }


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical_json(_content(entry))).encode()).hexdigest()


def append(uow: UnitOfWork, actor: Actor, action: str, *, subject_type: str | None = None,
           subject_id: object = None, organisation_id: int | None = None,
           **details: Any) -> AuditEntry:
    """Add one row to the chain inside the caller's transaction.

    The first append of a transaction takes the chain's lock and reads its head; later
    appends of the same transaction continue from the head it keeps (`uow.audit_head`, reset
    by commit and rollback), saving two round trips per row.
    """
    session = uow.session
    last = uow.audit_head
    if last is None:
        if uow.dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
        elif uow.dialect == "sqlite":
            # A write that changes nothing takes SQLite's write lock (waiting its turn) before
            # the head is read, so concurrent appends cannot both pick the same next seq.
            session.execute(text("UPDATE audit_entry SET seq = seq WHERE 0 = 1"))
        row = session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
        last = (row.seq, row.hash) if row else (0, GENESIS)
    # Microseconds dropped: every engine stores them alike, so the hash recomputes exactly.
    now = uow.now()
    at = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    entry = AuditEntry(
        seq=last[0] + 1, at=at, actor_user_id=actor.user_id,
        actor_label=actor.label, via_token_id=actor.via_token_id or uow.via_token_id,
        organisation_id=organisation_id if organisation_id is not None else actor.organisation_id,
        action=action, subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=canonical_json(details), prev_hash=last[1],
    )
    entry.hash = entry_hash(entry.prev_hash, entry)
    session.add(entry)
    session.flush()
    uow.audit_head = (entry.seq, entry.hash)
    return entry


def _checkpoint_message(seq: int, hash_: str, created_at: datetime) -> bytes:
    signed = {"seq": seq, "hash": hash_, "created_at": created_at.isoformat()}
    return canonical_json(signed).encode()


def checkpoint(uow: UnitOfWork) -> AuditCheckpoint | None:
    """Sign the current head of the chain with the platform key; None on an empty log."""
    head = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    pair = keys.ensure_platform_signing_key(uow, uow.master)
    created_at = uow.now().replace(microsecond=0)
    cp = AuditCheckpoint(seq=head.seq, hash=head.hash, created_at=created_at, kid=pair.kid,
                         signature=keys.sign(pair, uow.master,
                                             _checkpoint_message(head.seq, head.hash, created_at)))
    uow.session.add(cp)
    uow.session.flush()
    events.record(uow, events.AuditCheckpointed(SYSTEM, cp.id, cp.seq, cp.hash))
    return cp


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    reason: str | None = None


def _entries(uow: UnitOfWork, batch: int = 2000) -> Iterator[AuditEntry]:
    after = 0
    while True:
        rows = uow.session.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                   .order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        uow.session.expunge_all()


def verify(uow: UnitOfWork) -> Verification:
    """Walk the whole chain and every checkpoint; report the first bad sequence number."""
    prev, expected, hashes_at = GENESIS, 1, {}
    checkpoints = uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    wanted = {cp.seq for cp in checkpoints}
    count = 0
    for entry in _entries(uow):
        if entry.seq != expected:
            return Verification(False, count, len(checkpoints), expected,
                                f"ligne {expected} manquante (la suivante est {entry.seq})")
        if entry.prev_hash != prev:
            return Verification(False, count, len(checkpoints), entry.seq,
                                "le chaînage vers la ligne précédente est rompu")
        if entry_hash(prev, entry) != entry.hash:
            return Verification(False, count, len(checkpoints), entry.seq,
                                "le contenu de la ligne ne correspond plus à son empreinte")
        if entry.seq in wanted:
            hashes_at[entry.seq] = entry.hash
        prev, expected, count = entry.hash, expected + 1, count + 1
    return _verify_checkpoints(uow, checkpoints, hashes_at, count)


def _verify_checkpoints(uow: UnitOfWork, checkpoints: list[AuditCheckpoint],
                        hashes_at: dict[int, str], count: int) -> Verification:
    for cp in checkpoints:
        public = keys.public_signing_key(uow, cp.kid)
        if public is None:
            return Verification(False, count, len(checkpoints), cp.seq,
                                f"point de contrôle signé par une clé inconnue ({cp.kid})")
        try:
            public.verify(cp.signature, _checkpoint_message(cp.seq, cp.hash, cp.created_at))
        except InvalidSignature:
            return Verification(False, count, len(checkpoints), cp.seq,
                                "signature du point de contrôle invalide")
        if cp.seq > count:
            return Verification(False, count, len(checkpoints), count + 1,
                                f"journal tronqué : le point de contrôle couvre la ligne {cp.seq}")
        if hashes_at.get(cp.seq) != cp.hash:
            return Verification(False, count, len(checkpoints), cp.seq,
                                "la ligne ne correspond plus au point de contrôle signé")
    return Verification(True, count, len(checkpoints))


def last_seq(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.max(AuditEntry.seq))) or 0


def last_checkpoint_seq(uow: UnitOfWork) -> int:
    return uow.session.scalar(select(func.max(AuditCheckpoint.seq))) or 0
