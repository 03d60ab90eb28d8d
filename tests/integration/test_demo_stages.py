"""`relais demo` leaves a situation at each new stage: an orientation waiting in the IS's
tasks (and the situation it opened in the IS's organisation), a requisition answered and
waiting for a second professional's check, an ITP session the IS is convened to."""

from __future__ import annotations

from routing_support import principal

from engine.demo import populate_demo
from engine.runtime import service as runtime
from engine.situations import service as situations


def _ready(db, username: str) -> set[str]:
    with db.unit_of_work() as uow:
        return {t.name for t in runtime.ready_tasks(uow, principal(uow, username))}


def test_the_demo_leaves_one_situation_at_each_new_stage(db):
    populated = populate_demo(db)
    assert {"orientation_is", "requisition_judiciaire"} <= set(populated)
    assert "Contacter la personne orientée" in _ready(db, "demo-is")
    assert any(name.startswith("Contrôler la réquisition") for name in _ready(db, "demo-is2"))
    assert "Prendre connaissance de la date et du lieu de la séance" in _ready(db, "demo-is")
    with db.unit_of_work() as uow:
        assert situations.search(uow, principal(uow, "demo-is"), "Hugo Exemple")
    assert populate_demo(db) == []  # nothing twice
