"""The audit chain and the keys do not import each other in a circle: keys log through the
chain; checkpoints (signed with keys) live in the service that depends on both."""

from __future__ import annotations

import subprocess
import sys


def _modules_loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    return set(out.split())


def test_keys_load_the_chain_but_not_the_checkpoint_service():
    loaded = _modules_loaded_by("engine.keys.service")
    assert "engine.audit.chain" in loaded
    assert "engine.audit.service" not in loaded


def test_the_chain_loads_no_keys():
    assert not any(m.startswith("engine.keys.service") or m == "engine.audit.service"
                   for m in _modules_loaded_by("engine.audit.chain"))
