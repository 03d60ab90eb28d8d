"""Routing use cases: the one door out (invariant 2), inboxes, opening, receipts.

Guarantees:
- `transmit` is the only code that creates a delivery. It asks `consent.authorize` first,
  every time; only then is the document produced (records decrypted, template rendered),
  signed with the sender organisation's Ed25519 key and sealed for the recipient
  organisation's current encryption key (and its recovery key, when registered).
- At rest, the `.relais` file exists only encrypted under the case key (AES-256-GCM, the
  associated data binding case and envelope id): after `cases.destroy_key` nobody can read a
  stored envelope, recovery key included. In clear stay ids, codes, dates, the document's
  kind label and the signed manifest (codes only) — never content, title or file name.
- Every refusal is audited although the refused change is rolled back: a refusal ends the
  caller's unit of work — rolled back, its audit row written and committed, then raised.
  A transactional connector, whose unit of work belongs to the outbox, passes
  `commit_refusals=False`: the row then travels on the exception (`errors.attach`) and the
  outbox writes it in the transaction that records the refusal and opens the incident.
- Who sees a delivery: users of the sender organisation (metadata, receipts, the sealed
  envelope they cannot open) and users of the recipient organisation holding the role the
  delivery targets (`recipient_role`; every member when it is null), who alone open and
  acknowledge it. Anyone else gets the same 404 as for an unknown id, and it is audited.
- Every decryption of a document is audited with its reader; the first one moves the
  delivery to `opened`. Acknowledging signs (recipient organisation's key) the manifest
  hash and the time of receipt, once (409 after), and sends the BPMN message
  `accuse_reception` to the sender's instance, correlated by instance and delivery id.
- The checks of signatures and receipts live in `engine.routing.proofs` (re-exported here).
- Creating a delivery records `events.DeliveryCreated`, signing its receipt
  `events.DeliveryAcknowledged` (ids and codes only): webhooks and activity figures
  subscribe to them; they run when the unit of work commits.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import or_, select, update

import forms
from engine import events
from engine.audit import refusals
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.cases.models import Case
from engine.consent import service as consent
from engine.consent.service import Authorization
from engine.db import UnitOfWork
from engine.documents import envelope
from engine.documents.errors import DocumentError, EnvelopeInvalid
from engine.documents.render import DOCX_MEDIA_TYPE, french_datetime
from engine.errors import Forbidden, RelaisError
from engine.identity.models import Organisation
from engine.identity.service import Principal
from engine.keys import service as keys
from engine.routing.errors import (
    AlreadyAcknowledged,
    DeliveryCorrupted,
    DeliveryNotFound,
    RefusalAudit,
    RoutingInvalid,
)
from engine.routing.models import Delivery, Receipt
from engine.routing.proofs import (  # noqa: F401 - the proofs are part of this service
    RECEIPT_CONTEXT,
    RECEIPT_KEYS,
    RECEIPT_TYPE,
    describe_receipt,
    manifest_signature_status,
    receipt_summary,
    receipts_of,
    verify_receipt,
)
from engine.runtime import service as runtime
from engine.runtime.models import Instance

SEALED, DELIVERED, OPENED, ACKNOWLEDGED = "sealed", "delivered", "opened", "acknowledged"
STORAGE_CONTEXT = b"relais/delivery-envelope/v1\x00"
RECEIPT_MESSAGE = "accuse_reception"


# --- refusals ------------------------------------------------------------------------------

_refuse = refusals.refuse  # one way to refuse and audit, shared by every domain


# --- transmitting --------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """The document to send. `produce` makes its bytes and is called only once the
    transmission is authorised (records are not even decrypted before). `kind_label` is
    what inboxes show: a constant naming the kind of document, never personal data."""

    kind_label: str
    file_name: str
    produce: Callable[[Authorization], bytes]
    media_type: str = DOCX_MEDIA_TYPE
    title: str | None = None
    template: str | None = None
    records: tuple[int, ...] = ()  # the case records it is made from (for the audit)
    validator_user_id: int | None = None  # who validated the sending (named in the manifest)


def transmit(uow: UnitOfWork, actor: Actor, case: Case, *, sender_org: Organisation,
             recipient_org: Organisation, purpose: str, categories: Iterable[str],
             document: Outgoing, author_user_id: int | None, instance_id: int | None = None,
             recipient_role: str | None = None, outbox_id: int | None = None,
             commit_refusals: bool = True, legal_basis_record: int | None = None) -> Delivery:
    """Authorise, produce, sign, seal and store one document for `recipient_org`.

    With `legal_basis_record` (a `base_legale.json` record of the case) the transmission
    rests on that legal basis, not on a consent (see `consent.authorize`).
    Raises ConsentRefused (403) or RoutingInvalid (422) when the transmission may not or
    cannot happen; nothing is created and the refusal is audited (see the module guarantees
    for `commit_refusals`). Otherwise returns the delivery, already in its recipient's inbox,
    audited in the caller's transaction.
    """
    wanted = sorted(set(categories))
    record = RefusalAudit(actor, "routing.transmission_refused", "case", case.id,
                          sender_org.id, {"recipient": recipient_org.id,
                                          # codes only: an invalid value is not copied
                                          "purpose": purpose if _is_code(purpose) else None,
                                          "categories": sorted(forms.CATEGORIES & set(wanted)),
                                          "instance": instance_id, "outbox": outbox_id,
                                          "legal_basis_record": legal_basis_record})
    try:
        _check_request(case, sender_org, recipient_org, purpose, wanted, document)
        authorization = consent.authorize(uow, case, sender_org.id, recipient_org.id, purpose,
                                          wanted, uow.now(),
                                          legal_basis_record=legal_basis_record,
                                          recipient_role=recipient_role)
        content = document.produce(authorization)
        blob = _seal(uow, sender_org, recipient_org, purpose, wanted, authorization, document,
                     content, author_user_id)
    except RelaisError as exc:
        raise _refuse(uow, exc, _with(record, code=exc.code,
                                      consent=getattr(exc, "consent_id", None),
                                      legal_basis=getattr(exc, "legal_basis", None)),
                      commit=commit_refusals) from None
    delivery = _store(uow, case, blob, sender_org=sender_org, recipient_org=recipient_org,
                      recipient_role=recipient_role, purpose=purpose, categories=wanted,
                      authorization=authorization, document=document,
                      author_user_id=author_user_id, instance_id=instance_id,
                      outbox_id=outbox_id)
    audit.append(uow, actor, "routing.transmitted", subject_type="delivery",
                 subject_id=delivery.id, organisation_id=sender_org.id, case=case.id,
                 instance=instance_id, recipient=recipient_org.id, recipient_role=recipient_role,
                 purpose=purpose, consent=authorization.consent_id,
                 legal_basis=authorization.legal_basis,
                 legal_basis_record=authorization.legal_basis_record,
                 information=authorization.information, categories=wanted,
                 envelope=delivery.envelope_id, manifest_sha256=delivery.manifest_sha256,
                 template=document.template, records=list(document.records), outbox=outbox_id)
    events.record(uow, _delivery_created(actor, delivery))
    return delivery


def _is_code(value: object) -> bool:
    return isinstance(value, str) and envelope.CODE_RE.fullmatch(value) is not None


def _check_request(case: Case, sender: Organisation, recipient: Organisation, purpose: str,
                   categories: list[str], document: Outgoing) -> None:
    if case.organisation_id != sender.id:
        raise RoutingInvalid("Seule l'organisation qui suit la situation peut en transmettre "
                             "les documents.", code="sender_not_case_owner")
    if recipient.id == sender.id:
        raise RoutingInvalid("Le destinataire est l'organisation expéditrice elle-même : rien "
                             "n'est envoyé.", code="same_organisation")
    if not recipient.active:
        raise RoutingInvalid(f"L'organisation destinataire ({recipient.slug}) est désactivée.",
                             code="recipient_inactive")
    if not _is_code(purpose):
        raise RoutingInvalid("Finalité absente ou invalide : un code est attendu (par exemple "
                             "« vc_transmission »).", code="purpose_invalid")
    unknown = sorted(set(categories) - forms.CATEGORIES)
    if not categories or unknown:
        raise RoutingInvalid("Catégories de données absentes ou inconnues"
                             + (f" ({', '.join(unknown)})" if unknown else "")
                             + f" : choisissez parmi {', '.join(sorted(forms.CATEGORIES))}.",
                             code="categories_invalid")
    if not document.kind_label.strip() or len(document.kind_label) > 200:
        raise RoutingInvalid("Nom du type de document absent ou trop long.",
                             code="document_name_invalid")


def _seal(uow: UnitOfWork, sender: Organisation, recipient: Organisation, purpose: str,
          categories: list[str], authorization: Authorization, document: Outgoing,
          content: bytes, author_user_id: int | None) -> bytes:
    kid, signing_key = keys.private_signing_key(uow, sender)
    fields = envelope.ManifestFields(
        sender_organisation=sender.slug, purpose=purpose, data_categories=categories,
        created_at=uow.now(), author_user_id=author_user_id,
        validated_by_user_id=document.validator_user_id,
        consent_id=authorization.consent_uid, legal_basis=authorization.legal_basis,
        envelope_id=str(uuid.uuid4()))
    metadata = envelope.Metadata(document.file_name, document.media_type, document.title)
    return envelope.seal(content, metadata, fields, signing_key, kid,
                         keys.current_encryption_keys(uow, recipient))


def storage_aad(case: Case, envelope_id: str) -> bytes:
    return STORAGE_CONTEXT + case.reference.encode() + b"\x00" + envelope_id.encode()


def _store(uow: UnitOfWork, case: Case, blob: bytes, *, sender_org: Organisation,
           recipient_org: Organisation, recipient_role: str | None, purpose: str,
           categories: list[str], authorization: Authorization, document: Outgoing,
           author_user_id: int | None, instance_id: int | None,
           outbox_id: int | None) -> Delivery:
    """Keep the envelope under the case key and put it in the recipient's inbox."""
    env = envelope.inspect(blob)
    nonce = os.urandom(12)
    now = uow.now()
    delivery = Delivery(
        envelope_id=env.manifest.envelope_id, case_id=case.id, instance_id=instance_id,
        outbox_id=outbox_id, sender_organisation_id=sender_org.id,
        recipient_organisation_id=recipient_org.id, recipient_role=recipient_role,
        author_user_id=author_user_id, purpose=purpose, consent_id=authorization.consent_id,
        legal_basis=authorization.legal_basis, categories=json.dumps(categories),
        document_name=document.kind_label,
        template=document.template, manifest=env.manifest_bytes.decode("utf-8"),
        manifest_sha256=env.manifest_hash, signature=env.signature, status=SEALED,
        created_at=now, storage_nonce=nonce,
        storage_ciphertext=cases.case_cipher(uow, case).encrypt(
            nonce, blob, storage_aad(case, env.manifest.envelope_id)))
    uow.session.add(delivery)
    uow.session.flush()
    # Same platform: storing it is delivering it. A remote partner would stay `sealed` here.
    delivery.status, delivery.delivered_at = DELIVERED, now
    return delivery


def _delivery_created(actor: Actor, delivery: Delivery) -> events.DeliveryCreated:
    return events.DeliveryCreated(
        actor, delivery_id=delivery.id, sender_organisation_id=delivery.sender_organisation_id,
        recipient_organisation_id=delivery.recipient_organisation_id,
        recipient_role=delivery.recipient_role, purpose=delivery.purpose,
        case_id=delivery.case_id)


# --- who may see what ----------------------------------------------------------------------

SENDER, RECIPIENT = "sender", "recipient"


def is_addressee(principal: Principal, delivery: Delivery) -> bool:
    """The principal belongs to the recipient organisation, in the role the delivery
    targets (any role there when it targets none)."""
    if delivery.recipient_role is None:
        return principal.belongs_to(delivery.recipient_organisation_id)
    return principal.has_role(delivery.recipient_role, delivery.recipient_organisation_id)


def _side(principal: Principal, delivery: Delivery) -> tuple[str | None, str]:
    """(side, reason): the caller's side of the delivery, or None and why not."""
    if is_addressee(principal, delivery):
        return RECIPIENT, ""
    if principal.belongs_to(delivery.sender_organisation_id):
        return SENDER, ""
    if principal.belongs_to(delivery.recipient_organisation_id):
        return None, "role_not_targeted"
    return None, "not_involved"


def _visible(uow: UnitOfWork, principal: Principal, delivery_id: int, action: str, *,
             recipient_only: bool = False) -> Delivery:
    """The delivery if the caller may do `action` on it; otherwise an audited refusal:
    the same 404 for unknown ids and for outsiders, 403 for the sender side asking to do
    what only the recipient does."""
    delivery = uow.session.get(Delivery, delivery_id)
    side, reason = _side(principal, delivery) if delivery else (None, "unknown")
    exc: RelaisError | None = None
    if side is None:
        exc = DeliveryNotFound()
    elif recipient_only and side != RECIPIENT:
        reason = "sender_side"
        exc = Forbidden("Seuls les destinataires de ce document peuvent l'ouvrir ou en "
                        "accuser réception.", code="not_recipient")
    if exc is None:
        assert delivery is not None
        return delivery
    raise _refuse(uow, exc, RefusalAudit(principal.actor, "routing.access_refused", "delivery",
                                         delivery_id, None, {"reason": reason,
                                                             "attempt": action}))


def deliveries_of_case(uow: UnitOfWork, case_id: int, *,
                       consent_id: int | None = None) -> list[Delivery]:
    """The deliveries made from a case (those resting on `consent_id` only, when given),
    oldest first. No access check: for the consent domain's cascades and exports."""
    stmt = select(Delivery).where(Delivery.case_id == case_id)
    if consent_id is not None:
        stmt = stmt.where(Delivery.consent_id == consent_id)
    return list(uow.session.scalars(stmt.order_by(Delivery.id)))


def inbox(uow: UnitOfWork, principal: Principal, limit: int = 200) -> list[dict[str, Any]]:
    """Deliveries the caller may open: to their organisation, for a role they hold there."""
    clauses = [(Delivery.recipient_organisation_id == g.organisation_id)
               & (Delivery.recipient_role.is_(None) | (Delivery.recipient_role == g.role))
               for g in principal.grants]
    if not clauses:
        return []
    rows = uow.session.execute(
        select(Delivery, Instance.process_id, Organisation.slug)
        .outerjoin(Instance, Instance.id == Delivery.instance_id)
        .join(Organisation, Organisation.id == Delivery.sender_organisation_id)
        .where(or_(*clauses), Delivery.status != SEALED)
        .order_by(Delivery.id.desc()).limit(limit)).all()
    return [{"id": d.id, "instance_id": d.instance_id, "process_id": process_id,
             "document_name": d.document_name, "status": d.status,
             "received_at": _iso(d.delivered_at), "sender_organisation": sender,
             "purpose": d.purpose} for d, process_id, sender in rows]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- reading -------------------------------------------------------------------------------

def _stored_envelope(uow: UnitOfWork, principal: Principal, delivery: Delivery,
                     action: str) -> bytes:
    """The `.relais` bytes as stored, decrypted from the case key; audited refusals when the
    case was shredded (410) or the stored copy fails its integrity check (500)."""
    case = cases.get_case(uow, delivery.case_id)
    refusal = RefusalAudit(principal.actor, "routing.access_refused", "delivery", delivery.id,
                           None, {"attempt": action})
    try:
        cipher = cases.case_cipher(uow, case)
    except CaseKeyDestroyed:
        exc = CaseKeyDestroyed(_destroyed_message(case))
        raise _refuse(uow, exc, _with(refusal, reason="destroyed")) from None
    try:
        return cipher.decrypt(delivery.storage_nonce, delivery.storage_ciphertext,
                              storage_aad(case, delivery.envelope_id))
    except InvalidTag:
        exc = DeliveryCorrupted("La copie conservée de ce document a été altérée : elle ne "
                                "peut pas être ouverte. L'incident est journalisé ; prévenez "
                                "l'administrateur de la plateforme.")
        raise _refuse(uow, exc, _with(refusal, reason="storage_corrupted")) from None


def _with(record: RefusalAudit, **details: Any) -> RefusalAudit:
    return RefusalAudit(record.actor, record.action, record.subject_type, record.subject_id,
                        record.organisation_id, {**record.details, **details})


def _destroyed_message(case: Case) -> str:
    when = french_datetime(case.key_destroyed_at) if case.key_destroyed_at else "?"
    why = f" (motif : {case.key_destroyed_reason})" if case.key_destroyed_reason else ""
    return (f"Document détruit le {when}{why}, avec toutes les données de la situation : il "
            "ne peut plus être ouvert par personne, clé de recouvrement comprise.")


@dataclass(frozen=True)
class Opened:
    delivery: Delivery
    metadata: envelope.Metadata
    content: bytes


def open_document(uow: UnitOfWork, principal: Principal, delivery_id: int) -> Opened:
    """Decrypt the document for a user of the recipient side. Audited every time, with the
    reader; the first time moves the delivery to `opened`."""
    delivery = _visible(uow, principal, delivery_id, "document", recipient_only=True)
    blob = _stored_envelope(uow, principal, delivery, "document")
    recipient = uow.session.get(Organisation, delivery.recipient_organisation_id)
    assert recipient is not None
    try:
        env = _bound_envelope(blob, delivery)
        kid = _recipient_kid(env, recipient)
        metadata, content = envelope.open(
            env, kid, keys.private_encryption_key(uow, kid),
            public_key_lookup=keys.public_key_lookup(uow), expected_organisation=recipient.slug)
    except RelaisError as exc:  # an altered or misaddressed envelope, a missing key
        raise _refuse(uow, exc, RefusalAudit(
            principal.actor, "routing.access_refused", "delivery", delivery.id, None,
            {"attempt": "document", "reason": exc.code})) from None
    first = delivery.opened_at is None
    if first:
        delivery.opened_at, delivery.opened_by = uow.now(), principal.user_id
        if delivery.status == DELIVERED:
            delivery.status = OPENED
    audit.append(uow, principal.actor, "routing.delivery_opened" if first
                 else "routing.document_read", subject_type="delivery", subject_id=delivery.id,
                 organisation_id=recipient.id, case=delivery.case_id, kid=kid,
                 consent=delivery.consent_id)
    return Opened(delivery, metadata, content)


def _bound_envelope(blob: bytes, delivery: Delivery) -> envelope.Envelope:
    """Parse the stored file and check it is this delivery's envelope (same id, same signed
    manifest as recorded in clear when it was sent)."""
    env = envelope.inspect(blob)
    if env.manifest.envelope_id != delivery.envelope_id \
            or env.manifest_hash != delivery.manifest_sha256:
        raise EnvelopeInvalid("envelope_mismatch", "L'enveloppe conservée n'est pas celle de "
                              "cet envoi : elle a été substituée. Rien n'est ouvert.")
    return env


def _recipient_kid(env: envelope.Envelope, recipient: Organisation) -> str:
    for entry in env.manifest.recipients:
        if entry.organisation == recipient.slug and entry.usage == envelope.USAGE_ENCRYPT:
            return entry.kid
    raise EnvelopeInvalid("not_a_recipient", f"Cette enveloppe n'est pas adressée à "
                          f"{recipient.slug} : elle ne peut pas être ouverte ici.")


def export_envelope(uow: UnitOfWork, principal: Principal, delivery_id: int) -> tuple[str, bytes]:
    """(envelope id, the sealed `.relais` file as stored) for either side, e.g. for
    `relais verify`. Audited. Refused when the stored file is not this delivery's envelope
    (another id or manifest than the one recorded when it was sent)."""
    delivery = _visible(uow, principal, delivery_id, "envelope")
    blob = _stored_envelope(uow, principal, delivery, "envelope")
    try:
        _bound_envelope(blob, delivery)
    except DocumentError as exc:
        raise _refuse(uow, exc, RefusalAudit(
            principal.actor, "routing.access_refused", "delivery", delivery.id, None,
            {"attempt": "envelope", "reason": exc.code})) from None
    audit.append(uow, principal.actor, "routing.envelope_exported", subject_type="delivery",
                 subject_id=delivery.id, case=delivery.case_id,
                 manifest_sha256=delivery.manifest_sha256)
    return delivery.envelope_id, blob


def delivery_summary(uow: UnitOfWork, principal: Principal, delivery_id: int) -> dict[str, Any]:
    """Manifest, signature status and receipts, for either side. Needs no case key: the
    signed manifest and the receipts stay provable after crypto-shredding."""
    delivery = _visible(uow, principal, delivery_id, "view")
    case = cases.get_case(uow, delivery.case_id)
    orgs = {o.id: o.slug for o in uow.session.scalars(select(Organisation).where(
        Organisation.id.in_({delivery.sender_organisation_id,
                             delivery.recipient_organisation_id})))}
    instance = uow.session.get(Instance, delivery.instance_id) if delivery.instance_id else None
    return {
        "id": delivery.id, "envelope_id": delivery.envelope_id,
        "instance_id": delivery.instance_id,
        "process_id": instance.process_id if instance else None,
        "document_name": delivery.document_name, "status": delivery.status,
        "sender_organisation": orgs[delivery.sender_organisation_id],
        "recipient_organisation": orgs[delivery.recipient_organisation_id],
        "recipient_role": delivery.recipient_role, "purpose": delivery.purpose,
        "categories": json.loads(delivery.categories),
        "created_at": _iso(delivery.created_at), "received_at": _iso(delivery.delivered_at),
        "opened_at": _iso(delivery.opened_at), "acknowledged_at": _iso(delivery.acknowledged_at),
        "manifest": json.loads(delivery.manifest), "manifest_sha256": delivery.manifest_sha256,
        "signature": manifest_signature_status(uow, delivery),
        "receipts": [receipt_summary(uow, delivery, r) for r in receipts_of(uow, delivery)],
        "destroyed_at": _iso(case.key_destroyed_at),
    }


# --- receipts ------------------------------------------------------------------------------

def acknowledge(uow: UnitOfWork, principal: Principal, delivery_id: int) -> Receipt:
    """Sign and keep the recipient organisation's receipt (once: AlreadyAcknowledged, 409,
    after), audited, then resume the sender's instance with the `accuse_reception` message."""
    delivery = _visible(uow, principal, delivery_id, "acknowledge", recipient_only=True)
    if uow.dialect == "postgresql":  # concurrent acknowledgements queue here
        uow.session.refresh(delivery, with_for_update=True)
    if delivery.acknowledged_at is not None:
        raise AlreadyAcknowledged(f"Réception déjà accusée le "
                                  f"{french_datetime(delivery.acknowledged_at)}.")
    orgs = {o.id: o for o in uow.session.scalars(select(Organisation).where(
        Organisation.id.in_({delivery.sender_organisation_id,
                             delivery.recipient_organisation_id})))}
    recipient, sender = (orgs[delivery.recipient_organisation_id],
                         orgs[delivery.sender_organisation_id])
    received_at = uow.now().replace(microsecond=0)
    kid, signing_key = keys.private_signing_key(uow, recipient)
    statement = envelope.canonical_json({
        "type": RECEIPT_TYPE, "version": 1, "envelope_id": delivery.envelope_id,
        "manifest_sha256": delivery.manifest_sha256, "sender_organisation": sender.slug,
        "recipient_organisation": recipient.slug, "signer_kid": kid,
        "received_at": received_at.strftime(envelope.TIME_FORMAT)})
    _mark_acknowledged(uow, delivery, received_at)
    receipt = Receipt(delivery_id=delivery.id, statement=statement.decode("utf-8"),
                      signer_kid=kid, signature=signing_key.sign(RECEIPT_CONTEXT + statement),
                      received_at=received_at, acknowledged_by=principal.user_id)
    uow.session.add(receipt)
    uow.session.flush()
    audit.append(uow, principal.actor, "routing.acknowledged", subject_type="delivery",
                 subject_id=delivery.id, organisation_id=recipient.id, receipt=receipt.id,
                 kid=kid, manifest_sha256=delivery.manifest_sha256)
    events.record(uow, events.DeliveryAcknowledged(
        principal.actor, delivery_id=delivery.id,
        sender_organisation_id=delivery.sender_organisation_id,
        recipient_organisation_id=delivery.recipient_organisation_id,
        hours_to_acknowledge=_whole_hours(delivery.created_at, received_at)))
    if delivery.instance_id is not None:
        _notify_sender(uow, principal, delivery, receipt)
    return receipt


def _whole_hours(sent: datetime | None, received: datetime) -> int | None:
    """Whole hours from sending to the receipt (for the figures' median delay)."""
    if sent is None:
        return None
    return max(0, int((received - sent).total_seconds() // 3600))


def _mark_acknowledged(uow: UnitOfWork, delivery: Delivery, at: datetime) -> None:
    """A conditional update: of two concurrent acknowledgements, one wins, the other gets 409."""
    done = uow.session.execute(
        update(Delivery).where(Delivery.id == delivery.id, Delivery.acknowledged_at.is_(None))
        .values(status=ACKNOWLEDGED, acknowledged_at=at)
        .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise AlreadyAcknowledged("Réception déjà accusée.")
    uow.session.refresh(delivery)


def _notify_sender(uow: UnitOfWork, principal: Principal, delivery: Delivery,
                   receipt: Receipt) -> None:
    runtime.receive_message(
        uow, principal.actor, name=RECEIPT_MESSAGE,
        correlation={"instance_id": delivery.instance_id,
                     "transmission.delivery_id": delivery.id},
        payload={"delivery_id": delivery.id, "receipt_id": receipt.id},
        message_id=f"relais-receipt-{uuid.uuid4()}", from_platform=True)
