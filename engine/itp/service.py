"""The ITP calendar: weekly sessions a council's secretariat opens, each with a capacity, and
the situations booked into them.

Guarantees:
- Only users holding `CG_ITP` in the council manage its sessions (plan, open, resize, cancel);
  every change is audited.
- `book` puts a situation into the earliest open session starting on or after the wanted day
  (and after now) that still has room: a full session sends it to the next one ("full → next
  week"). Concurrent bookings never exceed a capacity: the session row is locked
  (PostgreSQL) before counting. A retried connector (same outbox row) finds its booking
  again instead of booking twice.
- A session's capacity never drops below the situations already booked; a session with
  bookings is not cancelled (reschedule them first).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.audit import service as audit
from engine.audit.service import Actor
from engine.clock import paris
from engine.db import UnitOfWork
from engine.documents.render import french_date, french_datetime
from engine.identity.models import Organisation
from engine.identity.roles import Role
from engine.identity.service import Principal, require_role
from engine.itp.errors import ItpInvalid, NoSessionAvailable, SessionNotFound
from engine.itp.models import ItpBooking, ItpSession

MAX_CAPACITY = 30
MAX_WEEKS = 52


def _secretariat(principal: Principal) -> int:
    """The council whose ITP the principal runs (their CG_ITP grant)."""
    require_role(principal, Role.CG_ITP)
    return next(g.organisation_id for g in principal.grants if g.role == Role.CG_ITP)


def _check(capacity: int, place: str | None) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int) \
            or not 1 <= capacity <= MAX_CAPACITY:
        raise ItpInvalid(f"Capacité invalide : de 1 à {MAX_CAPACITY} situations par séance.",
                         [{"field": "capacity", "message": "Nombre de situations invalide."}])
    if place is not None and (not isinstance(place, str) or len(place) > 200):
        raise ItpInvalid("Lieu invalide (200 caractères au plus).",
                         [{"field": "place", "message": "Texte trop long."}])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=paris())


def open_session(uow: UnitOfWork, principal: Principal, starts_at: datetime, capacity: int,
                 place: str | None = None) -> ItpSession:
    """Open one session of the principal's council (an existing one at that time is kept)."""
    organisation_id = _secretariat(principal)
    _check(capacity, place)
    return _open(uow, principal.actor, organisation_id, _aware(starts_at), capacity, place)


def _open(uow: UnitOfWork, actor: Actor, organisation_id: int, starts_at: datetime,
          capacity: int, place: str | None) -> ItpSession:
    starts_at = starts_at.astimezone(UTC)
    existing = uow.session.scalars(select(ItpSession).where(
        ItpSession.organisation_id == organisation_id,
        ItpSession.starts_at == starts_at)).first()
    if existing is not None:
        return existing
    session = ItpSession(organisation_id=organisation_id, starts_at=starts_at,
                         capacity=capacity, place=place, created_by=actor.user_id,
                         created_at=uow.now())
    uow.session.add(session)
    uow.session.flush()
    audit.append(uow, actor, "itp.session_opened", subject_type="itp_session",
                 subject_id=session.id, organisation_id=organisation_id,
                 starts_at=starts_at.isoformat(), capacity=capacity)
    return session


def plan_weekly(uow: UnitOfWork, principal: Principal, first: datetime, weeks: int,
                capacity: int, place: str | None = None) -> list[ItpSession]:
    """Open `weeks` weekly sessions from `first` (local time kept across DST changes)."""
    organisation_id = _secretariat(principal)
    return plan(uow, principal.actor, organisation_id, first, weeks, capacity, place)


def plan(uow: UnitOfWork, actor: Actor, organisation_id: int, first: datetime, weeks: int,
         capacity: int, place: str | None = None) -> list[ItpSession]:
    """`plan_weekly` for a given council (the demo territory and the secretariat's API)."""
    _check(capacity, place)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        raise ItpInvalid(f"Nombre de semaines invalide : de 1 à {MAX_WEEKS}.",
                         [{"field": "weeks", "message": "Nombre de semaines invalide."}])
    local = _aware(first).astimezone(paris())
    return [_open(uow, actor, organisation_id,
                  datetime.combine(local.date() + timedelta(weeks=w), local.timetz()),
                  capacity, place) for w in range(weeks)]


def session_of(uow: UnitOfWork, principal: Principal, session_id: int) -> ItpSession:
    """A session of the principal's council; SessionNotFound for any other id."""
    organisation_id = _secretariat(principal)
    session = uow.session.get(ItpSession, session_id)
    if session is None or session.organisation_id != organisation_id:
        raise SessionNotFound()
    return session


def _booked(uow: UnitOfWork, session_id: int) -> int:
    return uow.session.scalar(select(func.count(ItpBooking.id))
                              .where(ItpBooking.session_id == session_id)) or 0


def resize(uow: UnitOfWork, principal: Principal, session_id: int, capacity: int) -> ItpSession:
    session = session_of(uow, principal, session_id)
    _check(capacity, None)
    booked = _booked(uow, session.id)
    if capacity < booked:
        raise ItpInvalid(f"{booked} situation(s) sont déjà inscrites à cette séance : la "
                         "capacité ne peut pas être inférieure.",
                         [{"field": "capacity", "message": "Inférieure aux inscriptions."}])
    session.capacity = capacity
    audit.append(uow, principal.actor, "itp.session_resized", subject_type="itp_session",
                 subject_id=session.id, organisation_id=session.organisation_id,
                 capacity=capacity)
    return session


def cancel(uow: UnitOfWork, principal: Principal, session_id: int) -> ItpSession:
    session = session_of(uow, principal, session_id)
    if _booked(uow, session.id):
        raise ItpInvalid("Des situations sont inscrites à cette séance : elle ne peut pas être "
                         "annulée.", [{"field": "session", "message": "Séance occupée."}],
                         code="itp_session_booked")
    if session.cancelled_at is None:
        session.cancelled_at = uow.now()
        audit.append(uow, principal.actor, "itp.session_cancelled", subject_type="itp_session",
                     subject_id=session.id, organisation_id=session.organisation_id)
    return session


def sessions(uow: UnitOfWork, principal: Principal, since: datetime | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
    """The principal's council's sessions from `since` (default: now), soonest first."""
    organisation_id = _secretariat(principal)
    rows = list(uow.session.scalars(
        select(ItpSession).where(ItpSession.organisation_id == organisation_id,
                                 ItpSession.starts_at >= (since or uow.now()))
        .order_by(ItpSession.starts_at).limit(limit)))
    return [describe(uow, s) for s in rows]


def describe(uow: UnitOfWork, session: ItpSession) -> dict[str, Any]:
    booked = _booked(uow, session.id)
    return {"id": session.id, "starts_at": session.starts_at.isoformat(),
            "label": french_datetime(session.starts_at), "capacity": session.capacity,
            "booked": booked, "available": max(0, session.capacity - booked),
            "place": session.place, "cancelled": session.cancelled_at is not None}


def book(uow: UnitOfWork, organisation: Organisation, *, instance_id: int, case_id: int,
         not_before: date | None, outbox_id: int | None) -> ItpSession:
    """Book the situation into the earliest open session with room, from `not_before`."""
    if outbox_id is not None:
        again = uow.session.scalars(select(ItpBooking)
                                    .where(ItpBooking.outbox_id == outbox_id)).first()
        if again is not None:
            session = uow.session.get(ItpSession, again.session_id)
            assert session is not None
            return session
    start = uow.now()
    if not_before is not None:
        start = max(start, datetime.combine(not_before, time(0, 0), tzinfo=paris()))
    candidates = select(ItpSession).where(
        ItpSession.organisation_id == organisation.id, ItpSession.starts_at >= start,
        ItpSession.cancelled_at.is_(None)).order_by(ItpSession.starts_at)
    if uow.dialect == "postgresql":
        candidates = candidates.with_for_update()
    for session in uow.session.scalars(candidates):
        if _booked(uow, session.id) < session.capacity:
            uow.session.add(ItpBooking(session_id=session.id, instance_id=instance_id,
                                       case_id=case_id, outbox_id=outbox_id,
                                       booked_at=uow.now()))
            uow.session.flush()
            audit.append(uow, audit.SYSTEM, "itp.situation_booked", subject_type="itp_session",
                         subject_id=session.id, organisation_id=organisation.id,
                         instance=instance_id, case=case_id)
            return session
    raise NoSessionAvailable(
        f"Aucune séance de l'ITP de {organisation.name} n'a de place à partir du "
        f"{french_date(start)} : le secrétariat doit ouvrir des séances (ou en augmenter la "
        "capacité), puis relancer l'inscription.")
