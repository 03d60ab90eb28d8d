"""Case use cases.

Guarantees:
- Record contents are encrypted with AES-256-GCM under the case key; the associated data binds
  the record to its case and its own uid, so a ciphertext moved to another row fails to open.
- The case key rests only wrapped by the master key; destroying it (crypto-shredding) makes
  every record unreadable by anyone while the audit chain stays intact and says who and why.
- Only users of the owning organisation see a case; partners see what was sent to them.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from engine import events
from engine.audit import refusals
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases.errors import CaseKeyDestroyed, CaseNotFound
from engine.cases.models import Case, CaseRecord
from engine.db import UnitOfWork
from engine.events import RecordStored
from engine.identity.service import Principal

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _key_context(case: Case) -> str:
    return f"relais/case-key/{case.reference}"


def _new_reference(uow: UnitOfWork) -> str:
    year = uow.now().year
    return f"S-{year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def open_case(uow: UnitOfWork, principal: Principal, organisation_id: int) -> Case:
    """A new situation owned by `organisation_id`, with a fresh wrapped key. Audited."""
    return open_case_for(uow, principal.actor, organisation_id, opened_by=principal.user_id)


def open_case_for(uow: UnitOfWork, actor: Actor, organisation_id: int, *,
                  opened_by: int) -> Case:
    """A new situation owned by `organisation_id` opened by the platform in reaction to an
    event (an orientation received): `opened_by` names the user whose act caused it.
    Audited as `case.opened` by `actor`."""
    now = uow.now()
    case = Case(reference=_new_reference(uow), organisation_id=organisation_id,
                opened_by=opened_by, opened_at=now, last_activity_at=now)
    case.wrapped_key = uow.master.wrap(AESGCM.generate_key(bit_length=256), _key_context(case))
    uow.session.add(case)
    uow.session.flush()
    audit.append(uow, actor, "case.opened", subject_type="case", subject_id=case.id,
                 organisation_id=organisation_id)
    return case


def get_case(uow: UnitOfWork, case_id: int) -> Case:
    case = uow.session.get(Case, case_id)
    if case is None:
        raise CaseNotFound("Situation introuvable.")
    return case


def visible_case(uow: UnitOfWork, principal: Principal, case_id: int) -> Case:
    """The case if a professional of its organisation asks (`Principal.can_see`); otherwise
    the same 'not found' as an unknown id, so that probing reveals nothing — and the refusal
    is audited (`cases.access_refused`), ending the caller's unit of work."""
    case = uow.session.get(Case, case_id)
    if case is None or not principal.can_see(case):
        raise refusals.refuse_read(uow, principal.actor, "cases", "case", case_id,
                                   CaseNotFound("Situation introuvable."),
                                   reason="unknown" if case is None else "not_visible")
    return case


def _case_key(uow: UnitOfWork, case: Case) -> AESGCM:
    if case.wrapped_key is None:
        when = case.key_destroyed_at.strftime("%d/%m/%Y") if case.key_destroyed_at else "?"
        raise CaseKeyDestroyed(f"Les données de cette situation ont été détruites le {when} : "
                               "elles ne peuvent plus être lues par personne.")
    return AESGCM(uow.master.unwrap(case.wrapped_key, _key_context(case)))


def case_cipher(uow: UnitOfWork, case: Case) -> AESGCM:
    """The case key as an AES-256-GCM cipher, unwrapped in memory for one operation, for the
    domains that keep data under it (routing's stored envelopes): destroying the key makes
    their data unreadable too. Raises CaseKeyDestroyed after crypto-shredding."""
    return _case_key(uow, case)


def _aad(case: Case, uid: str) -> bytes:
    return f"relais/case-record/{case.reference}/{uid}".encode()


def store_record(uow: UnitOfWork, actor: Actor, case: Case, *, kind: str,
                 payload: dict[str, Any], categories: set[str] | list[str],
                 organisation_id: int, form: str | None = None, instance_id: int | None = None,
                 task_ref: str | None = None,
                 stats: Sequence[tuple[str, str]] = (),
                 gravity: str | None = None) -> CaseRecord:
    """Encrypt and keep one record of the case. Audited (without its content). `stats` (the
    form's counted codes) are published with `RecordStored` for the activity figures, which
    are written in this same transaction. `gravity` (the gravity of the facts the record
    declares) is kept on the case when graver than what it knew (`keep_gravity`)."""
    key = _case_key(uow, case)
    uid = str(uuid.uuid4())
    nonce = os.urandom(12)
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    record = CaseRecord(uid=uid, case_id=case.id, kind=kind, form=form, instance_id=instance_id,
                        task_ref=task_ref, organisation_id=organisation_id,
                        categories=json.dumps(sorted(categories)), nonce=nonce,
                        ciphertext=key.encrypt(nonce, plaintext, _aad(case, uid)),
                        created_by=actor.user_id, created_at=uow.now())
    uow.session.add(record)
    case.last_activity_at = uow.now()
    uow.session.flush()
    audit.append(uow, actor, "case.record_stored", subject_type="case", subject_id=case.id,
                 record=record.id, kind=kind, form=form, categories=sorted(categories))
    if gravity is not None:
        keep_gravity(uow, actor, case, gravity)
    if stats:
        events.record(uow, RecordStored(actor, case.id, organisation_id, record.id, form,
                                        tuple(stats)))
    return record


GRAVITIES = ("contravention", "delit", "crime")  # from the least to the gravest


def keep_gravity(uow: UnitOfWork, actor: Actor, case: Case, gravity: str) -> bool:
    """Keep on the case the gravity of facts it records, when graver than the one it has: a
    crime recorded after a délit keeps the case 20 years, never the reverse. Audited when it
    changes; an unknown code is refused (ValueError: a programming error, forms check it)."""
    if gravity not in GRAVITIES:
        raise ValueError(f"unknown gravity {gravity!r}")
    if case.gravity in GRAVITIES and GRAVITIES.index(case.gravity) >= GRAVITIES.index(gravity):
        return False
    previous, case.gravity = case.gravity, gravity
    audit.append(uow, actor, "case.gravity_recorded", subject_type="case", subject_id=case.id,
                 gravity=gravity, previous=previous)
    return True


def read_record(uow: UnitOfWork, actor: Actor, case: Case, record: CaseRecord,
                *, audited: bool = True) -> dict[str, Any]:
    """Decrypt one record; reads are audited unless the caller audits the enclosing action."""
    if record.case_id != case.id:
        raise CaseNotFound("Cet enregistrement n'appartient pas à cette situation.")
    key = _case_key(uow, case)
    try:
        plaintext = key.decrypt(record.nonce, record.ciphertext, _aad(case, record.uid))
    except InvalidTag as exc:
        raise CaseKeyDestroyed("Enregistrement illisible : il a été altéré.",
                               code="record_corrupted", status=500) from exc
    if audited:
        audit.append(uow, actor, "case.record_read", subject_type="case", subject_id=case.id,
                     record=record.id)
    return json.loads(plaintext)


def records_of(uow: UnitOfWork, case: Case, kind: str | None = None) -> list[CaseRecord]:
    stmt = select(CaseRecord).where(CaseRecord.case_id == case.id)
    if kind:
        stmt = stmt.where(CaseRecord.kind == kind)
    return list(uow.session.scalars(stmt.order_by(CaseRecord.id)))


def destroy_key(uow: UnitOfWork, actor: Actor, case: Case, reason: str) -> None:
    """Crypto-shredding: forget the case key; every record becomes unreadable. Audited."""
    if case.wrapped_key is None:
        return
    case.wrapped_key = None
    case.key_destroyed_at = uow.now()
    case.key_destroyed_by = actor.user_id
    case.key_destroyed_reason = reason
    audit.append(uow, actor, "case.key_destroyed", subject_type="case", subject_id=case.id,
                 reason=reason)
