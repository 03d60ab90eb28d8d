"""Audit checkpoints and verification: the chain's head signed with the platform key.

Guarantees:
- A checkpoint signs (number, seq, hash, date, previous checkpoint's hash, key id) with the
  platform Ed25519 key: checkpoints form their own chain, so a deleted one is detected, and
  rows up to a checkpoint cannot be cut or rewritten without the signature failing.
- Verification believes a checkpoint only when its key's fingerprint is given from outside
  the database (engine.audit.pin) — or, in process, proven by the master key.
- Rows after the last checkpoint (the uncovered tail) are reported; the scheduler keeps it
  under a minute. Exported checkpoints let partners witness the log (`witness_problem`).

The chain itself (append, hashing) is engine.audit.chain, re-exported here for callers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from engine import events
from engine.audit import chain
from engine.audit.chain import (
    GENESIS,
    SYSTEM,
    Actor,
    append,
    entry_hash,
    last_checkpoint_seq,
    last_seq,
    lock_chain,
    write_pending,
)
from engine.audit.errors import AuditError
from engine.audit.models import AuditCheckpoint, AuditEntry
from engine.audit.signing import fingerprint, signer
from engine.canonical import canonical_json
from engine.db import UnitOfWork

__all__ = ["GENESIS", "SYSTEM", "Actor", "append", "entry_hash", "last_checkpoint_seq",
           "last_seq", "write_pending"]  # the chain's API, re-exported for callers

CHECKPOINT_TYPE = "relais-audit-checkpoint"
CHECKPOINT_VERSION = 2


def signed_fields(cp: AuditCheckpoint) -> dict[str, Any]:
    """What the platform key signs for this checkpoint (legacy ones: seq, hash, date)."""
    fields: dict[str, Any] = {"seq": cp.seq, "hash": cp.hash,
                              "created_at": cp.created_at.isoformat()}
    if cp.number is not None:
        fields.update(type=CHECKPOINT_TYPE, version=CHECKPOINT_VERSION, number=cp.number,
                      prev=cp.prev_hash, kid=cp.kid)
    return fields


def checkpoint_message(fields: dict[str, Any]) -> bytes:
    return canonical_json(fields)


def checkpoint_hash(cp: AuditCheckpoint) -> str:
    """The hash the next checkpoint signs as its `prev`."""
    return hashlib.sha256(checkpoint_message(signed_fields(cp))).hexdigest()


def checkpoint(uow: UnitOfWork) -> AuditCheckpoint | None:
    """Sign the current head of the chain with the platform key, chained to the previous
    checkpoint; None on an empty log. Publishes `AuditCheckpointed`."""
    lock_chain(uow)
    head = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    previous = newest_checkpoint(uow)
    count = uow.session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    platform = signer()
    kid = platform.current_kid(uow)
    cp = AuditCheckpoint(seq=head.seq, hash=head.hash, created_at=uow.now().replace(microsecond=0),
                         kid=kid, number=count + 1,
                         prev_hash=checkpoint_hash(previous) if previous else GENESIS)
    cp.signature = platform.sign(uow, kid, checkpoint_message(signed_fields(cp)))
    uow.session.add(cp)
    uow.session.flush()
    events.record(uow, events.AuditCheckpointed(actor=SYSTEM, number=count + 1, seq=cp.seq,
                                                hash=cp.hash))
    return cp


def newest_checkpoint(uow: UnitOfWork) -> AuditCheckpoint | None:
    return uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                               .limit(1)).first()


def checkpoint_if_due(uow: UnitOfWork, every: timedelta, rows: int) -> AuditCheckpoint | None:
    """A checkpoint when rows were appended since the last one and it is `every` old or
    `rows` behind; None when nothing changed (the scheduler calls this each round)."""
    last = newest_checkpoint(uow)
    head = last_seq(uow)
    if last is not None and (head == last.seq or (uow.now() - last.created_at < every
                                                  and head - last.seq < rows)):
        return None
    return checkpoint(uow) if head else None


def current_checkpoint(uow: UnitOfWork) -> AuditCheckpoint | None:
    """The newest checkpoint when it is chained and covers the head, else a new one."""
    last = newest_checkpoint(uow)
    if last is not None and last.number is not None and last.seq == last_seq(uow):
        return last
    return checkpoint(uow)


def export(uow: UnitOfWork, cp: AuditCheckpoint) -> dict[str, Any]:
    """The checkpoint as a partner keeps it: the signed fields, the signature and the public
    key, so that it can be checked later against the log (`witness_problem`)."""
    public = signer().public_key(uow, cp.kid)
    if public is None:
        raise AuditError("Clé du point de contrôle introuvable.")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {**signed_fields(cp), "signature": base64.b64encode(cp.signature).decode("ascii"),
            "public_key": base64.b64encode(raw).decode("ascii"),
            "fingerprint": fingerprint(raw)}


def export_current(uow: UnitOfWork) -> dict[str, Any] | None:
    """The newest checkpoint as partners keep it (`export`), signing the head first when it
    moved on (`current_checkpoint`); None on an empty log. The caller commits. What
    `relais audit checkpoint --export` prints and the administration page downloads."""
    cp = current_checkpoint(uow)
    return export(uow, cp) if cp is not None else None


def witness_problem(uow: UnitOfWork, doc: Any, anchor: Collection[str]) -> str | None:
    """Why the log no longer contains what the witnessed checkpoint `doc` says; None if it
    does. The witness is checked with the trusted key, never with a key from the database."""
    fields, signature, public_raw = _witness_parts(doc)
    if fingerprint(public_raw) not in anchor:
        return "témoin signé par une clé qui n'est pas la clé de confiance"
    message = checkpoint_message(fields)
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except InvalidSignature:
        return "signature du témoin invalide"
    row = uow.session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == fields["seq"]))
    if row is None:
        return f"la ligne {fields['seq']} attestée par le témoin a disparu du journal"
    if row != fields["hash"]:
        return f"la ligne {fields['seq']} ne correspond plus au témoin : journal réécrit"
    cp = uow.session.scalars(select(AuditCheckpoint)
                             .where(AuditCheckpoint.number == fields["number"])).first()
    if cp is None or checkpoint_hash(cp) != hashlib.sha256(message).hexdigest():
        return f"le point de contrôle n° {fields['number']} attesté a disparu ou changé"
    return None


def _witness_parts(doc: Any) -> tuple[dict[str, Any], bytes, bytes]:
    """(signed fields, signature, raw public key) of an exported checkpoint, or AuditError."""
    try:
        fields = {name: doc[name] for name in ("type", "version", "number", "seq", "hash",
                                               "created_at", "prev", "kid")}
        parts = (fields, base64.b64decode(doc["signature"], validate=True),
                 base64.b64decode(doc["public_key"], validate=True))
        valid = (fields["type"] == CHECKPOINT_TYPE and fields["version"] == CHECKPOINT_VERSION
                 and all(isinstance(fields[k], int) and not isinstance(fields[k], bool)
                         for k in ("number", "seq"))
                 and all(isinstance(fields[k], str) for k in ("hash", "created_at", "prev",
                                                              "kid"))
                 and len(parts[2]) == 32)
    except (KeyError, TypeError, ValueError, binascii.Error):
        valid = False
    if not valid:
        raise AuditError("Témoin illisible : ce n'est pas un point de contrôle exporté par "
                         "« relais audit checkpoint --export ».")
    return parts


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    reason: str | None = None
    trusted: tuple[str, ...] = ()
    uncovered: int = 0  # rows after the last checkpoint: only witnesses protect them


def verify(uow: UnitOfWork, trusted: Collection[str] | None = None) -> Verification:
    """Walk the whole chain and every checkpoint; report the first bad sequence number.

    Checkpoints count only when signed by a key whose fingerprint is in `trusted` (given from
    outside the database); by default, the platform keys the master key proves its own."""
    step = verify_step(uow, trusted)
    assert step.result is not None  # no limit: one step walks the whole chain
    return step.result


@dataclass(frozen=True)
class Step:
    """One step of a verification in steps: where it stands (`after`, the last row verified,
    as (seq, hash)), how far (`total` rows in the log now, `reached` checkpoints whose rows
    were walked) and, once finished, the same `Verification` as `verify`."""

    after: tuple[int, str]
    total: int
    reached: int
    result: Verification | None


def verify_step(uow: UnitOfWork, trusted: Collection[str] | None = None, *,
                after: tuple[int, str] = (0, GENESIS), rows: int | None = None) -> Step:
    """Verify the next `rows` rows after `after` (all of them when None); when the walk
    reaches the head (or a bad row), check every checkpoint too and give the result.

    `verify` is this function in one step: a verification in steps applies exactly the same
    rules. The checkpoints are checked at the end against the hashes stored at their rows,
    which the walk has just recomputed."""
    anchor = tuple(sorted(trusted if trusted is not None
                          else signer().proven_fingerprints(uow)))
    checkpoints = uow.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    total = last_seq(uow)
    found = chain.walk(uow, (), after=after, limit=rows)
    done = found.bad is not None or rows is None or found.count < rows \
        or found.last[0] >= total
    reached = sum(1 for cp in checkpoints if cp.seq <= found.last[0])
    if not done:
        return Step(found.last, total, reached, None)
    count = found.last[0]
    if found.bad is not None:
        result = Verification(False, count, len(checkpoints), found.bad[0], found.bad[1],
                              anchor)
        return Step(found.last, total, reached, result)
    hashes_at = {seq: value for seq, value in uow.session.execute(
        select(AuditEntry.seq, AuditEntry.hash).where(
            AuditEntry.seq.in_({cp.seq for cp in checkpoints})))}
    bad = _bad_checkpoints(uow, checkpoints, hashes_at, count, anchor)
    if bad is not None:
        result = Verification(False, count, len(checkpoints), bad[0], bad[1], anchor)
    else:
        covered = max((cp.seq for cp in checkpoints), default=0)
        result = Verification(True, count, len(checkpoints), trusted=anchor,
                              uncovered=count - covered)
    return Step(found.last, total, reached, result)


def _bad_checkpoints(uow: UnitOfWork, checkpoints: Sequence[AuditCheckpoint],
                     hashes_at: dict[int, str], count: int,
                     anchor: Collection[str]) -> tuple[int, str] | None:
    """(first bad seq, reason) of the first checkpoint that does not hold, else None."""
    if count and not checkpoints:
        return 1, "aucun point de contrôle signé"
    prev, chained, covered = GENESIS, False, 0
    for position, cp in enumerate(checkpoints, start=1):
        bad = (_bad_link(cp, position, prev, chained, covered)
               or _bad_signature(uow, cp, anchor))
        if bad is not None:
            return cp.seq, bad
        if cp.seq > count:
            return count + 1, f"journal tronqué : le point de contrôle couvre la ligne {cp.seq}"
        if hashes_at.get(cp.seq) != cp.hash:
            return cp.seq, "la ligne ne correspond plus au point de contrôle signé"
        prev, chained, covered = checkpoint_hash(cp), chained or cp.number is not None, cp.seq
    return None


def _bad_link(cp: AuditCheckpoint, position: int, prev: str, chained: bool,
              covered: int) -> str | None:
    """Why `cp` does not follow the previous checkpoint in the chain of checkpoints, if so."""
    if cp.number is None:
        return "point de contrôle sans numéro après des points chaînés" if chained else None
    if cp.number != position:
        return (f"point de contrôle n° {position} manquant (le suivant porte le "
                f"n° {cp.number})")
    if cp.prev_hash != prev or cp.seq < covered:
        return f"le point de contrôle n° {cp.number} ne suit plus le précédent"
    return None


def _bad_signature(uow: UnitOfWork, cp: AuditCheckpoint, anchor: Collection[str]) -> str | None:
    public = signer().public_key(uow, cp.kid)
    found = fingerprint(public.public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)) if public else None
    if found is None:
        return f"point de contrôle signé par une clé inconnue ({cp.kid})"
    if found not in anchor:
        return f"point de contrôle signé par une clé qui n'est pas la clé de confiance " \
               f"(empreinte {found})"
    try:
        public.verify(cp.signature, checkpoint_message(signed_fields(cp)))  # type: ignore[union-attr]
    except InvalidSignature:
        return "signature du point de contrôle invalide"
    return None
