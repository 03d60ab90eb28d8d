"""Activity figures: facts written with the records they come from, counted without
decrypting anything, published with small numbers suppressed.

Guarantees:
- A fact holds codes, a month, an organisation and pseudonymous keys only (HMAC-SHA256 under
  an installation secret wrapped by the master key): it cannot be joined back to a case row,
  a record or a person by someone holding the database alone.
- Facts are written by event handlers inside the transaction that stores their record, so
  the figures always equal a recount from the records.
- Everyone sees aggregates only, and only of the organisations they may see (`visible`):
  their own (a professional of it), and those their organisation observes (`FigureScope`) for
  members holding a figures role (the comité de suivi, an employer's management).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select, update

from engine.consent.catalogue import PURPOSES
from engine.db import UnitOfWork
from engine.errors import ConfigurationError
from engine.figures import catalogue
from engine.figures.catalogue import DURATION, INDICATORS, MULTIPLE, PARTITION
from engine.figures.errors import PeriodInvalid, ScopeNotFound
from engine.figures.models import Fact, FigureKey, FigureScope
from engine.figures.suppression import DEFAULT_THRESHOLD, Table, check_threshold, suppress
from engine.identity.models import ORGANISATION_KIND_LABELS, Organisation
from engine.identity.roles import Role
from engine.identity.service import Principal
from engine.runtime import service as runtime_queries

KEY_CONTEXT = "relais/figures-key/v1"
FIGURES_ROLES = frozenset({Role.IS, Role.COMITE, Role.EMPLOYEUR})
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")


# --- writing facts -------------------------------------------------------------------------

def _secret(uow: UnitOfWork) -> bytes:
    row = uow.session.get(FigureKey, 1)
    if row is None:
        secret = os.urandom(32)
        uow.session.add(FigureKey(id=1, wrapped=uow.master.wrap(secret, KEY_CONTEXT),
                                  created_at=uow.now()))
        uow.session.flush()
        return secret
    return uow.master.unwrap(row.wrapped, KEY_CONTEXT)


def pseudonym(uow: UnitOfWork, kind: str, identifier: object) -> str:
    """A stable key for (kind, identifier) that only this installation can compute."""
    mac = hmac.new(_secret(uow), f"{kind}:{identifier}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def month_of(uow: UnitOfWork) -> str:
    return uow.now().strftime("%Y-%m")


def record_facts(uow: UnitOfWork, *, organisation_id: int, situation: str, subject: str,
                 source: str, facts: list[tuple[str, str]], month: str | None = None) -> int:
    """Write the facts of one record or event (dated this month unless `month` says when it
    happened); only indicators of the catalogue, only codes."""
    month, written = month or month_of(uow), 0
    for indicator, code in facts:
        if indicator not in catalogue.BY_ID or not _is_code(code):
            continue
        value = catalogue.canonical(indicator, code)
        kind = catalogue.BY_ID[indicator].kind
        previous = None
        if kind == PARTITION:  # the subject's latest fact of this indicator is one no longer
            uow.session.execute(update(Fact).where(
                Fact.indicator == indicator, Fact.subject == subject,
                Fact.next_month.is_(None)).values(next_month=month))
        elif kind == MULTIPLE:
            previous = uow.session.scalar(select(func.max(Fact.month)).where(
                Fact.indicator == indicator, Fact.subject == subject, Fact.value == value))
        uow.session.add(Fact(organisation_id=organisation_id, situation_key=situation,
                             subject=subject, month=month, indicator=indicator, value=value,
                             source=source[:80], previous_month=previous))
        written += 1
    return written


def _is_code(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value))


# --- who sees what -------------------------------------------------------------------------

def visible(uow: UnitOfWork, principal: Principal) -> list[Organisation]:
    """The organisations whose figures `principal` may see, by name."""
    ids: set[int] = set()
    for grant in principal.grants:
        if grant.role in FIGURES_ROLES:
            if grant.role == Role.IS:  # an IS sees their own post; the others what they observe
                ids.add(grant.organisation_id)
            ids.update(uow.session.scalars(
                select(FigureScope.organisation_id)
                .where(FigureScope.viewer_organisation_id == grant.organisation_id)))
    if not ids:
        return []
    return list(uow.session.scalars(select(Organisation).where(Organisation.id.in_(ids))
                                    .order_by(Organisation.name)))


def scope_for(uow: UnitOfWork, principal: Principal, slug: str | None) -> list[Organisation]:
    """One visible organisation by slug, or all of them; the same 'not found' otherwise."""
    allowed = visible(uow, principal)
    if slug is None:
        if not allowed:
            raise ScopeNotFound("Aucun chiffre ne vous est accessible.")
        return allowed
    chosen = [o for o in allowed if o.slug == slug]
    if not chosen:
        raise ScopeNotFound("Organisation introuvable.")
    return chosen


def observe(uow: UnitOfWork, viewer: Organisation, observed: Organisation) -> None:
    """Let `viewer`'s figures roles see `observed`'s figures (territory set-up)."""
    if uow.session.get(FigureScope, (viewer.id, observed.id)) is None:
        uow.session.add(FigureScope(viewer_organisation_id=viewer.id,
                                    organisation_id=observed.id))
        uow.session.flush()


def threshold_from_env(environ: dict[str, str] | None = None) -> int:
    """RELAIS_FIGURES_THRESHOLD (default 10, never below 5)."""
    raw = (os.environ if environ is None else environ).get("RELAIS_FIGURES_THRESHOLD")
    try:
        return check_threshold(int(raw)) if raw else DEFAULT_THRESHOLD
    except ValueError as exc:
        raise ConfigurationError("RELAIS_FIGURES_THRESHOLD doit être un entier d'au moins "
                                 "5.") from exc


def organisations_by_slug(uow: UnitOfWork, slugs: list[str]) -> list[Organisation]:
    """For the command line (run by the platform's operator): the named organisations."""
    found = list(uow.session.scalars(select(Organisation).where(Organisation.slug.in_(slugs))))
    missing = sorted(set(slugs) - {o.slug for o in found})
    if missing:
        raise ScopeNotFound(f"Organisation inconnue : {', '.join(missing)}.")
    return found


def protocol_labels(uow: UnitOfWork) -> dict[str, dict[str, str]]:
    """Words for the codes of events: protocol names (newest version's), purposes."""
    from_runtime = runtime_queries.protocol_names(uow)
    return {"protocoles_demarres": from_runtime, "protocoles_termines": from_runtime,
            "documents_finalite": {code: p.label for code, p in PURPOSES.items()}}


# --- periods -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    code: str
    first: str  # YYYY-MM
    last: str

    @property
    def label(self) -> str:
        return french_period(self.first, self.last)

    def previous_year(self) -> Period:
        return Period(self.code + "-1an", _year_before(self.first), _year_before(self.last))


def _year_before(month: str) -> str:
    return f"{int(month[:4]) - 1}{month[4:]}"


def parse_period(text: str) -> Period:
    """`2026`, `2026-Q3`, `2026-09`, or `2026-01..2026-06`."""
    text = (text or "").strip()
    if m := re.fullmatch(r"(\d{4})", text):
        return Period(text, f"{m[1]}-01", f"{m[1]}-12")
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        q = int(m[2])
        return Period(text.upper(), f"{m[1]}-{3 * q - 2:02d}", f"{m[1]}-{3 * q:02d}")
    if m := re.fullmatch(r"(\d{4}-\d{2})(?:\.\.(\d{4}-\d{2}))?", text):
        first, last = m[1], m[2] or m[1]
        if _valid_month(first) and _valid_month(last) and first <= last:
            return Period(text, first, last)
    raise PeriodInvalid("Période non reconnue : indiquez une année (2026), un trimestre "
                        "(2026-T3 ou 2026-Q3), un mois (2026-09) ou un intervalle "
                        "(2026-01..2026-06).",
                        [{"field": "periode", "message": "Période non reconnue."}])


def _valid_month(text: str) -> bool:
    year, month = int(text[:4]), int(text[5:])
    return 2000 <= year <= 2100 and 1 <= month <= 12


def french_period(first: str, last: str) -> str:
    def month(m: str) -> str:
        return f"{MONTHS_FR[int(m[5:]) - 1]} {m[:4]}"

    if first == last:
        return month(first)
    if first[5:] == "01" and last[5:] == "12" and first[:4] == last[:4]:
        return f"année {first[:4]}"
    return f"de {month(first)} à {month(last)}"


def period_from_request(text: str | None, today: date) -> Period:
    """The page's default is the current year."""
    return parse_period(text.replace("T", "Q") if text else str(today.year))


# --- counting ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    code: str
    label: str
    count: int | None
    suppressed: bool
    small: bool = False  # hidden because below the threshold; else hidden to protect one

    def shown(self, threshold: int) -> str:
        """What a reader sees: the count, « < 10 » or « masqué »."""
        if not self.suppressed:
            return str(self.count)
        return f"< {threshold}" if self.small else "masqué"


@dataclass(frozen=True)
class Figure:
    id: str
    label: str
    definition: str
    rows: tuple[Row, ...]
    total: Row | None
    summary: Row | None = None  # a `duration` indicator's median (hours), not a count


@dataclass(frozen=True)
class Report:
    period: Period
    organisations: tuple[Organisation, ...]
    threshold: int
    figures: tuple[Figure, ...]


def report(uow: UnitOfWork, organisations: list[Organisation], period: Period, *,
           threshold: int = DEFAULT_THRESHOLD,
           labels: dict[str, dict[str, str]] | None = None,
           only: str | None = None) -> Report:
    """Every indicator for `organisations` over `period`, suppressed. Reads facts only.
    `labels` gives words for codes the catalogue does not name (per indicator: protocol
    names, organisation kinds, purposes); `only` counts one indicator (a chart)."""
    check_threshold(threshold)
    ids = [o.id for o in organisations]
    known = {"documents_destinataire": {k.value: v for k, v in ORGANISATION_KIND_LABELS.items()},
             **(labels or {})}
    figures = tuple(_figure(uow, indicator, ids, period, threshold,
                            known.get(indicator.id, {})) for indicator in INDICATORS
                    if only is None or indicator.id == only)
    return Report(period, tuple(organisations), threshold, figures)


def _figure(uow: UnitOfWork, indicator: catalogue.Indicator, ids: list[int], period: Period,
            threshold: int, labels: dict[str, str]) -> Figure:
    counts = _counts(uow, indicator, ids, period)
    summary = None
    if indicator.kind == DURATION:
        counts, summary = _delays(counts, threshold)
    ordered = {code: counts.get(code, 0) for code in indicator.values} | \
        {code: n for code, n in sorted(counts.items()) if code not in indicator.values}
    table: Table = suppress(ordered, threshold,
                            additive=indicator.kind in (PARTITION, DURATION))
    rows = tuple(Row(c.code, labels.get(c.code) or indicator.label_of(c.code), c.count,
                     c.suppressed, c.small) for c in table.cells)
    total = None if table.total is None else Row("total", "Total", table.total.count,
                                                 table.total.suppressed,
                                                 table.total.suppressed and all(
                                                     c.small for c in table.cells
                                                     if c.suppressed))
    return Figure(indicator.id, indicator.label, indicator.definition, rows, total, summary)


def _delays(hours: dict[str, int], threshold: int) -> tuple[dict[str, int], Row | None]:
    """Delays (hours → how many) as bands, and their median, shown only when at least
    `threshold` delays are counted (a median of few would tell one document's delay)."""
    bands: dict[str, int] = {}
    values = sorted((int(h), n) for h, n in hours.items() if h.isdigit())
    for h, n in values:
        band = catalogue.delay_band(h)
        bands[band] = bands.get(band, 0) + n
    total = sum(n for _, n in values)
    if not total:
        return bands, None
    median = _median(values, total) if total >= threshold else None
    return bands, Row("mediane", "Délai médian (en heures)", median, median is None,
                      small=total < threshold)


def _median(values: list[tuple[int, int]], total: int) -> int:
    """The median of a sorted (value, how many) list, rounded down to the hour."""
    def nth(k: int) -> int:  # the k-th value (0-based)
        for h, n in values:
            if k < n:
                return h
            k -= n
        raise IndexError(k)

    return (nth((total - 1) // 2) + nth(total // 2)) // 2


def _counts(uow: UnitOfWork, indicator: catalogue.Indicator, ids: list[int],
            period: Period) -> dict[str, int]:
    """Counts by value, read from the covering index: a `partition` subject counts under its
    latest value in the period (its fact whose next one is after the period), a `multiple`
    subject once under each value (its first fact of that value in the period)."""
    where = [Fact.indicator == indicator.id, Fact.organisation_id.in_(ids),
             Fact.month >= period.first, Fact.month <= period.last]
    if indicator.kind == PARTITION:
        where.append(or_(Fact.next_month.is_(None), Fact.next_month > period.last))
    elif indicator.kind == MULTIPLE:
        where.append(or_(Fact.previous_month.is_(None), Fact.previous_month < period.first))
    stmt = select(Fact.value, func.count()).where(*where).group_by(Fact.value)
    return {value: int(n) for value, n in uow.session.execute(stmt)}


def recount(uow: UnitOfWork, indicator_id: str, ids: list[int], period: Period) -> dict[str, int]:
    """Raw counts before suppression (tests and the administrators' checks only)."""
    return _counts(uow, catalogue.BY_ID[indicator_id], ids, period)
