"""Situations use cases: the people of a situation, the register of people received, notes,
search and the lists a professional works from.

Guarantees:
- a person's identity (family name, first names, birth date, commune) and every note are case
  records, encrypted under the case key like every other record (`engine.cases`);
- the search index holds keyed hashes only (`engine.situations.search`); search never
  decrypts a record, and only the situations shown are decrypted (for their names);
- the register holds codes, booleans and dates only: activity figures are counted from it;
- every function checks who asks: a professional of an organisation that follows situations
  (`principal.can_see`, `cases.visible_case`); other situations answer « introuvable ».
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select

from engine import events
from engine.audit import service as audit
from engine.audit.service import Actor
from engine.cases import service as cases
from engine.cases.errors import CaseKeyDestroyed
from engine.cases.models import Case, CaseRecord
from engine.db import UnitOfWork
from engine.events import PersonReceived
from engine.identity.roles import Role
from engine.identity.service import Principal
from engine.runtime import service as runtime
from engine.runtime.models import HumanTask, Instance, ProcessVersion
from engine.situations import communes
from engine.situations import search as blind
from engine.situations.errors import NotAHolder, NoteInvalid, ReceptionInvalid
from engine.situations.models import Reception, SearchToken, SituationPerson
from engine.situations.vocabulary import (
    ARRIVALS,
    KNOWN,
    ORIENTATIONS,
    PERSON_KINDS,
    PROBLEMS,
    SEXES,
    UNKNOWN_SEX,
    age_band,
)

# The roles whose organisations hold situations; police and parquet receive documents only.
HOLDING_ROLES = frozenset({Role.IS, Role.ASSOCIATION, Role.CG_ITP, Role.CG_SOCIAL, Role.CMP})
RECEIVING_ROLES = frozenset({Role.IS})
PER_PAGE = 20
SEARCH_LIMIT = 25
NOTE_MAX = 5000
NAME_MAX = 100
_REFERENCE = re.compile(r"^S-?(\d{4})-?([A-Z0-9]{8})$")


# --- who may -------------------------------------------------------------------------------

def holding_organisations(principal: Principal) -> list[int]:
    """The organisations whose situations the principal follows."""
    return sorted({g.organisation_id for g in principal.grants if g.role in HOLDING_ROLES})


def may_follow(principal: Principal) -> bool:
    return bool(holding_organisations(principal))


def may_receive(principal: Principal) -> bool:
    return any(principal.has_role(r) for r in RECEIVING_ROLES)


def receiving_organisation(principal: Principal) -> int:
    for grant in principal.grants:
        if grant.role in RECEIVING_ROLES:
            return grant.organisation_id
    raise NotAHolder("Seul·e un·e intervenant·e social·e tient le registre des personnes "
                     "reçues.")


def _holding(principal: Principal) -> list[int]:
    orgs = holding_organisations(principal)
    if not orgs:
        raise NotAHolder("Votre organisation ne suit pas de situations : vous recevez les "
                         "documents qui vous sont adressés dans « Documents reçus ».")
    return orgs


# --- input ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    """Who a person is — encrypted in the situation. `commune_code` is a code of the
    territory's list (`engine.situations.communes`), `commune` its name as shown; `sex` is a
    code of `SEXES` (« non renseigné » when not given)."""

    family_name: str
    first_names: str = ""
    birth_date: date | None = None
    commune: str = ""
    sex: str = UNKNOWN_SEX
    commune_code: str = ""

    def payload(self) -> dict[str, Any]:
        return {"nom": self.family_name, "prenoms": self.first_names,
                "naissance": self.birth_date.isoformat() if self.birth_date else None,
                "commune": self.commune, "commune_code": self.commune_code, "sexe": self.sex}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Identity:
        born = data.get("naissance")
        commune = data.get("commune", "")
        return cls(family_name=data.get("nom", ""), first_names=data.get("prenoms", ""),
                   birth_date=date.fromisoformat(born) if born else None, commune=commune,
                   sex=data.get("sexe") or UNKNOWN_SEX,
                   commune_code=data.get("commune_code") or communes.code_of(commune) or "")

    @property
    def display(self) -> str:
        return " ".join(p for p in (self.first_names, self.family_name.upper()) if p)


@dataclass(frozen=True)
class ReceptionInput:
    identity: Identity
    person_kind: str
    arrival: str
    received_on: date
    problems: tuple[str, ...] = ()
    orientations: tuple[str, ...] = ()
    known: str = "inconnu"
    minors_involved: bool = False


def _text(raw: dict[str, Any], name: str, errors: list[dict[str, str]], *,
          required: bool = False, limit: int = NAME_MAX) -> str:
    value = str(raw.get(name) or "").strip()
    if required and not value:
        errors.append({"field": name, "message": "Ce champ est obligatoire."})
    elif len(value) > limit:
        errors.append({"field": name, "message": f"{limit} caractères au plus."})
    return value


def _date(raw: dict[str, Any], name: str, errors: list[dict[str, str]], today: date, *,
          required: bool) -> date | None:
    value = str(raw.get(name) or "").strip()
    if not value:
        if required:
            errors.append({"field": name, "message": "Ce champ est obligatoire."})
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        errors.append({"field": name, "message": "Date invalide : choisissez un jour."})
        return None
    if parsed > today or parsed.year < 1900:
        errors.append({"field": name, "message": "Cette date ne peut pas être dans le futur "
                                                 "ni avant 1900."})
        return None
    return parsed


def _code(raw: dict[str, Any], name: str, allowed: dict[str, Any],
          errors: list[dict[str, str]]) -> str:
    value = str(raw.get(name) or "")
    if value not in allowed:
        errors.append({"field": name, "message": "Choisissez une des réponses proposées."})
    return value


def _codes(raw: dict[str, Any], name: str, allowed: dict[str, str],
           errors: list[dict[str, str]]) -> tuple[str, ...]:
    values = raw.get(name) or []
    values = [values] if isinstance(values, str) else list(values)
    if any(v not in allowed for v in values):
        errors.append({"field": name, "message": "Choisissez parmi les réponses proposées."})
        return ()
    return tuple(v for v in allowed if v in values)


def parse_identity(raw: dict[str, Any], today: date,
                   errors: list[dict[str, str]]) -> Identity:
    commune = _commune(raw, errors)
    sex = str(raw.get("sexe") or UNKNOWN_SEX)
    if sex not in SEXES:
        errors.append({"field": "sexe", "message": "Choisissez une des réponses proposées."})
    return Identity(family_name=_text(raw, "nom", errors, required=True),
                    first_names=_text(raw, "prenoms", errors),
                    birth_date=_date(raw, "naissance", errors, today, required=False),
                    commune=communes.name_of(commune) if commune else "", sex=sex,
                    commune_code=commune)


def _commune(raw: dict[str, Any], errors: list[dict[str, str]]) -> str:
    """The commune's code: from the list, or a typed name mapped to it; other text refused."""
    typed = str(raw.get("commune") or "").strip()
    code = communes.code_of(typed[:NAME_MAX])
    if typed and code is None:
        errors.append({"field": "commune", "message": "Commune inconnue du territoire : "
                       "choisissez-la dans la liste, ou « Hors du territoire »."})
    return code or ""


def parse_reception(raw: dict[str, Any], today: date) -> ReceptionInput:
    """The register form's values, checked; ReceptionInvalid lists every wrong field."""
    errors: list[dict[str, str]] = []
    identity = parse_identity(raw, today, errors)
    data = ReceptionInput(
        identity=identity, person_kind=_code(raw, "qualite", PERSON_KINDS, errors),
        arrival=_code(raw, "arrivee", ARRIVALS, errors),
        received_on=_date(raw, "recu_le", errors, today, required=True) or today,
        problems=_codes(raw, "problematiques", PROBLEMS, errors),
        orientations=_codes(raw, "orientations", ORIENTATIONS, errors),
        known=_code(raw, "connu_service_social", KNOWN, errors),
        minors_involved=raw.get("mineurs") in (True, "on"))
    if errors:
        raise ReceptionInvalid("Le formulaire contient des erreurs.", errors)
    return data


# --- people and the register ---------------------------------------------------------------

def _index_person(uow: UnitOfWork, case: Case, person: SituationPerson,
                  identity: Identity) -> None:
    index = blind.organisation_index(uow, case.organisation_id, create=True)
    assert index is not None
    terms = blind.name_terms(identity.family_name, identity.first_names) \
        | blind.year_term(identity.birth_date)
    uow.session.add_all(SearchToken(organisation_id=case.organisation_id, token=token,
                                    case_id=case.id, person_id=person.id)
                        for token in index.tokens(terms))


def _add_person(uow: UnitOfWork, principal: Principal, case: Case, identity: Identity,
                kind: str) -> SituationPerson:
    return add_person_as(uow, principal.actor, case, identity, kind)


def add_person_as(uow: UnitOfWork, actor: Actor, case: Case, identity: Identity,
                  kind: str) -> SituationPerson:
    """Name a person of `case` on behalf of `actor` (a user, or the platform reacting to an
    event): the identity is a case record, the name indexed for search."""
    record = cases.store_record(uow, actor, case, kind="person",
                                payload=identity.payload(), categories={"ID"},
                                organisation_id=case.organisation_id)
    person = SituationPerson(case_id=case.id, record_id=record.id, kind=kind,
                             created_by=actor.user_id, created_at=uow.now())
    uow.session.add(person)
    uow.session.flush()
    _index_person(uow, case, person, identity)
    return person


def receive(uow: UnitOfWork, principal: Principal, data: ReceptionInput,
            case_id: int | None = None) -> Reception:
    """Record a person received (in a new situation, or in `case_id`). Audited with codes."""
    organisation_id = receiving_organisation(principal)
    case = cases.visible_case(uow, principal, case_id) if case_id is not None \
        else cases.open_case(uow, principal, organisation_id)
    person = _add_person(uow, principal, case, data.identity, data.person_kind)
    reception = Reception(
        case_id=case.id, person_id=person.id, organisation_id=case.organisation_id,
        received_on=data.received_on, person_kind=data.person_kind, arrival=data.arrival,
        problems=json.dumps(list(data.problems)), orientations=json.dumps(list(data.orientations)),
        known_to_social_services=KNOWN[data.known], minors_involved=data.minors_involved,
        created_by=principal.user_id, created_at=uow.now())
    uow.session.add(reception)
    uow.session.flush()
    audit.append(uow, principal.actor, "situations.person_received", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id,
                 reception=reception.id, kind=data.person_kind, arrival=data.arrival)
    events.record(uow, PersonReceived(
        principal.actor, case.id, case.organisation_id, person.id,
        data.received_on.strftime("%Y-%m"), data.person_kind, data.arrival, data.problems,
        data.orientations, data.known, data.minors_involved,
        age_band(data.identity.birth_date, data.received_on), data.identity.sex,
        data.identity.commune_code or None))
    return reception


def add_person(uow: UnitOfWork, principal: Principal, case_id: int, identity: Identity,
               kind: str) -> SituationPerson:
    """Name one more person of a situation (a household), for any organisation holding it."""
    case = cases.visible_case(uow, principal, case_id)
    if kind not in PERSON_KINDS:
        raise ReceptionInvalid("Le formulaire contient des erreurs.", [
            {"field": "qualite", "message": "Choisissez une des réponses proposées."}])
    person = _add_person(uow, principal, case, identity, kind)
    audit.append(uow, principal.actor, "situations.person_added", subject_type="case",
                 subject_id=case.id, organisation_id=case.organisation_id, person=person.id,
                 kind=kind)
    return person


def add_note(uow: UnitOfWork, principal: Principal, case_id: int, text: str) -> CaseRecord:
    """A free-text note on the situation, kept as an encrypted record."""
    case = cases.visible_case(uow, principal, case_id)
    text = (text or "").strip()
    if not text or len(text) > NOTE_MAX:
        raise NoteInvalid("La note n'est pas enregistrée.", [
            {"field": "note", "message": f"Écrivez une note de 1 à {NOTE_MAX} caractères."}])
    return cases.store_record(uow, principal.actor, case, kind="note", payload={"texte": text},
                              categories={"SOC"}, organisation_id=case.organisation_id)


def start_protocol(uow: UnitOfWork, principal: Principal, case_id: int,
                   process_id: str) -> Instance:
    """Start a protocol on this situation (the runtime checks the principal may start it)."""
    case = cases.visible_case(uow, principal, case_id)
    return runtime.start_instance(uow, principal, process_id, case.id)


def remove_tokens(uow: UnitOfWork, case_id: int) -> int:
    """Forget a situation's search tokens (crypto-shredding): nothing finds it any more."""
    result = uow.session.execute(delete(SearchToken).where(SearchToken.case_id == case_id))
    return result.rowcount or 0


# --- reading -------------------------------------------------------------------------------

@dataclass
class Person:
    id: int
    kind: str
    identity: Identity | None  # None when the situation's data was destroyed


def people_of(uow: UnitOfWork, principal: Principal, case: Case) -> list[Person]:
    """The people of a situation, decrypted (the caller has checked visibility)."""
    return people_of_cases(uow, principal, [case]).get(case.id, [])


def people_of_cases(uow: UnitOfWork, principal: Principal,
                    visible: list[Case]) -> dict[int, list[Person]]:
    """The people of several visible situations, read in one query, decrypted."""
    by_id = {c.id: c for c in visible}
    if not by_id:
        return {}
    rows = uow.session.execute(
        select(SituationPerson, CaseRecord).join(CaseRecord,
                                                 CaseRecord.id == SituationPerson.record_id)
        .where(SituationPerson.case_id.in_(list(by_id))).order_by(SituationPerson.id))
    people: dict[int, list[Person]] = {}
    for person, record in rows:
        case = by_id[person.case_id]
        try:
            identity = Identity.from_payload(cases.read_record(uow, principal.actor, case,
                                                               record, audited=False))
        except CaseKeyDestroyed:
            identity = None
        people.setdefault(case.id, []).append(Person(person.id, person.kind, identity))
    return people


@dataclass
class SituationRow:
    id: int
    reference: str
    people: list[str]
    last_activity_at: datetime
    open_protocols: list[str] = field(default_factory=list)
    next_due: datetime | None = None
    destroyed: bool = False


def rows_for(uow: UnitOfWork, principal: Principal, case_ids: Iterable[int]) -> list[SituationRow]:
    """List rows for visible cases, in the order given: names, open protocols, deadline."""
    wanted = list(dict.fromkeys(case_ids))
    if not wanted:
        return []
    found = {c.id: c for c in uow.session.scalars(select(Case).where(Case.id.in_(wanted)))
             if principal.can_see(c)}
    protocols: dict[int, list[str]] = {}
    for case_id, name in uow.session.execute(
            select(Instance.case_id, Instance.process_id).where(
                Instance.case_id.in_(list(found)), Instance.status.in_(("running", "suspended")))
            .order_by(Instance.id)):
        protocols.setdefault(case_id, []).append(name)
    due = dict(uow.session.execute(
        select(Instance.case_id, func.min(HumanTask.due_at))
        .join(HumanTask, HumanTask.instance_id == Instance.id)
        .where(Instance.case_id.in_(list(found)), HumanTask.state == "ready")
        .group_by(Instance.case_id)).all())
    names = protocol_names(uow, {p for ps in protocols.values() for p in ps})
    people = people_of_cases(uow, principal, list(found.values()))
    rows = []
    for case_id in wanted:
        case = found.get(case_id)
        if case is None:
            continue
        rows.append(SituationRow(
            id=case.id, reference=case.reference,
            people=[p.identity.display for p in people.get(case.id, []) if p.identity],
            last_activity_at=case.last_activity_at,
            open_protocols=[names[p] for p in protocols.get(case.id, [])],
            next_due=due.get(case.id), destroyed=case.wrapped_key is None))
    return rows


def protocol_names(uow: UnitOfWork, process_ids: Iterable[str]) -> dict[str, str]:
    """Protocols' names as deployed (never their ids on a page)."""
    wanted = set(process_ids)
    if not wanted:
        return {}
    names: dict[str, str] = {}
    for process_id, name in uow.session.execute(
            select(ProcessVersion.process_id, ProcessVersion.name)
            .where(ProcessVersion.process_id.in_(wanted)).order_by(ProcessVersion.version)):
        names[process_id] = name  # the newest version's name wins
    return {p: names.get(p, "Protocole") for p in wanted}


@dataclass
class Page:
    rows: list[SituationRow]
    number: int
    pages: int
    total: int


def my_situations(uow: UnitOfWork, principal: Principal, page: int = 1,
                  per_page: int = PER_PAGE) -> Page:
    """The situations of the principal's organisations, newest activity first."""
    orgs = _holding(principal)
    where = (Case.organisation_id.in_(orgs), Case.wrapped_key.is_not(None))
    total = uow.session.scalar(select(func.count(Case.id)).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    ids = uow.session.scalars(select(Case.id).where(*where)
                              .order_by(Case.last_activity_at.desc(), Case.id.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return Page(rows_for(uow, principal, ids), page, pages, total)


def search(uow: UnitOfWork, principal: Principal, query: str,
           limit: int = SEARCH_LIMIT) -> list[SituationRow]:
    """Situations whose reference is `query`, or one of whose people matches every word of it
    (name, first name, their first three letters or more, birth year). Never decrypts to
    search; an empty or unknown query answers an empty list."""
    orgs = _holding(principal)
    query = (query or "")[:blind.MAX_QUERY_CHARS]
    compact = query.strip().upper()
    reference = _REFERENCE.match(compact)
    if reference:
        wanted = f"S-{reference.group(1)}-{reference.group(2)}"
        ids = list(uow.session.scalars(select(Case.id).where(
            Case.reference == wanted, Case.organisation_id.in_(orgs))))
        return rows_for(uow, principal, ids)
    terms = blind.query_terms(query)
    if not terms:
        return []
    found: list[int] = []
    for org in orgs:
        found += _matching_cases(uow, org, terms, limit)
    ordered = uow.session.scalars(select(Case.id).where(Case.id.in_(found))
                                  .order_by(Case.last_activity_at.desc()).limit(limit))
    return rows_for(uow, principal, ordered)


def _matching_cases(uow: UnitOfWork, organisation_id: int, terms: list[str],
                    limit: int) -> list[int]:
    index = blind.organisation_index(uow, organisation_id, create=False)
    if index is None:
        return []
    tokens = index.tokens(terms)
    people = (select(SearchToken.case_id)
              .where(SearchToken.organisation_id == organisation_id,
                     SearchToken.token.in_(tokens))
              .group_by(SearchToken.case_id, SearchToken.person_id)
              .having(func.count(func.distinct(SearchToken.token)) == len(tokens))
              .limit(limit))
    return list(dict.fromkeys(uow.session.scalars(people)))


def receptions_of(uow: UnitOfWork, case: Case) -> list[Reception]:
    return list(uow.session.scalars(select(Reception).where(Reception.case_id == case.id)
                                    .order_by(Reception.received_on, Reception.id)))


def notes_of(uow: UnitOfWork, principal: Principal, case: Case) -> list[tuple[datetime, str]]:
    """The situation's notes, decrypted, oldest first (none once the data is destroyed)."""
    if case.wrapped_key is None:
        return []
    return [(r.created_at, cases.read_record(uow, principal.actor, case, r,
                                             audited=False)["texte"])
            for r in cases.records_of(uow, case, "note")]
