"""Each bundled diagram opens in bpmn-js (the modeler's own bundle, in Debian's Chromium)
without a warning, with its pools, lanes and every element drawn; and bpmnlint's recommended
rules (those the modeler shows) find nothing. Skipped, saying why, when Chromium, Playwright,
the built modeler bundle or Node.js is absent.

bpmn-js runs in its own process (`workflows/_tools/preview.py`): Playwright's synchronous API
allows one session per process, and the browser tests may hold it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted((ROOT / "workflows").glob("*/*.bpmn"))
PREVIEW = ROOT / "workflows" / "_tools" / "preview.py"
CHROMIUM = "/usr/bin/chromium"
BUNDLE = ROOT / "engine" / "web" / "static" / "vendor" / "relais-bpmn.js"
BPMNLINT = ROOT / "node_modules" / ".bin" / "bpmnlint"


@pytest.fixture(scope="module")
def drawn() -> dict[str, Any]:
    if not os.path.exists(CHROMIUM) or not BUNDLE.exists():
        pytest.skip("Chromium ou le modeleur construit (npm run build) absent.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Paquet Python « playwright » absent.")
    done = subprocess.run([sys.executable, str(PREVIEW), *map(str, DIAGRAMS)],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_the_diagram_opens_in_bpmn_js_with_every_element_drawn(drawn, path: Path):
    result = drawn[str(path)]
    assert "error" not in result, result
    assert result["warnings"] == []
    xml = path.read_text(encoding="utf-8")
    assert result["participants"] == xml.count("<bpmn:participant ")
    assert result["lanes"] == xml.count("<bpmn:lane ")
    assert result["edges"] == xml.count("<bpmndi:BPMNEdge ")
    assert result["shapes"] == xml.count("<bpmndi:BPMNShape ") + 1  # + the root


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_bpmnlint_recommended_rules_find_nothing(path: Path, tmp_path: Path):
    node = shutil.which("node")
    if node is None or not BPMNLINT.exists():
        pytest.skip("Node.js ou bpmnlint (npm ci) absent.")
    (tmp_path / ".bpmnlintrc").write_text(json.dumps({"extends": "bpmnlint:recommended"}))
    linted = subprocess.run([node, str(BPMNLINT), str(path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")})
    assert linted.returncode == 0, linted.stdout + linted.stderr
