"""A withdrawn consent stays withdrawn: `relais/record_consent` turns only a decision form
completed in its own instance into a consent, once, and never a decision older than the
person's last withdrawal of that scope."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from routing_support import principal, record_consent
from sqlalchemy import func, select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.errors import ConsentInvalid, ConsentRefused
from engine.consent.models import Consent
from engine.db import transaction
from engine.identity import service as identity
from engine.jobs import outbox
from engine.runtime import service as runtime
from engine.runtime.models import Incident, Instance, OutboxItem

FIXTURES = Path(__file__).parents[1] / "fixtures"
ANSWER = {"presented": True, "decision": "granted", "channel": "oral"}
RECIPIENT, PURPOSE = "asso-victimes-demo", "vc_transmission"

SERVICE = """
    <bpmn:serviceTask id="{id}" name="Enregistrer la décision">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="relais/record_consent" resultVariable="{id}_res">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="record" type="int" value="{record}"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:serviceTask>"""

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="Definitions_{pid}" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="{pid}" name="Recueil" isExecutable="true">
    <bpmn:laneSet id="LaneSet_{pid}">
      <bpmn:lane id="Lane_IS" name="IS">{refs}</bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    {body}
    <bpmn:endEvent id="end"><bpmn:incoming>f{last}</bpmn:incoming></bpmn:endEvent>
    {flows}
  </bpmn:process>
</bpmn:definitions>
"""

USER_TASK = """
    <bpmn:userTask id="consentement" name="Recueillir le consentement">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="consentement.json"/>
        <spiffworkflow:property name="prefill.purposes" value="['vc_transmission']"/>
        <spiffworkflow:property name="prefill.recipients" value="['asso-victimes-demo']"/>
        <spiffworkflow:property name="prefill.categories" value="['ID', 'SOC']"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>"""


def _diagram(pid: str, records: list[str], *, with_form: bool) -> bytes:
    """start → [consent form] → one `relais/record_consent` per record value → end."""
    nodes, body, step = ["start", "end"], "", 0
    if with_form:
        nodes.append("consentement")
        body += USER_TASK
        step = 1
    for n, record in enumerate(records):
        nodes.append(f"enregistrer{n}")
        body += SERVICE.format(id=f"enregistrer{n}", record=record, incoming=f"f{step}",
                               outgoing=f"f{step + 1}")
        step += 1
    chain = ["start", *(["consentement"] if with_form else []),
             *(f"enregistrer{n}" for n in range(len(records))), "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(pairwise(chain)))
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    return DIAGRAM.format(pid=pid, refs=refs, body=body, last=step, flows=flows).encode()


def _deploy(db, pid: str, content: bytes) -> None:
    with transaction(db) as uow:
        runtime.deploy(uow, SYSTEM, {f"{pid}.bpmn": content}, source="cli")


def _start(db, pid: str, case_id: int | None = None) -> tuple[int, int]:
    with transaction(db) as uow:
        instance = runtime.start_instance(uow, principal(uow, "demo-is"), pid, case_id)
        return instance.id, instance.case_id


def _complete_form(db, answer: dict | None = None) -> int:
    """Complete the ready consent form as demo-is; the id of the record it stored."""
    with transaction(db) as uow:
        who = principal(uow, "demo-is")
        [task] = runtime.ready_tasks(uow, who)
        instance = runtime.complete_task(uow, who, task.id, answer or ANSWER)
        return next(r.id for r in reversed(cases.records_of(
            uow, cases.get_case(uow, instance.case_id), kind="form"))
            if r.instance_id == instance.id)


def _run_outbox(db) -> list[str]:
    with db.unit_of_work() as uow:
        ids = list(uow.session.scalars(select(OutboxItem.id).where(
            OutboxItem.status == "pending").order_by(OutboxItem.id)))
    return [outbox.run_item(db, i) for i in ids]


def _consents(db) -> list[tuple[int, str]]:
    """(id, decision) of every consent, oldest first."""
    with db.unit_of_work() as uow:
        return [(c.id, c.decision) for c in uow.session.scalars(
            select(Consent).order_by(Consent.id))]


def _authorize(db, case_id: int):
    with db.unit_of_work() as uow:
        case = cases.get_case(uow, case_id)
        return consent.authorize(uow, case, case.organisation_id,
                                 identity.get_organisation(uow, RECIPIENT).id, PURPOSE,
                                 ["SOC"], uow.now())


def _incident_errors(db, instance_id: int) -> list[str]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(select(Incident.error).where(
            Incident.instance_id == instance_id)))


def _withdraw(db, consent_id: int) -> None:
    with transaction(db) as uow:
        consent.withdraw(uow, principal(uow, "demo-is"), uow.session.get(Consent, consent_id))


def _granted_by_checkpoint(db) -> tuple[int, int, int]:
    """A consent given through a form of a first instance: (case id, record id, consent id)."""
    _deploy(db, "recueil", _diagram("recueil", ["record_consentement"], with_form=True))
    _instance, case_id = _start(db, "recueil")
    record_id = _complete_form(db)
    assert _run_outbox(db) == ["done"]
    [(given, decision)] = _consents(db)
    assert decision == "granted"
    return case_id, record_id, given


def test_an_old_form_reused_after_withdrawal_in_a_new_instance_revives_nothing(db, clock):
    case_id, record_id, given = _granted_by_checkpoint(db)
    clock.advance(minutes=5)
    _withdraw(db, given)
    clock.advance(minutes=5)
    _deploy(db, "reprise", _diagram("reprise", [str(record_id)], with_form=False))
    instance_id, same_case = _start(db, "reprise", case_id)
    assert same_case == case_id

    assert _run_outbox(db) == ["refused"]
    assert _consents(db) == [(given, "granted")]
    assert any("ce protocole" in e for e in _incident_errors(db, instance_id))
    with pytest.raises(ConsentRefused) as refused:
        _authorize(db, case_id)
    assert refused.value.code == "consent_withdrawn"


def test_a_form_from_another_instance_of_the_same_case_is_refused(db, clock):
    case_id, record_id, given = _granted_by_checkpoint(db)
    _deploy(db, "reprise", _diagram("reprise", [str(record_id)], with_form=False))
    instance_id, _case = _start(db, "reprise", case_id)
    assert _run_outbox(db) == ["refused"]
    assert _consents(db) == [(given, "granted")]
    with db.unit_of_work() as uow:
        assert uow.session.get(Instance, instance_id).status == "running"


def test_one_form_gives_rise_to_one_consent_only(db, clock):
    _deploy(db, "deux_fois", _diagram("deux_fois", ["record_consentement"] * 2,
                                      with_form=True))
    instance_id, _case = _start(db, "deux_fois")
    _complete_form(db)
    assert _run_outbox(db) == ["done"]
    assert _run_outbox(db) == ["refused"]
    assert len(_consents(db)) == 1
    assert any("déjà été enregistrée" in e for e in _incident_errors(db, instance_id))


def test_a_new_decision_after_the_withdrawal_is_recorded_and_authorises(db, clock):
    case_id, _record_id, given = _granted_by_checkpoint(db)
    clock.advance(minutes=5)
    _withdraw(db, given)
    clock.advance(minutes=5)
    _start(db, "recueil", case_id)
    _complete_form(db)
    assert _run_outbox(db) == ["done"]
    newer, decision = _consents(db)[-1]
    assert newer != given and decision == "granted"
    assert _authorize(db, case_id).consent_id == newer


def test_a_decision_dated_before_the_withdrawal_cannot_be_recorded(db, clock):
    case_id, _record_id, given = _granted_by_checkpoint(db)
    before = clock.now()
    clock.advance(minutes=5)
    _withdraw(db, given)
    clock.advance(minutes=5)
    with pytest.raises(ConsentInvalid) as refused:
        record_consent(db, case_id, purposes=[PURPOSE], recipients=[RECIPIENT],
                       categories=["SOC"], given_at=before)
    assert refused.value.code == "consent_withdrawn_earlier"
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count(Consent.id))) == 1
    # Another recipient was never withdrawn; a decision dated now is a new decision.
    record_consent(db, case_id, recipients=["cmp-demo"], categories=["SOC"], given_at=before)
    assert record_consent(db, case_id, purposes=[PURPOSE], recipients=[RECIPIENT],
                          categories=["SOC"]) > given
