"""Dossier use cases: documents a case keeps for the organisation that holds it.

Guarantees:
- A piece's document is a case record of kind `piece`, encrypted under the case key like every
  record; in clear stay its kind label, dates and ids. `cases.destroy_key` (a person's request,
  the end of retention) makes every piece unreadable.
- A generated piece never leaves the organisation: it is a letter to print, a copy kept by the
  professional — no consent is involved. Anything that leaves goes through `routing.transmit`
  (the one door out), including a dossier export.
- Filing a delivery opens it as the recipient user (audited by routing), keeps a copy in the
  recipient's own case — so the dossier outlives the sender's retention — once per delivery,
  and acknowledges it (the sender's instance receives `accuse_reception`).
- Only users of the organisation holding the case list and read its pieces; every reading is
  audited with its reader.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import docx
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from sqlalchemy import select

import forms
from engine.audit import refusals
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.cases.models import Case, CaseRecord
from engine.consent import mentions
from engine.consent.catalogue import retention_of
from engine.consent.models import Consent
from engine.db import UnitOfWork
from engine.documents import build, render
from engine.documents.render import DOCX_MEDIA_TYPE
from engine.dossiers.errors import AlreadyFiled, DossierInvalid, PieceNotFound
from engine.dossiers.models import Piece
from engine.identity.models import Organisation
from engine.identity.service import Principal
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime import service as runtime
from engine.runtime.models import Instance, ProcessVersion

PIECE_RECORD = "piece"
GENERATED, FILED = "generated", "filed"


# --- the values a protocol's documents are made from ----------------------------------------

def instance_records(uow: UnitOfWork, case: Case, instance: Instance) -> list[CaseRecord]:
    """The form submissions of `instance`, oldest first."""
    return [r for r in cases.records_of(uow, case, kind="form") if r.instance_id == instance.id]


def instance_fields(uow: UnitOfWork, instance: Instance,
                    records: Iterable[CaseRecord]) -> dict[str, dict[str, Any]]:
    """Every form property of the records, by name (later forms win), as deployed."""
    version = uow.session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    fields: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.form for r in records if r.form):
        fields.update(runtime.form_of_version(uow, version, name).properties)
    return fields


def instance_values(uow: UnitOfWork, case: Case, records: Iterable[CaseRecord],
                    fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The submitted values (a field never filled renders empty). Decrypted without an audit
    row of their own: the caller audits the document it makes from them."""
    values: dict[str, Any] = dict.fromkeys(fields)
    for record in records:
        values.update(cases.read_record(uow, audit.SYSTEM, case, record, audited=False))
    return values


def shown_categories(template: render.Template, fields: dict[str, dict[str, Any]]) -> set[str]:
    shown = render.placeholders(template.content) & set(fields)
    return {str(fields[n]["x-relais-category"]) for n in shown
            if fields[n].get("x-relais-category")} or {"SOC"}


# --- storing and reading pieces ------------------------------------------------------------

def _store(uow: UnitOfWork, actor: Actor, case: Case, *, kind: str, content: bytes,
           file_name: str, document_name: str, categories: Iterable[str],
           document_date: datetime, template: str | None = None,
           instance_id: int | None = None, delivery_id: int | None = None) -> Piece:
    payload = {"file_name": file_name, "media_type": DOCX_MEDIA_TYPE,
               "content": base64.b64encode(content).decode("ascii")}
    record = cases.store_record(uow, actor, case, kind=PIECE_RECORD, payload=payload,
                                categories=sorted(set(categories) & forms.CATEGORIES),
                                organisation_id=case.organisation_id, instance_id=instance_id)
    piece = Piece(case_id=case.id, record_id=record.id, kind=kind, document_name=document_name,
                  template=template, instance_id=instance_id, delivery_id=delivery_id,
                  document_date=document_date, created_by=actor.user_id, created_at=uow.now())
    uow.session.add(piece)
    uow.session.flush()
    audit.append(uow, actor, f"dossiers.piece_{kind}", subject_type="case", subject_id=case.id,
                 organisation_id=case.organisation_id, piece=piece.id, record=record.id,
                 template=template, delivery=delivery_id, instance=instance_id)
    return piece


def case_retention(uow: UnitOfWork, case: Case) -> timedelta:
    """How long the case is kept after its last activity: the purposes its consents and
    deliveries used, and the gravity its sheets recorded (what the retention sweep applies)."""
    purposes = {p for raw in uow.session.scalars(select(Consent.purposes).where(
        Consent.case_id == case.id)) for p in json.loads(raw)}
    purposes |= set(uow.session.scalars(select(Delivery.purpose).where(
        Delivery.case_id == case.id)))
    return retention_of(purposes, case.gravity)


def generate(uow: UnitOfWork, actor: Actor, case: Case, instance: Instance, *,
             template_name: str, document_name: str | None = None) -> Piece:
    """Render `template_name` from the instance's submissions into a piece of the case (a
    letter to print, a copy to keep), stamped like a transmitted document (letterhead,
    author and validator, 226-13, the RGPD notice with the case's retention). It stays in
    the organisation holding the case."""
    template = render.load_template(template_name)
    records = instance_records(uow, case, instance)
    fields = instance_fields(uow, instance, records)
    organisation = uow.session.get(Organisation, case.organisation_id)
    assert organisation is not None
    values = instance_values(uow, case, records, fields)
    values.update(reference=case.reference, date_document=render.french_date(uow.now()),
                  organisation_expediteur=organisation.name, organisation_destinataire="",
                  finalite="", consentement_du="", fondement="")
    content = build.stamp(render.render_docx(template.content, values, fields),
                          mentions.mentions_for(uow, organisation, actor.user_id, None,
                                                uow.now(), retention=case_retention(uow, case),
                                                validator_user_id=actor.user_id))
    name = document_name or template.kind_label
    stem = template.name.rsplit("/", 1)[-1].removesuffix(".docx")
    return _store(uow, actor, case, kind=GENERATED, content=content,
                  file_name=f"{stem}-{uow.now():%Y-%m-%d}.docx", document_name=name,
                  categories=shown_categories(template, fields), document_date=uow.now(),
                  template=template.name, instance_id=instance.id)


def file_delivery(uow: UnitOfWork, principal: Principal, case: Case, delivery_id: Any, *,
                  instance_id: int | None, purposes: Iterable[str] | None = None,
                  acknowledge: bool = True) -> Piece:
    """Keep a copy of a received document in `case` (held by the recipient organisation),
    then acknowledge it. Refused (nothing changes) when the delivery is not addressed to this
    organisation and the principal's role, is of another purpose, is already filed, or was
    destroyed at its source."""
    delivery = uow.session.get(Delivery, delivery_id) \
        if isinstance(delivery_id, int) and not isinstance(delivery_id, bool) else None
    if delivery is None or delivery.recipient_organisation_id != case.organisation_id \
            or not routing.is_addressee(principal, delivery):
        raise DossierInvalid("Cet envoi n'est pas dans votre boîte de réception : vérifiez son "
                             "numéro.", code="delivery_not_fileable")
    wanted = set(purposes or ())
    if wanted and delivery.purpose not in wanted:
        raise DossierInvalid("Cet envoi n'est pas un document de ce protocole : il ne peut pas "
                             "être classé dans ce dossier.", code="delivery_purpose_mismatch")
    filed = uow.session.scalars(select(Piece).where(Piece.delivery_id == delivery.id)).first()
    if filed is not None:
        raise AlreadyFiled("Cet envoi est déjà classé dans un dossier.")
    try:  # checked first: routing would end the caller's transaction on this refusal
        cases.case_cipher(uow, cases.get_case(uow, delivery.case_id))
    except CaseKeyDestroyed:
        raise DossierInvalid("Ce document a été détruit à la source : il ne peut plus être "
                             "classé.", code="delivery_destroyed") from None
    opened = routing.open_document(uow, principal, delivery.id)
    source = cases.get_case(uow, delivery.case_id)
    if source.gravity is not None:  # the filed sheet keeps the dossier as long as its facts
        cases.keep_gravity(uow, principal.actor, case, source.gravity)
    piece = _store(uow, principal.actor, case, kind=FILED, content=opened.content,
                   file_name=opened.metadata.file_name, document_name=delivery.document_name,
                   categories=json.loads(delivery.categories),
                   document_date=delivery.created_at, template=delivery.template,
                   instance_id=instance_id, delivery_id=delivery.id)
    if acknowledge and delivery.acknowledged_at is None:
        routing.acknowledge(uow, principal, delivery.id)
    return piece


def _visible_piece(uow: UnitOfWork, principal: Principal, piece_id: int) -> tuple[Piece, Case]:
    piece = uow.session.get(Piece, piece_id)
    case = cases.get_case(uow, piece.case_id) if piece is not None else None
    if piece is None or not principal.can_see(case):  # the same answer as an unknown id
        raise refusals.refuse_read(uow, principal.actor, "dossiers", "piece", piece_id,
                                   PieceNotFound(),
                                   reason="unknown" if piece is None else "not_visible")
    return piece, case


def pieces_of(uow: UnitOfWork, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """The pieces of a case of the principal's organisation, oldest document first."""
    case = cases.visible_case(uow, principal, case_id)
    rows = uow.session.scalars(select(Piece).where(Piece.case_id == case.id)
                               .order_by(Piece.document_date, Piece.id))
    return [summary(p) for p in rows]


def summary(piece: Piece) -> dict[str, Any]:
    return {"id": piece.id, "case_id": piece.case_id, "kind": piece.kind,
            "document_name": piece.document_name, "instance_id": piece.instance_id,
            "delivery_id": piece.delivery_id, "document_date": piece.document_date.isoformat(),
            "created_at": piece.created_at.isoformat()}


@dataclass(frozen=True)
class PieceDocument:
    piece: Piece
    file_name: str
    media_type: str
    content: bytes


def _content(uow: UnitOfWork, case: Case, piece: Piece) -> tuple[str, str, bytes]:
    record = uow.session.get(CaseRecord, piece.record_id)
    assert record is not None
    payload = cases.read_record(uow, audit.SYSTEM, case, record, audited=False)
    return payload["file_name"], payload["media_type"], base64.b64decode(payload["content"])


def read_piece(uow: UnitOfWork, principal: Principal, piece_id: int) -> PieceDocument:
    """The document of a piece, for a user of the organisation holding the case. Audited."""
    piece, case = _visible_piece(uow, principal, piece_id)
    file_name, media_type, content = _content(uow, case, piece)
    audit.append(uow, principal.actor, "dossiers.piece_read", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, piece=piece.id)
    return PieceDocument(piece, file_name, media_type, content)


# --- export and destruction ----------------------------------------------------------------

@dataclass(frozen=True)
class Export:
    """A whole dossier as one document: what it is made of, and how to make it."""

    pieces: tuple[Piece, ...]
    categories: frozenset[str]
    produce: Callable[[dict[str, Any]], bytes]


def export(uow: UnitOfWork, case: Case, cover: render.Template) -> Export:
    """The filed pieces of the case in the order their documents were established, behind a
    cover page (`cover`, filled with the values given to `produce`, plus `nombre_fiches`,
    `premiere_fiche`, `derniere_fiche` and `sommaire`). Nothing is decrypted before
    `produce` is called."""
    pieces = tuple(uow.session.scalars(
        select(Piece).where(Piece.case_id == case.id, Piece.kind == FILED)
        .order_by(Piece.document_date, Piece.id)))
    if not pieces:
        raise DossierInvalid("Le dossier ne contient aucune fiche : il n'y a rien à remettre.",
                             code="dossier_empty")
    categories: set[str] = set()
    for piece in pieces:
        record = uow.session.get(CaseRecord, piece.record_id)
        assert record is not None
        categories |= set(json.loads(record.categories))

    def produce(values: dict[str, Any]) -> bytes:
        contents = [_content(uow, case, p)[2] for p in pieces]
        dates = [render.french_date(p.document_date) for p in pieces]
        listing = "\n".join(f"{i}. {p.document_name} du {d}"
                            for i, (p, d) in enumerate(zip(pieces, dates, strict=True), 1))
        filled = render.render_docx(cover.content, {
            **values, "nombre_fiches": len(pieces), "premiere_fiche": dates[0],
            "derniere_fiche": dates[-1], "sommaire": listing})
        return assemble(filled, [(f"{p.document_name} du {d}", c)
                                 for p, d, c in zip(pieces, dates, contents, strict=True)])

    return Export(pieces, frozenset(categories), produce)


def assemble(cover: bytes, parts: list[tuple[str, bytes]]) -> bytes:
    """`cover` followed by each part's body, each on a new page under its heading."""
    document = docx.Document(io.BytesIO(cover))
    body = document.element.body
    section = body.find(qn("w:sectPr"))
    for index, (title, content) in enumerate(parts, 1):
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_heading(f"{index}. {title}", level=2)
        for element in docx.Document(io.BytesIO(content)).element.body:
            if element.tag == qn("w:sectPr"):
                continue
            copy = deepcopy(element)
            if section is not None:
                section.addprevious(copy)
            else:
                body.append(copy)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


HANDED_TO = {"victime": "la victime elle-même", "avocat": "l'avocat de la victime"}
HANDOVER_PURPOSE = "vc_dossier_export_police"  # « Remise du dossier de la victime, à sa demande »


def hand_over(uow: UnitOfWork, actor: Actor, case: Case, instance: Instance, *,
              cover_name: str, beneficiary: str) -> Piece:
    """The whole dossier, in the order its documents were established, as one document the
    organisation hands to the victim herself or to her lawyer (`beneficiary`: `victime` or
    `avocat`) at her written request: nothing is sent through Relais — the piece is kept in
    the case and downloaded or printed by the organisation, stamped with its mentions and
    signature block. Audited `dossiers.handed_over` (codes and ids). DossierInvalid for an
    unknown beneficiary or an empty dossier."""
    if beneficiary not in HANDED_TO:
        raise DossierInvalid("Bénéficiaire de la remise invalide : la victime ou son avocat.",
                             code="connector_parameter_invalid")
    cover = render.load_template(cover_name)
    made = export(uow, case, cover)
    organisation = uow.session.get(Organisation, case.organisation_id)
    assert organisation is not None
    records = instance_records(uow, case, instance)
    values = instance_values(uow, case, records, instance_fields(uow, instance, records))
    values.update(reference=case.reference, date_document=render.french_date(uow.now()),
                  organisation_expediteur=organisation.name,
                  beneficiaire=HANDED_TO[beneficiary])
    content = build.stamp(made.produce(values), mentions.mentions_for(
        uow, organisation, actor.user_id, HANDOVER_PURPOSE, uow.now(),
        retention=case_retention(uow, case), validator_user_id=actor.user_id))
    name = "Dossier remis à la victime" if beneficiary == "victime" \
        else "Dossier remis à l'avocat de la victime"
    piece = _store(uow, actor, case, kind=GENERATED, content=content,
                   file_name=f"dossier-remis-{uow.now():%Y-%m-%d}.docx", document_name=name,
                   categories=made.categories, document_date=uow.now(), template=cover.name,
                   instance_id=instance.id)
    audit.append(uow, actor, "dossiers.handed_over", subject_type="case", subject_id=case.id,
                 organisation_id=case.organisation_id, piece=piece.id, beneficiary=beneficiary,
                 pieces=len(made.pieces), instance=instance.id)
    return piece


def destroy(uow: UnitOfWork, actor: Actor, case: Case, reason: str) -> None:
    """Crypto-shred the case: every piece and record becomes unreadable, for everyone."""
    count = len(list(uow.session.scalars(select(Piece.id).where(Piece.case_id == case.id))))
    cases.destroy_key(uow, actor, case, reason)
    audit.append(uow, actor, "dossiers.destroyed", subject_type="case", subject_id=case.id,
                 organisation_id=case.organisation_id, pieces=count, reason=reason)
