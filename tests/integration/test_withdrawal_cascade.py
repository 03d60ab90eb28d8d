"""Withdrawal and destruction cascade: future transmissions blocked, pending ones cancelled,
holders of copies notified, and on request everything the organisation holds shredded."""

from __future__ import annotations

import json

import pytest
from routing_support import (
    PURPOSE,
    TEMPLATES,
    actions,
    fill,
    principal,
    record_consent,
    run_outbox,
    sent,
)
from sqlalchemy import func, select

from engine.audit import service as audit
from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.consent import service as consent
from engine.consent.errors import ConsentRefused
from engine.consent.models import Consent
from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from engine.identity import service as identity
from engine.identity.errors import PermissionDenied
from engine.jobs import outbox
from engine.routing import notices
from engine.routing import service as routing
from engine.routing.models import Delivery
from engine.runtime import service as runtime
from engine.runtime.models import Incident, Message, OutboxItem


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))


def _second_instance(db, case_id) -> int:
    """Another transmission of the same case, filled: its outbox row waits, pending."""
    with transaction(db) as uow:
        instance = runtime.start_instance(uow, principal(uow, "demo-is"), "transmission",
                                          case_id)
        instance_id = instance.id
    fill(db)
    return instance_id


def _pending(db) -> list[int]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.status == "pending")))


def _withdraw(db, consent_id, **kw) -> consent.Cascade:
    with transaction(db) as uow:
        return consent.withdraw(uow, principal(uow, "demo-is"),
                                uow.session.get(Consent, consent_id), **kw)


def _authorize(db, case_id):
    with db.unit_of_work() as uow:
        return consent.authorize(uow, cases.get_case(uow, case_id),
                                 identity.get_organisation(uow, "asso-iscg-demo").id,
                                 identity.get_organisation(uow, "asso-victimes-demo").id,
                                 PURPOSE, ["SOC"], uow.now())


def test_withdrawal_blocks_cancels_and_notifies(db, clock):
    _instance_id, case_id, delivery_id = sent(db)
    with db.unit_of_work() as uow:
        [given] = uow.session.scalars(select(Consent.id)).all()
    second = _second_instance(db, case_id)
    [waiting] = _pending(db)

    clock.advance(minutes=5)
    cascade = _withdraw(db, given)
    assert cascade.cancelled_outbox == (waiting,) and cascade.notified_deliveries == (delivery_id,)
    assert not cascade.destroyed
    with pytest.raises(ConsentRefused) as refused:
        _authorize(db, case_id)
    assert refused.value.code == "consent_withdrawn"
    assert outbox.run_item(db, waiting) == "skipped"
    with db.unit_of_work() as uow:
        assert uow.session.get(OutboxItem, waiting).status == "cancelled"
        assert uow.session.scalar(select(func.count(Delivery.id))) == 1
        [incident] = uow.session.scalars(select(Incident)).all()
        assert incident.kind == "transmission_cancelled" and incident.instance_id == second
        assert "retiré le consentement" in incident.error
        message = uow.session.scalars(select(Message).where(
            Message.name == "consentement_retire")).one()
        assert json.loads(message.correlation) == {"case_id": case_id}
        [notice] = notices.notices_for(uow, principal(uow, "demo-asso"))
        assert notice["delivery_id"] == delivery_id and notice["kind"] == "consent_withdrawn"
        assert "retiré le consentement" in notice["message"]
        for outsider in ("demo-is", "demo-itp", "demo-police"):
            assert notices.notices_for(uow, principal(uow, outsider)) == []
    with transaction(db) as uow:  # the copy held is not destroyed by a mere withdrawal
        routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)

    again = _withdraw(db, given)  # idempotent: nothing more happens
    assert again.cancelled_outbox == () and again.notified_deliveries == ()
    assert [r.action for r in actions(db, "consent.withdrawn")] == ["consent.withdrawn"]
    [cancelled] = actions(db, "consent.transmission_cancelled")
    assert json.loads(cancelled.details)["outbox"] == waiting
    [notified] = actions(db, "consent.holders_notified")
    assert json.loads(notified.details)["deliveries"] == [delivery_id]


def test_a_transmission_another_live_consent_covers_is_not_cancelled(db, clock):
    _instance_id, case_id, _delivery_id = sent(db)
    clock.advance(minutes=1)
    newer = record_consent(db, case_id)
    _second_instance(db, case_id)
    clock.advance(minutes=1)
    with db.unit_of_work() as uow:
        first = uow.session.scalars(select(Consent.id).order_by(Consent.id)).first()
    assert _withdraw(db, first).cancelled_outbox == ()
    assert _authorize(db, case_id).consent_id == newer
    assert run_outbox(db) == ["done"]


def test_withdrawal_with_destruction_shreds_what_the_organisation_holds(db, clock):
    _instance_id, case_id, delivery_id = sent(db)
    with db.unit_of_work() as uow:
        [given] = uow.session.scalars(select(Consent.id)).all()
    _second_instance(db, case_id)
    clock.advance(minutes=5)
    cascade = _withdraw(db, given, destroy=True)
    assert cascade.destroyed and len(cascade.cancelled_outbox) == 1
    with transaction(db) as uow, pytest.raises(CaseKeyDestroyed):
        routing.open_document(uow, principal(uow, "demo-asso"), delivery_id)
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        assert case.wrapped_key is None and case.key_destroyed_reason == "destruction_request"
        with pytest.raises(CaseKeyDestroyed):
            cases.read_record(uow, principal(uow, "demo-is").actor, case,
                              cases.records_of(uow, case)[0])
        kinds = sorted(n["kind"] for n in notices.notices_for(uow, principal(uow, "demo-asso")))
        assert kinds == ["consent_withdrawn", "data_destroyed"]
        summary = routing.delivery_summary(uow, principal(uow, "demo-is"), delivery_id)
        assert summary["signature"]["status"] == "valid" and summary["destroyed_at"]
        assert audit.verify(uow).ok
    [shredded] = actions(db, "case.key_destroyed")
    assert json.loads(shredded.details)["reason"] == "destruction_request"
    assert [r.action for r in actions(db, "consent.destruction_requested")] == \
        ["consent.destruction_requested"]


def test_only_the_case_organisation_withdraws_or_destroys(db):
    _instance_id, case_id, _delivery_id = sent(db)
    with db.unit_of_work() as uow:
        [given] = uow.session.scalars(select(Consent.id)).all()
    for outsider in ("demo-asso", "demo-admin"):
        with transaction(db) as uow:
            with pytest.raises(PermissionDenied):
                consent.withdraw(uow, principal(uow, outsider), uow.session.get(Consent, given))
            with pytest.raises(PermissionDenied):
                consent.request_destruction(uow, principal(uow, outsider),
                                            cases.get_case(uow, case_id))
    with db.unit_of_work() as uow:
        assert uow.session.get(Consent, given).withdrawn_at is None
        assert cases.get_case(uow, case_id).wrapped_key is not None
