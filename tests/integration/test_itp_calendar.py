"""The ITP calendar: the secretariat opens weekly sessions with a capacity; a situation goes
to the first session with room from the wanted day (full → next week); a retried booking is
not booked twice; capacities never drop below the bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import bearer
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.itp import service as itp
from engine.itp.errors import ItpInvalid, NoSessionAvailable
from engine.itp.models import ItpSession
from engine.runtime import service as runtime

API = "/api/v1"


def _situation(db, n: int = 1) -> list[tuple[int, int]]:
    """(instance id, case id) of `n` ITP requests (nothing else needed to book them)."""
    made = []
    with transaction(db) as uow:
        who = identity.principal_for(identity.get_user(uow, "demo-is"))
        for _ in range(n):
            instance = runtime.start_instance(uow, who, "itp_synthese")
            made.append((instance.id, instance.case_id))
    return made


def _book(db, instance_id: int, case_id: int, not_before: date | None = None,
          outbox_id: int | None = None) -> ItpSession:
    with transaction(db) as uow:
        council = identity.get_organisation(uow, "cd-demo")
        session = itp.book(uow, council, instance_id=instance_id, case_id=case_id,
                           not_before=not_before, outbox_id=outbox_id)
        uow.session.expunge(session)
        return session


def test_a_full_session_sends_the_situation_to_the_next_week(db, clock):
    with transaction(db) as uow:
        council = identity.get_organisation(uow, "cd-demo")
        first = datetime(2030, 1, 8, 13, 0, tzinfo=UTC)
        planned = itp.plan(uow, SYSTEM, council.id, first, 3, 2)
        assert [s.starts_at for s in planned] == [first + timedelta(weeks=w) for w in range(3)]
        assert itp.plan(uow, SYSTEM, council.id, first, 3, 2)[0].id == planned[0].id
    a, b, c = _situation(db, 3)
    wanted = date(2030, 1, 7)
    assert _book(db, *a, wanted).starts_at == first
    assert _book(db, *b, wanted).starts_at == first
    assert _book(db, *c, wanted).starts_at == first + timedelta(weeks=1)  # full → next week
    assert _book(db, *a, wanted, outbox_id=41).starts_at == first + timedelta(weeks=1)
    assert _book(db, *a, wanted, outbox_id=41).starts_at == first + timedelta(weeks=1)  # retried
    with db.unit_of_work() as uow:
        described = [itp.describe(uow, s) for s in uow.session.scalars(
            select(ItpSession).where(ItpSession.starts_at >= first)
            .order_by(ItpSession.starts_at))]
    assert [(d["booked"], d["available"]) for d in described] == [(2, 0), (2, 0), (0, 2)]


def test_no_session_with_room_is_a_clear_refusal(db):
    [a] = _situation(db)
    with pytest.raises(NoSessionAvailable) as refused:
        _book(db, *a, date(2040, 1, 1))
    assert "ouvrir des séances" in refused.value.message


def test_the_secretariat_manages_its_calendar_through_the_api(client, db):
    itp_user, others = bearer(db, "demo-itp"), bearer(db, "demo-is")
    weekly = client.post(f"{API}/itp/sessions/weekly", headers=itp_user,
                         json={"starts_at": "2031-03-04T14:00:00+01:00", "weeks": 5,
                               "capacity": 3, "place": "Salle B"})
    assert weekly.status_code == 201, weekly.get_json()
    sessions = weekly.get_json()
    # 14:00 in Paris each week, across the change to summer time (30 March 2031).
    assert [s["starts_at"][11:16] for s in sessions] == \
        ["13:00", "13:00", "13:00", "13:00", "12:00"]
    assert sessions[0]["label"] == "4 mars 2031 à 14 h 00"
    listed = client.get(f"{API}/itp/sessions?since=2031-03-01T00:00:00Z", headers=itp_user)
    assert [s["id"] for s in listed.get_json()][:5] == [s["id"] for s in sessions]
    [a] = _situation(db)
    _book(db, *a, date(2031, 3, 1))
    smaller = client.patch(f"{API}/itp/sessions/{sessions[0]['id']}", headers=itp_user,
                           json={"capacity": 1})
    assert smaller.status_code == 200 and smaller.get_json()["available"] == 0
    too_small = client.patch(f"{API}/itp/sessions/{sessions[0]['id']}", headers=itp_user,
                             json={"cancelled": True})
    assert too_small.status_code == 422 and too_small.get_json()["code"] == "itp_session_booked"
    cancelled = client.patch(f"{API}/itp/sessions/{sessions[1]['id']}", headers=itp_user,
                             json={"cancelled": True})
    assert cancelled.get_json()["cancelled"] is True
    assert client.get(f"{API}/itp/sessions", headers=others).status_code == 403
    assert client.patch(f"{API}/itp/sessions/{sessions[0]['id']}", headers=others,
                        json={"capacity": 5}).status_code == 403
    with transaction(db) as uow, pytest.raises(ItpInvalid):
        itp.resize(uow, identity.principal_for(identity.get_user(uow, "demo-itp")),
                   sessions[0]["id"], 0)
