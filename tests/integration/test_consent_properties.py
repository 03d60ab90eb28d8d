"""Property tests of the transmission policy (hypothesis), on SQLite and PostgreSQL.

Generated: histories of consents (purposes, recipients, categories, decisions, dates of
consent, expiry and withdrawal, new versions), legal-basis records (basis, author, justification,
information step, review), and transmission requests (sender, recipient, purpose, categories).
Proved, against predicates written independently of `engine.consent.policy`:
- soundness: whatever is authorised rests on one consent that covers this person's case,
  purpose, recipient, categories and sender and is live, or on one legal basis whose every
  condition holds; and the recipient may receive those categories at all;
- completeness: a covering live consent (not contradicted by a later refusal) or a valid legal
  basis does authorise;
- expired, withdrawn, superseded or out-of-scope consents never authorise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from consent_support import AUTHORS, add_test_territory
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from routing_support import principal
from sqlalchemy import select

from engine.cases import service as cases
from engine.consent import service as consent
from engine.consent.catalogue import LEGAL_BASES
from engine.consent.errors import ConsentRefused
from engine.consent.models import Consent, LegalReview
from engine.identity import service as identity
from engine.identity.models import Membership, Organisation

PURPOSES = ("vc_transmission", "fiche_liaison", "itp_presentation")
RECIPIENTS = ("asso-victimes-demo", "cd-demo", "cmp-demo", "commissariat-demo",
              "mairie-test", "ccas-test", "brigade-test", "asso-test")
SENDERS = ("asso-iscg-demo", "cmp-demo")  # the case is asso-iscg-demo's
CATEGORIES = ("ID", "SOC", "HEALTH", "OFF", "MINOR", "THIRD")
# The number of examples comes from the Hypothesis profile (tests/conftest.py).
PROPERTY_SETTINGS = settings(deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow])


@pytest.fixture
def world(db):
    add_test_territory(db)
    return db


# --- strategies ----------------------------------------------------------------------------

KINDS = {"asso-victimes-demo": "association", "cd-demo": "departmental_council",
         "cmp-demo": "cmp", "commissariat-demo": "police", "mairie-test": "commune",
         "ccas-test": "ccas", "brigade-test": "gendarmerie", "asso-test": "association"}
CATEGORY_POOL = ("SOC", "SOC", "ID", "ID", "MINOR", "OFF", "HEALTH", "THIRD")


def _some(values, at_least=()) -> st.SearchStrategy[set[str]]:
    """`at_least` plus a few of `values` (never empty)."""
    return st.sets(st.sampled_from(values), min_size=0 if at_least else 1,
                   max_size=3).map(lambda extra: set(at_least) | extra)


@st.composite
def consent_near(draw, recipient: str, purpose: str, categories: set[str]) -> dict:
    """A consent that, half of the time, names this request's purpose, recipient and
    categories — then dates, decision, expiry, withdrawal and versions decide."""
    cover = draw(st.sampled_from([True, True, False]))
    return {"purposes": draw(_some(PURPOSES, {purpose} if cover else ())),
            "recipients": draw(_some(RECIPIENTS, {recipient} if cover else ())),
            "categories": draw(_some(CATEGORIES, categories if cover else ())),
            "decision": draw(st.sampled_from(["granted", "granted", "refused"])),
            "given_days": draw(st.integers(-90, 3)),  # relative to the request
            "expires_after": draw(st.none() | st.integers(1, 120)),
            "withdrawn_after": draw(st.sampled_from([None, None]) | st.integers(0, 120)),
            "new_version": draw(st.booleans())}


@st.composite
def record_near(draw, recipient: str) -> dict:
    """A legal-basis record that often suits this recipient and is often by a role allowed
    to invoke it; justification, information step and review vary."""
    suited = sorted(c for c, b in LEGAL_BASES.items() if KINDS[recipient] in b.recipient_kinds)
    code = draw(st.sampled_from(suited or sorted(LEGAL_BASES)) | st.sampled_from(
        sorted(LEGAL_BASES)))
    allowed = sorted(u for u, (_o, role) in AUTHORS.items()
                     if role in LEGAL_BASES[code].roles)
    return {"legal_basis": code,
            "author": draw(st.sampled_from(allowed or sorted(AUTHORS))
                           | st.sampled_from(sorted(AUTHORS))),
            "justification": draw(st.sampled_from(["Danger immédiat."] * 4 + ["", "   "])),
            "information": draw(st.sampled_from(sorted(LEGAL_BASES[code].information))
                                | st.sampled_from(["informed",
                                                   "not_informed_contrary_to_interest",
                                                   "not_applicable"])),
            "reason": draw(st.sampled_from([None, "", "Informer exposerait l'enfant."])),
            "review": draw(st.sampled_from([None, "pending", "approved", "approved",
                                            "rejected"]))}


@st.composite
def scenarios(draw, records_size: tuple[int, int] = (0, 2)) -> tuple[list[dict], list[dict],
                                                                    dict]:
    """(consents, legal-basis records, request) around one request."""
    recipient = draw(st.sampled_from(RECIPIENTS))
    purpose = draw(st.sampled_from(PURPOSES))
    records = draw(st.lists(record_near(recipient), min_size=records_size[0],
                            max_size=records_size[1]))
    basis_index = draw(st.sampled_from([None, 0, 0, 1])) if records else None
    pool: tuple[str, ...] = CATEGORY_POOL
    if basis_index is not None and basis_index < len(records) and draw(st.booleans()):
        pool = tuple(sorted(LEGAL_BASES[records[basis_index]["legal_basis"]].categories))
    categories = draw(st.sets(st.sampled_from(pool), min_size=1, max_size=2))
    history = draw(st.lists(consent_near(recipient, purpose, categories), max_size=4))
    request = {"sender": draw(st.sampled_from(("asso-iscg-demo",) * 3 + ("cmp-demo",))),
               "recipient": recipient, "purpose": purpose, "categories": categories,
               "basis_index": basis_index}
    return history, records, request


# --- building a generated history ----------------------------------------------------------

@dataclass
class World:
    case_id: int
    at: datetime
    consents: list[Consent]
    records: list[tuple[int, dict]]


def _build(uow, history: list[dict], basis_records: list[dict]) -> World:
    is_ = principal(uow, "demo-is")
    case = cases.open_case(uow, is_, is_.primary_organisation_id)
    at = uow.now()
    made: list[Consent] = []
    withdrawals: list[tuple[Consent, datetime]] = []
    for spec in history:
        given_at = at + timedelta(days=spec["given_days"])
        expires = given_at + timedelta(days=spec["expires_after"]) \
            if spec["expires_after"] is not None else None
        previous = made[-1] if spec["new_version"] and made \
            and consent.superseded_by(uow, made[-1]) is None else None
        row = consent.record_consent(
            uow, is_, case, purposes=sorted(spec["purposes"]),
            recipients=sorted(spec["recipients"]), categories=sorted(spec["categories"]),
            channel="oral", decision=spec["decision"], given_at=given_at, expires_at=expires,
            supersedes=previous)
        if spec["withdrawn_after"] is not None:
            withdrawals.append((row, given_at + timedelta(days=spec["withdrawn_after"])))
        made.append(row)
    # History as it was recorded back then: withdrawals come after the decisions they end
    # (a decision dated before a withdrawal of its scope can no longer be recorded).
    for row, withdrawn_at in withdrawals:
        row.withdrawn_at = withdrawn_at
    made_records = []
    for spec in basis_records:
        author = identity.get_user(uow, spec["author"])
        org = identity.get_organisation(uow, AUTHORS[spec["author"]][0])
        payload = {"legal_basis": spec["legal_basis"], "justification": spec["justification"],
                   "information": spec["information"]}
        if spec["reason"] is not None:
            payload["information_reason"] = spec["reason"]
        record = cases.store_record(uow, identity.principal_for(author).actor, case,
                                    kind="form", payload=payload, categories={"SOC"},
                                    organisation_id=org.id, form="base_legale.json")
        if spec["review"] is not None:
            decided = spec["review"] != "pending"
            uow.session.add(LegalReview(
                case_id=case.id, organisation_id=org.id, legal_basis=spec["legal_basis"],
                legal_basis_record_id=record.id, opened_at=at, opened_by=author.id,
                decision=spec["review"] if decided else None,
                # answered by another person than the author (the policy refuses a review
                # answered by the record's author)
                decided_at=at if decided else None,
                decided_by=identity.get_user(uow, "demo-admin").id if decided else None))
        made_records.append((record.id, spec))
    uow.session.flush()
    return World(case.id, at, made, made_records)


# --- the rules, written independently ------------------------------------------------------

def _capable(recipient: Organisation, categories: set[str], sender: Organisation, *,
             by_consent: bool) -> bool:
    """HEALTH to a CMP, or under a consent to an association, police or gendarmerie; OFF
    held and received only by authorised organisations."""
    health_ok = recipient.kind == "cmp" or (
        by_consent and recipient.kind in {"association", "police", "gendarmerie"})
    return ("HEALTH" not in categories or health_ok) \
        and ("OFF" not in categories
             or (recipient.offence_data_authorised and sender.offence_data_authorised))


def _superseded(consents: list[Consent], at: datetime) -> set[int]:
    return {c.supersedes_id for c in consents if c.supersedes_id and c.given_at <= at}


def _covering(c: Consent, consents: list[Consent], request: dict, recipient: Organisation,
              sender_id: int, at: datetime) -> bool:
    """This consent alone would justify the transmission (ignoring later refusals)."""
    return (c.decision == "granted" and c.given_at <= at
            and c.id not in _superseded(consents, at)
            and (c.expires_at is None or c.expires_at > at)
            and (c.withdrawn_at is None or c.withdrawn_at > at)
            and request["purpose"] in json.loads(c.purposes)
            and recipient.id in json.loads(c.recipients)
            and set(request["categories"]) <= set(json.loads(c.categories))
            and c.organisation_id == sender_id)


def _latest_named_is_refusal(consents: list[Consent], request: dict, recipient: Organisation,
                             at: datetime) -> bool:
    named = [c for c in consents if c.given_at <= at and c.id not in _superseded(consents, at)
             and request["purpose"] in json.loads(c.purposes)
             and recipient.id in json.loads(c.recipients)]
    named.sort(key=lambda c: (c.given_at, c.id))
    return bool(named) and named[-1].decision == "refused"


def _valid_basis(uow, record_id: int, spec: dict, request: dict,
                 recipient: Organisation) -> bool:
    basis = LEGAL_BASES[spec["legal_basis"]]
    slug, _role = AUTHORS[spec["author"]]
    org = identity.get_organisation(uow, slug)
    roles = set(uow.session.scalars(select(Membership.role).where(
        Membership.user_id == identity.get_user(uow, spec["author"]).id,
        Membership.organisation_id == org.id)))
    reason_ok = spec["information"] != "not_informed_contrary_to_interest" \
        or bool((spec["reason"] or "").strip())
    return (bool(roles & basis.roles) and bool(spec["justification"].strip())
            and spec["information"] in basis.information and reason_ok
            and recipient.kind in basis.recipient_kinds
            and (not basis.requires_secrecy or recipient.bound_by_secrecy)
            and set(request["categories"]) <= basis.categories
            and (not basis.requires_review or spec["review"] == "approved"))


def _ask(uow, world: World, request: dict):
    sender = identity.get_organisation(uow, request["sender"])
    recipient = identity.get_organisation(uow, request["recipient"])
    index = request["basis_index"]
    record = world.records[index] if index is not None and index < len(world.records) else None
    try:
        answer = consent.authorize(uow, cases.get_case(uow, world.case_id), sender.id,
                                   recipient.id, request["purpose"], request["categories"],
                                   world.at, legal_basis_record=record[0] if record else None)
    except ConsentRefused as refused:
        answer = refused
    return answer, sender, recipient, record


# --- properties ----------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_nothing_passes_without_a_covering_consent_or_a_valid_legal_basis(world, scenario):
    history, basis_records, request = scenario
    with world.unit_of_work() as uow:
        built = _build(uow, history, basis_records)
        answer, sender, recipient, record = _ask(uow, built, request)
        capable = _capable(recipient, set(request["categories"]), sender,
                           by_consent=record is None)
        event("refused: " + answer.code if isinstance(answer, ConsentRefused)
              else "authorised on " + ("a legal basis" if answer.legal_basis else "a consent"))
        if record is not None:
            valid = capable and _valid_basis(uow, record[0], record[1], request, recipient)
            if isinstance(answer, ConsentRefused):
                assert not valid, answer.message
            else:
                assert valid and answer.consent_id is None
                assert (answer.legal_basis, answer.legal_basis_record) == \
                    (record[1]["legal_basis"], record[0])
            return
        covering = [c for c in built.consents
                    if _covering(c, built.consents, request, recipient, sender.id, built.at)]
        refused_last = _latest_named_is_refusal(built.consents, request, recipient, built.at)
        if isinstance(answer, ConsentRefused):
            assert not (capable and covering and not refused_last), answer.code
            assert answer.code and answer.message
        else:
            assert capable and not refused_last and answer.legal_basis is None
            assert answer.consent_id in {c.id for c in covering}
        uow.rollback()


@PROPERTY_SETTINGS
@given(scenario=scenarios(records_size=(0, 0)), data=st.data())
def test_expired_withdrawn_superseded_or_out_of_scope_consents_never_authorise(
        world, scenario, data):
    """Every consent generated here fails the request in at least one way."""
    history, _records, request = scenario
    flaw = data.draw(st.lists(st.sampled_from(
        ["expired", "withdrawn", "recipient", "purpose", "categories", "sender", "future",
         "superseded"]), min_size=len(history), max_size=len(history)))
    others = {r for r in RECIPIENTS if r != request["recipient"]}
    broken = []
    for spec, why in zip(history, flaw, strict=True):
        spec = {**spec, "decision": "granted", "new_version": False,
                "given_days": min(spec["given_days"], -2)}
        if why == "superseded":  # it covered everything, but a narrower version replaced it
            broken.append(({**spec, "purposes": {request["purpose"]},
                            "recipients": {request["recipient"]},
                            "categories": set(request["categories"]), "given_days": -20,
                            "expires_after": None, "withdrawn_after": None}, why))
            spec = {**spec, "recipients": others, "new_version": True, "given_days": -10}
            why = "recipient"
        elif why == "expired":
            spec["expires_after"] = 1
        elif why == "withdrawn":
            spec["withdrawn_after"] = 0
        elif why == "future":
            spec["given_days"] = 3
        elif why == "recipient":
            spec["recipients"] = set(spec["recipients"]) - {request["recipient"]} or others
        elif why == "purpose":
            spec["purposes"] = set(spec["purposes"]) - {request["purpose"]} \
                or {p for p in PURPOSES if p != request["purpose"]}
        elif why == "categories":
            spec["categories"] = set(CATEGORIES) - {sorted(request["categories"])[0]}
        broken.append((spec, why))
    asked = {**request, "basis_index": None}
    if any(why == "sender" for _spec, why in broken):
        asked["sender"] = "cmp-demo"  # the consents were recorded by asso-iscg-demo
    elif broken:
        asked["sender"] = "asso-iscg-demo"
    with world.unit_of_work() as uow:
        built = _build(uow, [spec for spec, _why in broken], [])
        answer, _sender, _recipient, _record = _ask(uow, built, asked)
        assert isinstance(answer, ConsentRefused)
        assert answer.code in {"consent_missing", "consent_expired", "consent_withdrawn",
                               "consent_out_of_scope", "recipient_capability_health",
                               "recipient_capability_offence",
                               "holder_capability_offence"}, answer.code
        uow.rollback()


@PROPERTY_SETTINGS
@given(scenario=scenarios(records_size=(1, 2)))
def test_a_legal_basis_never_falls_back_on_a_consent(world, scenario):
    """With a legal basis invoked, a covering consent changes nothing: the basis alone
    decides."""
    _history, basis_records, request = scenario
    asked = {**request, "basis_index": 0, "sender": "asso-iscg-demo"}
    every = {"purposes": set(PURPOSES), "recipients": set(RECIPIENTS),
             "categories": set(CATEGORIES), "decision": "granted", "given_days": -1,
             "expires_after": None, "withdrawn_after": None, "new_version": False}
    with world.unit_of_work() as uow:
        with_consent = _build(uow, [every], basis_records)
        answer, sender, recipient, record = _ask(uow, with_consent, asked)
        valid = _capable(recipient, set(asked["categories"]), sender, by_consent=False) \
            and _valid_basis(uow, record[0], record[1], asked, recipient)
        assert isinstance(answer, ConsentRefused) != valid
        if not isinstance(answer, ConsentRefused):
            assert answer.consent_id is None
        uow.rollback()
