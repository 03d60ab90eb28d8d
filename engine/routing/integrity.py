"""Integrity of the stored deliveries: every kept envelope opens and verifies.

For `relais check` after a restore: each delivery whose situation still exists is decrypted
from its case key, bound to the manifest recorded when it was sent, its signature checked
against the key directory, and opened with the recipient organisation's private key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine.cases import service as cases
from engine.cases.models import Case
from engine.db import UnitOfWork
from engine.documents import envelope
from engine.errors import RelaisError
from engine.identity.models import Organisation
from engine.keys import service as keys
from engine.routing.models import Delivery
from engine.routing.service import _bound_envelope, _recipient_kid, storage_aad


@dataclass
class DeliveriesReport:
    deliveries: int = 0
    destroyed: int = 0
    problems: list[str] = field(default_factory=list)


def check_deliveries(uow: UnitOfWork) -> DeliveriesReport:
    report = DeliveriesReport()
    lookup = keys.public_key_lookup(uow)
    for delivery in uow.session.scalars(select(Delivery).options(
            undefer(Delivery.storage_ciphertext)).order_by(Delivery.id)):
        case = cases.get_case(uow, delivery.case_id)
        if case.wrapped_key is None:
            report.destroyed += 1
            continue
        try:
            _open(uow, delivery, case, lookup)
        except (RelaisError, InvalidTag, ValueError) as exc:
            code = getattr(exc, "code", type(exc).__name__)
            report.problems.append(f"envoi {delivery.id} : l'enveloppe ne se vérifie pas "
                                   f"({code})")
            continue
        report.deliveries += 1
    return report


def _open(uow: UnitOfWork, delivery: Delivery, case: Case,
          lookup: envelope.KeyLookup) -> None:
    blob = cases.case_cipher(uow, case).decrypt(
        delivery.storage_nonce, delivery.storage_ciphertext,
        storage_aad(case, delivery.envelope_id))
    env = _bound_envelope(blob, delivery)
    recipient = uow.session.get(Organisation, delivery.recipient_organisation_id)
    assert recipient is not None
    kid = _recipient_kid(env, recipient)
    envelope.open(env, kid, keys.private_encryption_key(uow, kid), public_key_lookup=lookup,
                  expected_organisation=recipient.slug)
