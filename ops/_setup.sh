# Shared by ops/run and ops/test: a virtualenv in .venv with the project installed.
# Sourced, not executed. Idempotent: re-running only installs what changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Relais a besoin de Python 3.11 ou plus récent." >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
fi
PY="$ROOT/.venv/bin/python"

# Reinstall only when the dependency list changed (the stamp holds pyproject's hash).
stamp=".venv/.relais-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)-${RELAIS_EXTRAS:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$PY" -m pip install --quiet --disable-pip-version-check -e ".${RELAIS_EXTRAS:-}"
    echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
