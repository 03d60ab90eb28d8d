"""Audit rows are written in one short step at commit: concurrent transactions do not wait
for each other while they work, and the chain keeps one total order without gaps."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM


def _rows_after(db, seq: int) -> list:
    with db.unit_of_work() as uow:
        return list(uow.session.execute(
            select(AuditEntry.seq, AuditEntry.action, AuditEntry.details)
            .where(AuditEntry.seq > seq).order_by(AuditEntry.seq)))


def test_a_transaction_appends_and_commits_while_another_is_still_open(db):
    with db.unit_of_work() as uow:
        start = audit.last_seq(uow)
    first_appended, second_committed = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with db.unit_of_work() as uow:
            audit.append(uow, SYSTEM, "test.first", step=1)
            first_appended.set()
            # The slow work of this transaction: the other one must get through meanwhile.
            seen["second_committed_meanwhile"] = second_committed.wait(timeout=10)
            audit.append(uow, SYSTEM, "test.first", step=2)
            uow.commit()

    def second() -> None:
        assert first_appended.wait(timeout=10)
        with db.unit_of_work() as uow:
            audit.append(uow, SYSTEM, "test.second", step=1)
            audit.append(uow, SYSTEM, "test.second", step=2)
            uow.commit()
        second_committed.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == {"second_committed_meanwhile": True}
    rows = _rows_after(db, start)
    assert [(r.seq, r.action) for r in rows] == [
        (start + 1, "test.second"), (start + 2, "test.second"),
        (start + 3, "test.first"), (start + 4, "test.first")]
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok


def test_interleaved_commits_keep_one_gapless_chain(db):
    with db.unit_of_work() as uow:
        start = audit.last_seq(uow)
    rng = random.Random(9)
    pauses = [[rng.uniform(0, 0.02) for _ in range(3)] for _ in range(16)]

    def transaction(number: int) -> None:
        with db.unit_of_work() as uow:
            for row, pause in enumerate(pauses[number]):
                audit.append(uow, SYSTEM, "test.interleaved", tx=number, row=row)
                threading.Event().wait(pause)
            uow.commit()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(transaction, range(16)))
    rows = _rows_after(db, start)
    assert [r.seq for r in rows] == list(range(start + 1, start + 49))
    # Each transaction's rows were written in one step: they are contiguous and in order.
    written = [json.loads(r.details) for r in rows]
    for i in range(0, 48, 3):
        assert len({d["tx"] for d in written[i:i + 3]}) == 1
        assert [d["row"] for d in written[i:i + 3]] == [0, 1, 2]
    with db.unit_of_work() as uow:
        assert audit.verify(uow).ok
