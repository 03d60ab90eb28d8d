"""The platform administrator sees an instance's situation only when a legal review grants
it (issue 9 item 10): asked with a reason, answered once by a professional of the
organisation that holds the situation, for a limited time; everything audited."""

from __future__ import annotations

import pytest
from protocol_support import Territory
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.cases.disclosure import DISCLOSURE_DAYS


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def _ask(t: Territory, instance_id: int, reason: str = "Incident à examiner avec le "
         "service (demande du RSSI)", status: int = 201) -> dict:
    return t.post("demo-admin", f"/admin/instances/{instance_id}/case-disclosure",
                  {"reason": reason}, status=status)


def _actions(db) -> list[str]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("case.disclosure%")).order_by(AuditEntry.seq)))


def test_an_approved_disclosure_shows_the_case_to_that_administrator_for_a_while(t, db, clock):
    minor = t.start("demo-is", "convocation_mineurs")
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None

    asked = _ask(t, minor["id"])
    assert asked["status"] == "pending" and asked["case_id"] is None
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None

    [waiting] = t.get("demo-is", "/case-disclosures")
    assert waiting["id"] == asked["id"] and waiting["case_id"] == minor["case_id"]
    answered = t.post("demo-is", f"/case-disclosures/{asked['id']}/answer", {"approve": True})
    assert answered["status"] == "approved"
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] == minor["case_id"]
    assert t.get("demo-is", "/case-disclosures") == []

    clock.advance(days=DISCLOSURE_DAYS + 1)
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None
    assert _actions(db) == ["case.disclosure_requested", "case.disclosure_answered"]


def test_a_refused_disclosure_shows_nothing_and_is_answered_once(t, db):
    minor = t.start("demo-is", "convocation_mineurs")
    asked = _ask(t, minor["id"])
    assert t.post("demo-is", f"/case-disclosures/{asked['id']}/answer",
                  {"approve": False})["status"] == "refused"
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None
    t.post("demo-is", f"/case-disclosures/{asked['id']}/answer", {"approve": True},
           status=409)
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None


def test_only_the_holding_organisation_answers_and_never_the_administrator(t):
    minor = t.start("demo-is", "convocation_mineurs")
    asked = _ask(t, minor["id"])
    for outsider in ("demo-police", "demo-admin", "demo-asso"):
        t.post(outsider, f"/case-disclosures/{asked['id']}/answer", {"approve": True},
               status=404)
        assert t.get(outsider, "/case-disclosures") == []
    assert t.get("demo-admin", f"/instances/{minor['id']}")["case_id"] is None


def test_only_an_administrator_asks_and_always_with_a_reason(t, db):
    minor = t.start("demo-is", "convocation_mineurs")
    t.post("demo-is", f"/admin/instances/{minor['id']}/case-disclosure",
           {"reason": "curiosité"}, status=403)
    _ask(t, minor["id"], reason="", status=422)
    _ask(t, minor["id"], reason="x" * 501, status=422)
    _ask(t, 987654, status=404)
    assert _actions(db) == []
