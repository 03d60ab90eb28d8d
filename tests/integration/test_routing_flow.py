"""A diagram generates, signs, seals and routes a document; the partner opens and acknowledges
it; the sender's instance resumes. Refusals are audited and leave nothing behind."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from routing_support import (
    CATEGORIES,
    FICHE,
    PURPOSE,
    TEMPLATES,
    actions,
    database_bytes,
    deploy,
    docx_text,
    fill,
    instance_status,
    principal,
    record_consent,
    run_outbox,
    sent,
    start,
)
from sqlalchemy import func, select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.cases.models import Case
from engine.consent.errors import ConsentRefused
from engine.db import transaction
from engine.documents import envelope
from engine.documents.render import DOCX_MEDIA_TYPE, TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.jobs import outbox
from engine.keys import service as keys
from engine.routing import connectors as routing_connectors
from engine.routing import service as routing
from engine.routing.errors import AlreadyAcknowledged
from engine.routing.models import Delivery, Receipt
from engine.runtime import connectors
from engine.runtime import service as runtime
from engine.runtime.models import Incident, Instance, OutboxItem


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


def test_a_diagram_routes_a_document_that_the_partner_opens_and_acknowledges(db):
    instance_id, _case_id, delivery_id = sent(db)
    assert instance_status(db, instance_id) == "running"  # waits for the receipt

    with db.unit_of_work() as uow:
        [item] = routing.inbox(uow, principal(uow, "demo-asso"))
        assert item == {"id": delivery_id, "instance_id": instance_id,
                        "process_id": "transmission",
                        "document_name": "Fiche protocole violences conjugales (essai)",
                        "status": "delivered", "received_at": item["received_at"],
                        "sender_organisation": "asso-iscg-demo", "purpose": PURPOSE}
        for other in ("demo-is", "demo-itp", "demo-police"):
            assert routing.inbox(uow, principal(uow, other)) == []

    with transaction(db) as uow:
        opened = routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)
        assert opened.metadata.media_type == DOCX_MEDIA_TYPE
        assert opened.metadata.title == "Fiche protocole violences conjugales (essai)"
        text = docx_text(opened.content)
    assert "«\u00a0Élodie Lefèvre-Noël\u00a0»" in text
    assert "20 novembre 2026" in text and "Économiques" in text
    assert "Souhaite être rappelée « après 18 h »." in text
    assert "Transmis à France Victimes (démo)" in text

    with transaction(db) as uow:  # a second reading is audited too
        routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)
    with db.unit_of_work() as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        asso_id = identity.get_user(uow, "demo-asso").id
        assert delivery.status == "opened" and delivery.opened_by == asso_id
    [first] = actions(db, "routing.delivery_opened")
    [again] = actions(db, "routing.document_read")
    assert first.actor_user_id == again.actor_user_id == asso_id

    with transaction(db) as uow:
        receipt = routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)
        receipt_id = receipt.id
    assert instance_status(db, instance_id) == "completed"
    with transaction(db) as uow, pytest.raises(AlreadyAcknowledged):
        routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)

    with db.unit_of_work() as uow:
        summary = routing.delivery_summary(uow, principal(uow, "demo-is"), delivery_id)
        assert summary["status"] == "acknowledged"
        assert summary["signature"] == {"status": "valid", "code": None,
                                        "signer_kid": summary["manifest"]["sender_kid"]}
        [receipt_out] = summary["receipts"]
        assert receipt_out["id"] == receipt_id and receipt_out["signature_status"] == "valid"
        assert summary["manifest"]["consent_id"] is not None
        assert summary["manifest"]["data_categories"] == CATEGORIES
        assert uow.session.scalar(select(func.count(Receipt.id))) == 1

    [transmitted] = actions(db, "routing.transmitted")
    details = json.loads(transmitted.details)
    assert details["purpose"] == PURPOSE and details["consent"] and details["records"]
    assert details["instance"] == instance_id and details["categories"] == CATEGORIES
    assert [r.action for r in actions(db, "routing.acknowledged")] == ["routing.acknowledged"]
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok


def test_without_consent_the_connector_is_refused_and_nothing_is_sent(db):
    deploy(db)
    instance_id, case_id = start(db)
    fill(db)
    assert run_outbox(db) == ["refused"]
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Delivery.id))) == 0
        incident = uow.session.scalars(select(Incident)).one()
        assert incident.kind == "connector_refused"
        assert "Aucun consentement" in incident.error
        incident_id = incident.id
    [refused] = actions(db, "routing.transmission_refused")
    assert json.loads(refused.details)["code"] == "consent_missing"
    assert refused.subject_id == str(case_id)
    [connector_refused] = actions(db, "runtime.connector_refused")
    assert json.loads(connector_refused.details)["code"] == "consent_missing"
    assert instance_status(db, instance_id) == "running"

    # Once the consent is recorded, an administrator's retry sends it.
    record_consent(db, case_id)
    with transaction(db) as uow:
        runtime.retry_incident(uow, principal(uow, "demo-admin"), incident_id)
    assert run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Delivery.id))) == 1


def _outgoing(content: bytes = b"contenu") -> routing.Outgoing:
    return routing.Outgoing(kind_label="Fiche d'essai", file_name="essai.docx",
                            produce=lambda _authorization: content)


def test_a_direct_refusal_is_audited_and_rolls_back_the_rest(db):
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        case_id = cases.open_case(uow, is_, is_.primary_organisation_id).id
    with db.unit_of_work() as uow:
        is_ = principal(uow, "demo-is")
        case = cases.get_case(uow, case_id)
        cases.open_case(uow, is_, is_.primary_organisation_id)  # pending, never committed
        with pytest.raises(ConsentRefused) as refused:
            routing.transmit(uow, is_.actor, case,
                             sender_org=identity.get_organisation(uow, "asso-iscg-demo"),
                             recipient_org=identity.get_organisation(uow, "cd-demo"),
                             purpose="fiche_liaison", categories=["SOC"], document=_outgoing(),
                             author_user_id=is_.user_id)
    assert refused.value.code == "consent_missing"
    [row] = actions(db, "routing.transmission_refused")
    assert json.loads(row.details)["code"] == "consent_missing"
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Case.id))) == 1
        assert uow.session.scalar(select(func.count(Delivery.id))) == 0
        assert audit.verify(uow).ok


def test_a_document_is_produced_only_once_consent_is_given(db):
    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        case_id = cases.open_case(uow, is_, is_.primary_organisation_id).id
    produced = []

    def produce(authorization):
        produced.append(authorization.consent_id)
        return b"fiche"

    document = routing.Outgoing(kind_label="Fiche d'essai", file_name="essai.txt",
                                media_type="text/plain", produce=produce)
    for attempt in ("refused", "granted"):
        if attempt == "granted":
            record_consent(db, case_id, recipients=["cd-demo"], purposes=["fiche_liaison"])
        with transaction(db) as uow:
            if attempt == "refused":
                with pytest.raises(ConsentRefused):
                    _transmit_to_cd(uow, case_id, document)
                assert produced == []
            else:
                assert _transmit_to_cd(uow, case_id, document).recipient_role is None
    assert len(produced) == 1


def _transmit_to_cd(uow, case_id, document):
    is_ = principal(uow, "demo-is")
    return routing.transmit(uow, is_.actor, cases.get_case(uow, case_id),
                            sender_org=identity.get_organisation(uow, "asso-iscg-demo"),
                            recipient_org=identity.get_organisation(uow, "cd-demo"),
                            purpose="fiche_liaison", categories=["SOC"], document=document,
                            author_user_id=is_.user_id)


@pytest.mark.parametrize("mistake, code", [
    ({"recipient": "inconnue-demo"}, "recipient_unknown"),
    ({"recipient": "CMP", "recipient_role": None}, "recipient_unbound"),
    ({"recipient": "CMP"}, "connector_parameter_invalid"),  # two different roles
    ({"recipient_role": "CHEF"}, "connector_parameter_invalid"),
    ({"categories": 42}, "connector_parameter_invalid"),
    ({"template": "../../etc/passwd"}, "template_invalid"),
    ({"template": "absent.docx"}, "template_not_found"),
    ({"categories": ["ID", "SOC"]}, "categories_undeclared"),
    ({"recipient": "asso-iscg-demo"}, "same_organisation"),
    ({"purpose": "<script>"}, "purpose_invalid"),
])
def test_connector_mistakes_are_refused_with_their_reason(db, mistake, code):
    deploy(db)
    _instance_id, case_id = start(db)
    record_consent(db, case_id)
    fill(db)
    with db.unit_of_work() as uow:
        item = uow.session.scalars(select(OutboxItem)).one()
        params = {**json.loads(item.params), **mistake}
        item.params = json.dumps(params)
        uow.commit()
    assert run_outbox(db) == ["refused"]
    [row] = actions(db, "routing.transmission_refused")
    assert json.loads(row.details)["code"] == code
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Delivery.id))) == 0
        assert code in uow.session.scalars(select(OutboxItem.last_error)).one()


def test_a_role_recipient_is_the_organisation_bound_to_that_lane(db):
    deploy(db)
    instance_id, case_id = start(db)
    record_consent(db, case_id)
    fill(db)
    with db.unit_of_work() as uow:
        item = uow.session.scalars(select(OutboxItem)).one()
        instance = uow.session.get(Instance, instance_id)
        lanes = json.loads(instance.lanes)
        lanes["ASSOCIATION"] = identity.get_organisation(uow, "asso-victimes-demo").id
        instance.lanes = json.dumps(lanes)
        params = json.loads(item.params)
        del params["recipient_role"]
        item.params = json.dumps({**params, "recipient": "ASSOCIATION"})
        uow.commit()
    assert run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        delivery = uow.session.scalars(select(Delivery)).one()
        assert delivery.recipient_role == "ASSOCIATION"
        assert delivery.recipient_organisation_id == \
            identity.get_organisation(uow, "asso-victimes-demo").id


def test_the_connector_is_registered_with_its_parameters():
    connector = connectors.get("relais/transmit_document")
    assert connector is routing_connectors.TRANSMIT_DOCUMENT
    assert connector.run_in_transaction is not None and connector.run is None
    assert connector.parameter_problems({"template", "recipient", "purpose",
                                         "categories"}) == []


def test_nothing_in_the_database_reveals_the_document(db, settings):
    _instance_id, _case_id, delivery_id = sent(db)
    with transaction(db) as uow:
        routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)
    db.engine.dispose()
    stored = database_bytes(settings)
    for secret in (FICHE["nom"], "Lefèvre", FICHE["observations"], "Domicile, Dijon",
                   "fiche_transmission-"):
        assert secret.encode() not in stored, secret
    assert "Fiche protocole violences conjugales (essai)".encode() in stored  # noqa: UP012  # the kind label


def test_shredding_the_case_makes_every_stored_copy_unreadable_even_for_recovery(db, tmp_path):
    recovery = X25519PrivateKey.generate()
    with transaction(db) as uow:
        asso = identity.get_organisation(uow, "asso-victimes-demo")
        raw = recovery.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys.register_recovery_key(uow, SYSTEM, asso, raw)
    _instance_id, case_id, delivery_id = sent(db)
    with transaction(db) as uow:
        _envelope_id, blob = routing.export_envelope(uow, principal(uow, "demo-asso"),
                                                     delivery_id)
    # The organisation's offline recovery key opens the envelope alone…
    parsed = envelope.inspect(blob)
    [recovery_entry] = [r for r in parsed.manifest.recipients if r.usage == "recovery"]
    _meta, content = envelope.open(parsed, recovery_entry.kid, recovery, public_key_lookup=None)
    assert "Élodie" in docx_text(content)

    with transaction(db) as uow:
        is_ = principal(uow, "demo-is")
        cases.destroy_key(uow, is_.actor, cases.get_case(uow, case_id), "demande_personne")
    # …but nothing stored can be read any more, by anyone.
    for call in (routing.open_document, routing.export_envelope):
        with transaction(db) as uow, pytest.raises(CaseKeyDestroyed) as gone:
            call(uow, principal(uow, "demo-asso"), delivery_id)
        assert gone.value.status == 410 and "détruit le" in gone.value.message
        assert "demande_personne" in gone.value.message
    with db.unit_of_work() as uow:
        summary = routing.delivery_summary(uow, principal(uow, "demo-asso"), delivery_id)
        assert summary["destroyed_at"] is not None
        assert summary["signature"]["status"] == "valid"  # the proof survives the content
        with pytest.raises(CaseKeyDestroyed):
            cases.case_cipher(uow, cases.get_case(uow, case_id))
        assert audit.verify(uow).ok
    [destroyed] = actions(db, "case.key_destroyed")
    assert destroyed.actor_label == "demo-is" and "demande_personne" in destroyed.details
    refused = [json.loads(r.details)["reason"] for r in actions(db, "routing.access_refused")]
    assert refused == ["destroyed", "destroyed"]


def test_delivery_rows_are_created_only_by_routing():
    """Invariant 2, by inspection: no other module adds a Delivery."""
    import re
    from pathlib import Path

    root = Path(__file__).parents[2] / "engine"
    writers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if re.search(r"(?<!class )\bDelivery\(", p.read_text(encoding="utf-8")))
    assert writers == ["routing/service.py"]


def test_outbox_redelivery_creates_no_second_delivery(db):
    deploy(db)
    _instance_id, case_id = start(db)
    record_consent(db, case_id)
    fill(db)
    with db.unit_of_work() as uow:
        item_id = uow.session.scalars(select(OutboxItem.id)).one()
    assert outbox.run_item(db, item_id) == "done"
    assert outbox.run_item(db, item_id) == "skipped"
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Delivery.id))) == 1
    assert len(actions(db, "routing.transmitted")) == 1


def test_an_actor_label_never_carries_personal_data(db):
    sent(db)
    for row in actions(db):
        assert "Élodie" not in row.details and "Élodie" not in row.actor_label


def test_the_inbox_does_not_load_the_documents_opening_one_does(db):
    """Issue 16: a list of deliveries reads their metadata, never their stored content."""
    from sqlalchemy import event

    _instance_id, _case_id, delivery_id = sent(db)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.unit_of_work() as uow:
            [item] = routing.inbox(uow, principal(uow, "demo-asso"))
        listed = list(statements)
        statements.clear()
        with transaction(db) as uow:
            routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert item["id"] == delivery_id
    assert any("FROM delivery" in s for s in listed)
    assert not any("storage_ciphertext" in s for s in listed), listed
    assert any("storage_ciphertext" in s for s in statements)  # opening reads it
