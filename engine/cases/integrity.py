"""Integrity of the situations' records: every record of every live case decrypts.

For `relais check` after a restore: a record that no longer opens means the master key, the
case key or the row itself is not what was backed up. Cases destroyed on purpose are counted
apart, never reported as faults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from engine.audit.service import SYSTEM
from engine.cases import service as cases
from engine.cases.models import Case
from engine.db import UnitOfWork
from engine.errors import RelaisError


@dataclass
class RecordsReport:
    cases: int = 0
    destroyed: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)


def check_records(uow: UnitOfWork) -> RecordsReport:
    """Decrypt every record of every case whose key still exists (reads are not audited:
    nothing is shown to anyone, only whether it opens)."""
    report = RecordsReport()
    for case in uow.session.scalars(select(Case).order_by(Case.id)):
        if case.wrapped_key is None:
            report.destroyed += 1
            continue
        report.cases += 1
        for record in cases.records_of(uow, case):
            try:
                cases.read_record(uow, SYSTEM, case, record, audited=False)
            except (RelaisError, InvalidTag, ValueError) as exc:
                report.problems.append(f"situation {case.reference}, enregistrement "
                                       f"{record.id} illisible ({type(exc).__name__})")
                continue
            report.records += 1
    return report
