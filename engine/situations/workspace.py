"""The professional's lists: tasks with their situation and person, received documents with
the situation they were filed in, and the home page that gathers them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.cases.models import Case
from engine.db import UnitOfWork
from engine.dossiers.models import Piece
from engine.identity.models import Organisation
from engine.identity.service import Principal
from engine.itp import service as itp
from engine.itp.models import ItpBooking
from engine.routing import service as routing
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance
from engine.situations import filing, service
from engine.situations.detail import startable

HOME_TASKS = 10
HOME_SITUATIONS = 5


@dataclass
class TaskRow:
    id: int
    name: str
    protocol: str
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    case_id: int | None  # set when the viewer may open the situation
    reference: str
    person: str


def tasks_signature(rows: list[TaskRow]) -> str:
    """A short fingerprint of a task list (which tasks, their due dates and overdue marks):
    the refreshing page replaces its list only when this changes. Ids only, no names."""
    text = ";".join(f"{r.id}:{r.due_at}:{r.overdue}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def my_tasks(uow: UnitOfWork, principal: Principal) -> list[TaskRow]:
    """The principal's ready tasks, each with its situation's reference and person (when the
    principal's organisation holds the situation), due date and overdue mark."""
    tasks = runtime.worklist(uow, principal)
    if not tasks:
        return []
    ids = [t["id"] for t in tasks]
    rows = uow.session.execute(
        select(HumanTask.id, HumanTask.due_at, Case)
        .join(Instance, Instance.id == HumanTask.instance_id)
        .join(Case, Case.id == Instance.case_id).where(HumanTask.id.in_(ids))).all()
    due = {task_id: due_at for task_id, due_at, _case in rows}
    case_of = {task_id: case for task_id, _due, case in rows}
    visible = [c.id for c in case_of.values() if principal.can_see(c)]
    people = {r.id: ", ".join(r.people) for r in service.rows_for(uow, principal, visible)}
    names = service.protocol_names(uow, {t["process_id"] for t in tasks})
    now = uow.now()
    return [TaskRow(
        id=t["id"], name=t["name"], protocol=names[t["process_id"]],
        created_at=datetime.fromisoformat(t["created_at"]), due_at=due.get(t["id"]),
        overdue=bool(due.get(t["id"]) and due[t["id"]] < now),
        case_id=case_of[t["id"]].id if case_of[t["id"]].id in people else None,
        reference=case_of[t["id"]].reference, person=people.get(case_of[t["id"]].id, ""))
        for t in tasks]


def received(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    """The inbox, each delivery with the situation it was filed in (when the principal's
    organisation filed it)."""
    deliveries = routing.inbox(uow, principal)
    if not deliveries:
        return []
    filed = dict(uow.session.execute(
        select(Piece.delivery_id, Piece.case_id)
        .where(Piece.delivery_id.in_([d["id"] for d in deliveries]))).all())
    cases = {c.id: c for c in uow.session.scalars(
        select(Case).where(Case.id.in_(set(filed.values()))))} if filed else {}
    names = service.protocol_names(uow, {d["process_id"] for d in deliveries
                                         if d["process_id"]})
    senders = dict(uow.session.execute(select(Organisation.slug, Organisation.name).where(
        Organisation.slug.in_({d["sender_organisation"] for d in deliveries}))).all())
    purposes = filing.purposes_filed_by(uow, principal)
    waiting = filing.being_filed(uow) if purposes else set()
    out = []
    for d in deliveries:
        case = cases.get(filed.get(d["id"], 0))
        seen = case is not None and principal.can_see(case)
        out.append({**d, "protocol": names.get(d["process_id"] or "", ""),
                    "fileable": d["id"] not in filed and d["id"] not in waiting
                    and d.get("purpose") in purposes,
                    "sender_name": senders.get(d["sender_organisation"], ""),
                    "received_at": datetime.fromisoformat(d["received_at"])
                    if d["received_at"] else None,
                    "case_id": case.id if seen else None,
                    "reference": case.reference if seen else ""})
    return out


@dataclass
class Where:
    protocol: str
    reference: str
    person: str
    case_id: int | None  # set when the viewer may open the situation


def where(uow: UnitOfWork, principal: Principal, instance: Instance) -> Where:
    """The protocol, situation and person a task or instance page is about."""
    case = uow.session.get(Case, instance.case_id)
    assert case is not None
    rows = service.rows_for(uow, principal, [case.id])
    return Where(protocol=service.protocol_names(uow, [instance.process_id])[instance.process_id],
                 reference=case.reference, person=", ".join(rows[0].people) if rows else "",
                 case_id=case.id if rows else None)


@dataclass
class Home:
    tasks: list[TaskRow]
    unread: list[dict[str, Any]]
    situations: list[service.SituationRow]
    startable: list[tuple[str, str]]
    follows: bool
    receives: bool


def home(uow: UnitOfWork, principal: Principal) -> Home:
    """What a professional's home page shows: their tasks, unread documents, recent
    situations (for organisations that hold them), the protocols they may start."""
    follows = service.may_follow(principal)
    recent = service.my_situations(uow, principal, 1, HOME_SITUATIONS).rows if follows else []
    return Home(tasks=my_tasks(uow, principal)[:HOME_TASKS],
                unread=[d for d in received(uow, principal) if d["status"] == routing.DELIVERED],
                situations=recent, startable=startable(uow, principal), follows=follows,
                receives=service.may_receive(principal))


@dataclass
class Booked:
    instance_id: int
    protocol: str
    reference: str
    decision_task_id: int | None = None  # the session's decision to record, when it is due


AGENDA_PAST_DAYS = 14  # held sessions stay on the agenda while their decisions are recorded
DECISION_FORM = "itp_decision.json"


def itp_agenda(uow: UnitOfWork, principal: Principal) -> list[tuple[dict[str, Any],
                                                                     list[Booked]]]:
    """The ITP secretariat's sessions, from two weeks ago on (`itp.sessions` checks the
    role), each with the requests booked into it, linked to their protocol and, once the
    session is held, to the decision record to enter (the protocol's own task)."""
    sessions = itp.sessions(uow, principal,
                            since=uow.now() - timedelta(days=AGENDA_PAST_DAYS))
    rows = uow.session.execute(
        select(ItpBooking.session_id, Instance.id, Instance.process_id, Case.reference)
        .join(Instance, Instance.id == ItpBooking.instance_id)
        .join(Case, Case.id == ItpBooking.case_id)
        .where(ItpBooking.session_id.in_([s["id"] for s in sessions]))
        .order_by(ItpBooking.booked_at)).all() if sessions else []
    names = service.protocol_names(uow, {r[2] for r in rows})
    decisions = {t.instance_id: t.id for t in uow.session.scalars(select(HumanTask).where(
        HumanTask.instance_id.in_([r[1] for r in rows]), HumanTask.state == "ready",
        HumanTask.form == DECISION_FORM)) if runtime.may_act(principal, t)} if rows else {}
    booked: dict[int, list[Booked]] = {}
    for session_id, instance_id, process_id, reference in rows:
        booked.setdefault(session_id, []).append(Booked(instance_id, names[process_id],
                                                        reference, decisions.get(instance_id)))
    return [(s, booked.get(s["id"], [])) for s in sessions]
