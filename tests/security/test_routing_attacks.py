"""Attacks on deliveries. Each is refused with a clear reason and a stable code, is audited
where it is an access attempt, and changes nothing: no status moves, no receipt appears,
the sender's instance keeps waiting, the audit chain still verifies."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from helpers import bearer
from routing_support import (
    TEMPLATES,
    actions,
    deploy,
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
from engine.db import transaction
from engine.demo import DEMO_PASSWORD
from engine.documents import envelope
from engine.documents.errors import EnvelopeInvalid
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.keys import service as keys
from engine.routing import service as routing
from engine.routing.errors import ReceiptInvalid
from engine.routing.models import Delivery, Receipt

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


@pytest.fixture
def delivered(db):
    """(instance id, case id, delivery id) of a sheet waiting in the association's inbox."""
    return sent(db)


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == code, body
    assert "Traceback" not in body["detail"] and body["detail"]
    return body


def _snapshot(db, delivery_id: int) -> tuple:
    with db.unit_of_work() as uow:
        d = uow.session.get(Delivery, delivery_id)
        return (d.status, d.opened_at, d.opened_by, d.acknowledged_at, d.recipient_organisation_id,
                uow.session.scalar(select(func.count(Receipt.id))),
                uow.session.scalar(select(func.count(Delivery.id))))


def _intact(db) -> None:
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok


def _restore(db, delivery_id: int, blob: bytes) -> None:
    """What an insider holding the case key could do: store other bytes as this envelope."""
    import os

    with transaction(db) as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        case = cases.get_case(uow, delivery.case_id)
        nonce = os.urandom(12)
        delivery.storage_nonce = nonce
        delivery.storage_ciphertext = cases.case_cipher(uow, case).encrypt(
            nonce, blob, routing.storage_aad(case, delivery.envelope_id))


def _stored(db, delivery_id: int) -> bytes:
    with transaction(db) as uow:
        return routing.export_envelope(uow, principal(uow, "demo-asso"), delivery_id)[1]


# --- the stored copy -----------------------------------------------------------------------

def test_one_bit_flipped_in_the_stored_blob_is_refused(client, db, delivered):
    instance_id, _case_id, delivery_id = delivered
    with transaction(db) as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        flipped = bytearray(delivery.storage_ciphertext)
        flipped[len(flipped) // 2] ^= 0x01
        delivery.storage_ciphertext = bytes(flipped)
    before = _snapshot(db, delivery_id)
    headers = bearer(db, "demo-asso")
    for path in ("/document", "/envelope"):
        body = _problem(client.get(f"{API}/deliveries/{delivery_id}{path}", headers=headers),
                        500, "delivery_corrupted")
        assert "altérée" in body["detail"]
    assert _snapshot(db, delivery_id) == before
    assert instance_status(db, instance_id) == "running"
    reasons = [json.loads(r.details)["reason"] for r in actions(db, "routing.access_refused")]
    assert reasons == ["storage_corrupted", "storage_corrupted"]
    assert actions(db, "routing.delivery_opened") == []
    _intact(db)


def _flip_ciphertext(blob: bytes) -> bytes:
    out = bytearray(blob)
    out[-20] ^= 0x80
    return bytes(out)


def _edit_manifest(blob: bytes) -> bytes:
    env = envelope.inspect(blob)
    manifest = json.loads(env.manifest_bytes)
    manifest["purpose"] = "vc_dossier_export_police"
    return envelope.encode(envelope.canonical_json(manifest), env.signature,
                           envelope.canonical_json([{"kid": w.kid, "enc": _b64(w.enc),
                                                     "wrapped": _b64(w.wrapped)}
                                                    for w in env.wrapped_keys]),
                           [bytes(env.ciphertext)])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@pytest.mark.parametrize("tamper, code", [
    (_flip_ciphertext, "hash_mismatch"),
    (lambda blob: blob[:-7], "truncated"),
    (_edit_manifest, "envelope_mismatch"),
    (lambda blob: b"PAS-RELAIS" + blob[10:], "bad_magic"),
])
def test_an_envelope_altered_under_a_valid_case_key_is_refused(client, db, delivered, tamper,
                                                               code):
    _instance_id, _case_id, delivery_id = delivered
    _restore(db, delivery_id, tamper(_stored(db, delivery_id)))
    before = _snapshot(db, delivery_id)
    response = client.get(f"{API}/deliveries/{delivery_id}/document",
                          headers=bearer(db, "demo-asso"))
    _problem(response, 422, code)
    assert _snapshot(db, delivery_id) == before
    [refused] = actions(db, "routing.access_refused")
    assert json.loads(refused.details)["reason"] == code
    exported = client.get(f"{API}/deliveries/{delivery_id}/envelope",
                          headers=bearer(db, "demo-is"))
    if code == "hash_mismatch":  # handed out as stored: `relais verify` says what is wrong
        assert exported.status_code == 200
        with db.unit_of_work() as uow, pytest.raises(EnvelopeInvalid) as offline_check:
            envelope.verify_signature(envelope.inspect(exported.data),
                                      keys.public_key_lookup(uow))
        assert offline_check.value.code == "hash_mismatch"
    else:
        _problem(exported, 422, code)
    _intact(db)


def test_another_envelope_of_the_same_case_swapped_in_is_refused(client, db, delivered):
    _instance_id, case_id, first = delivered
    # A second sheet of the same case, another instance.
    with transaction(db) as uow:
        from engine.runtime import service as runtime

        runtime.start_instance(uow, principal(uow, "demo-is"), "transmission", case_id)
    fill(db)
    assert run_outbox(db) == ["done"]
    second = first + 1
    _restore(db, second, _stored(db, first))
    _problem(client.get(f"{API}/deliveries/{second}/document", headers=bearer(db, "demo-asso")),
             422, "envelope_mismatch")


# --- replay to another organisation --------------------------------------------------------

def test_a_delivery_moved_to_another_organisation_does_not_open_there(client, db, delivered):
    _instance_id, _case_id, delivery_id = delivered
    with transaction(db) as uow:  # an insider re-addresses the row to the departmental council
        delivery = uow.session.get(Delivery, delivery_id)
        delivery.recipient_organisation_id = identity.get_organisation(uow, "cd-demo").id
        delivery.recipient_role = "CG_ITP"
    before = _snapshot(db, delivery_id)
    body = _problem(client.get(f"{API}/deliveries/{delivery_id}/document",
                               headers=bearer(db, "demo-itp")), 422, "not_a_recipient")
    assert "cd-demo" in body["detail"]
    assert _snapshot(db, delivery_id) == before


def test_an_envelope_rewrapped_by_its_recipient_for_a_third_party_is_refused(client, db,
                                                                             delivered):
    """The association knows the content key: it wraps it for cd-demo and replays the file."""
    _instance_id, _case_id, delivery_id = delivered
    blob = _stored(db, delivery_id)
    env = envelope.inspect(blob)
    with db.unit_of_work() as uow:
        asso_kid = env.manifest.recipients[0].kid
        content_key = envelope._unwrap(env, env.wrapped_key(asso_kid),
                                       keys.private_encryption_key(uow, asso_kid))
        [cd_key] = keys.current_encryption_keys(uow, identity.get_organisation(uow, "cd-demo"))
        uow.commit()
    extra = envelope._wrap(content_key, env.manifest.envelope_id, cd_key)
    wrapped = [*env.wrapped_keys, extra]
    replayed = envelope.encode(env.manifest_bytes, env.signature, envelope._wrapped_bytes(wrapped),
                               [bytes(env.ciphertext)])
    _restore(db, delivery_id, replayed)
    with transaction(db) as uow:
        delivery = uow.session.get(Delivery, delivery_id)
        delivery.recipient_organisation_id = identity.get_organisation(uow, "cd-demo").id
        delivery.recipient_role = None
    body = _problem(client.get(f"{API}/deliveries/{delivery_id}/document",
                               headers=bearer(db, "demo-itp")), 422, "not_a_recipient")
    assert "détournée" in body["detail"] or "n'est pas adressée" in body["detail"]


# --- who asks ------------------------------------------------------------------------------

@pytest.fixture
def asso_psy(db):
    """A psychologist of the association: right organisation, not the targeted role."""
    with transaction(db) as uow:
        user = identity.create_user(uow, SYSTEM, username="asso-psy", display_name="Psy",
                                    password=DEMO_PASSWORD)
        identity.grant_role(uow, SYSTEM, user,
                            identity.get_organisation(uow, "asso-victimes-demo"), "PSYCHOLOGUE")
    return bearer(db, "asso-psy")


def test_outsiders_and_the_wrong_role_get_the_unknown_id_answer_audited(client, db, delivered,
                                                                        asso_psy):
    instance_id, _case_id, delivery_id = delivered
    before = _snapshot(db, delivery_id)
    askers = {"role_not_targeted": asso_psy, "not_involved": bearer(db, "demo-itp")}
    unknown = {path: _problem(client.get(f"{API}/deliveries/99999{path}", headers=asso_psy),
                              404, "delivery_not_found")
               for path in ("", "/document", "/envelope")}
    for headers in askers.values():
        for path in ("", "/document", "/envelope"):
            answer = _problem(client.get(f"{API}/deliveries/{delivery_id}{path}",
                                         headers=headers), 404, "delivery_not_found")
            assert answer == unknown[path]  # indistinguishable from an unknown id
        _problem(client.post(f"{API}/deliveries/{delivery_id}/acknowledge", headers=headers),
                 404, "delivery_not_found")
        assert client.get(f"{API}/inbox", headers=headers).get_json() == []
    assert _snapshot(db, delivery_id) == before
    assert instance_status(db, instance_id) == "running"
    refused = [json.loads(r.details) for r in actions(db, "routing.access_refused")]
    assert sorted({(d["reason"], d["attempt"]) for d in refused}) == sorted(
        {(reason, attempt) for reason in ("role_not_targeted", "not_involved", "unknown")
         for attempt in ("view", "document", "envelope", "acknowledge")}
        - {("unknown", "acknowledge")})
    psy = [r for r in actions(db, "routing.access_refused") if r.actor_label == "asso-psy"]
    assert len(psy) == 3 + 4 and all(r.subject_type == "delivery" for r in psy)
    _intact(db)


# --- receipts ------------------------------------------------------------------------------

def _acknowledged(db, delivery_id: int) -> tuple[bytes, bytes]:
    with transaction(db) as uow:
        receipt = routing.acknowledge(uow, principal(uow, "demo-asso"), delivery_id)
        return receipt.statement.encode(), receipt.signature


def _verify(db, delivery_id: int, statement: bytes, signature: bytes) -> None:
    with db.unit_of_work() as uow:
        routing.verify_receipt(uow, uow.session.get(Delivery, delivery_id), statement, signature)


def _sign_as(db, slug: str, statement: bytes) -> bytes:
    with db.unit_of_work() as uow:
        _kid, key = keys.private_signing_key(uow, identity.get_organisation(uow, slug))
        uow.commit()
    return key.sign(routing.RECEIPT_CONTEXT + statement)


def test_forged_receipts_are_refused(db, delivered):
    _instance_id, _case_id, delivery_id = delivered
    statement, signature = _acknowledged(db, delivery_id)
    _verify(db, delivery_id, statement, signature)  # the genuine one holds
    data = json.loads(statement)

    later = datetime.strptime(data["received_at"], envelope.TIME_FORMAT) + timedelta(hours=1)
    altered = envelope.canonical_json({**data,
                                       "received_at": later.strftime(envelope.TIME_FORMAT)})
    forgeries = {
        "bad_signature": (altered, signature),
        "malformed": (statement + b" ", signature),
        "wrong_signer": (envelope.canonical_json({**data, "signer_kid": _sender_kid(db)}),
                         None),
        "unknown_key": (envelope.canonical_json({**data, "signer_kid": "ed25519-" + "0" * 32}),
                        signature),
        "key_not_valid": (envelope.canonical_json({**data,
                                                   "received_at": "2020-01-01T00:00:00Z"}),
                          signature),
    }
    # The sender signs a receipt "from" the association with its own key.
    forged = forgeries["wrong_signer"][0]
    forgeries["wrong_signer"] = (forged, _sign_as(db, "asso-iscg-demo", forged))
    for code, (text, sig) in forgeries.items():
        with pytest.raises(ReceiptInvalid) as refused:
            _verify(db, delivery_id, text, sig)
        assert refused.value.code == code, code
    flipped = bytearray(signature)
    flipped[0] ^= 1
    with pytest.raises(ReceiptInvalid, match="falsifié"):
        _verify(db, delivery_id, statement, bytes(flipped))


def _sender_kid(db) -> str:
    with db.unit_of_work() as uow:
        kid = keys.ensure_organisation_keys(
            uow, identity.get_organisation(uow, "asso-iscg-demo")).signing.kid
        uow.commit()
        return kid


def test_a_receipt_replayed_for_another_delivery_proves_nothing(client, db, delivered):
    first_instance, case_id, first = delivered
    statement, signature = _acknowledged(db, first)
    with transaction(db) as uow:
        from engine.runtime import service as runtime

        second_instance = runtime.start_instance(uow, principal(uow, "demo-is"), "transmission",
                                                 case_id).id
    fill(db)
    assert run_outbox(db) == ["done"]
    second = first + 1
    with pytest.raises(ReceiptInvalid) as refused:
        _verify(db, second, statement, signature)
    assert refused.value.code == "receipt_mismatch"
    # A replayed row in the database shows as invalid; nothing resumes.
    with transaction(db) as uow:
        original = uow.session.scalars(select(Receipt)).one()
        uow.session.add(replace_receipt(original, second))
    summary = client.get(f"{API}/deliveries/{second}", headers=bearer(db, "demo-is")).get_json()
    assert [r["signature_status"] for r in summary["receipts"]] == ["invalid"]
    assert [r["code"] for r in summary["receipts"]] == ["receipt_mismatch"]
    assert instance_status(db, first_instance) == "completed"
    assert instance_status(db, second_instance) == "running"


def replace_receipt(original: Receipt, delivery_id: int) -> Receipt:
    return Receipt(delivery_id=delivery_id, statement=original.statement,
                   signer_kid=original.signer_kid, signature=original.signature,
                   received_at=original.received_at, acknowledged_by=original.acknowledged_by)


def test_acknowledging_twice_or_faking_the_receipt_message_changes_nothing(client, db):
    deploy(db)
    instance_id, case_id = start(db)
    record_consent(db, case_id)
    fill(db)
    assert run_outbox(db) == ["done"]
    with db.unit_of_work() as uow:
        delivery_id = uow.session.scalars(select(Delivery.id)).one()
    # The sender tries to resume its own instance without a receipt.
    fake = client.post(f"{API}/messages", headers=bearer(db, "demo-is"), json={
        "name": "accuse_reception", "message_id": "faux-1",
        "correlation": {"instance_id": instance_id, "transmission.delivery_id": delivery_id},
        "payload": {}})
    _problem(fake, 403, "reserved_message")
    assert instance_status(db, instance_id) == "running"

    headers = bearer(db, "demo-asso")
    assert client.post(f"{API}/deliveries/{delivery_id}/acknowledge",
                       headers=headers).status_code == 201
    before = _snapshot(db, delivery_id)
    _problem(client.post(f"{API}/deliveries/{delivery_id}/acknowledge", headers=headers),
             409, "already_acknowledged")
    assert _snapshot(db, delivery_id) == before
    assert len(actions(db, "routing.acknowledged")) == 1
    assert instance_status(db, instance_id) == "completed"
    _intact(db)


def test_unknown_delivery_ids_are_404_everywhere(client, db):
    headers = bearer(db, "demo-asso")
    for method, path in (("get", ""), ("get", "/document"), ("get", "/envelope"),
                         ("post", "/acknowledge")):
        _problem(getattr(client, method)(f"{API}/deliveries/424242{path}", headers=headers),
                 404, "delivery_not_found")
    assert len(actions(db, "routing.access_refused")) == 4
    _problem(client.get(f"{API}/deliveries/abc", headers=headers), 404, "not_found")
