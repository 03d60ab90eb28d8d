"""The 21 BPMN MIWG reference models: each deploys or is refused with a clear report.

They are interchange tests written for other tools (most are not executable, several use
elements Relais refuses): what matters is that none crashes the loader.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.runtime.errors import ModelRejected
from engine.runtime.loader import load_model, parse_specs

MIWG_DIR = Path(__file__).parents[2] / "fixtures" / "miwg"
MIWG_FILES = sorted(MIWG_DIR.glob("*.bpmn"))

FRENCH_MARKERS = ("é", "è", "à", "ç", " le ", " la ", " les ", " un ", " une ", " de ", " du ")


def test_all_21_reference_models_are_in_the_repository() -> None:
    # The parametrised tests below (and those of test_runtime_admin, test_admin_http and
    # test_miwg_round_trip) read this folder: if it shrank, they would silently run fewer cases.
    assert MIWG_DIR.is_dir(), MIWG_DIR
    assert len(MIWG_FILES) == 21, [path.name for path in MIWG_FILES]
    assert (MIWG_DIR / "README.md").read_text(encoding="utf-8").count("CC BY 3.0") == 1


@pytest.mark.parametrize("path", MIWG_FILES, ids=lambda path: path.name)
def test_reference_model_loads_or_is_refused_clearly(path: Path, tmp_path: Path) -> None:
    try:
        model = load_model({path.name: path.read_bytes()}, tmp_path)
    except ModelRejected as rejected:
        assert rejected.problems
        for problem in rejected.problems:
            assert problem.file == path.name
            assert problem.reason.strip()
            assert any(marker in f" {problem.reason.lower()}" for marker in FRENCH_MARKERS), (
                problem.reason
            )
            assert "Traceback" not in problem.reason
            if problem.element_id is not None:
                assert problem.element_type
    else:
        assert model.process_ids
        assert all(isinstance(spec, BpmnProcessSpec) for spec in model.specs.values())


@pytest.mark.parametrize(
    ("name", "process_id"),
    [("C.1.0.bpmn", "bpmn-miwg-test-case-c.1.0"), ("C.9.1.bpmn", "requestDocument_en")],
)
def test_executable_reference_models_parse_into_specs(name: str, process_id: str) -> None:
    specs = parse_specs({name: (MIWG_DIR / name).read_bytes()})

    spec = specs[process_id]
    assert isinstance(spec, BpmnProcessSpec)
    assert spec.start is not None
    assert len(spec.task_specs) > 3
