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

# The modeler's front-end packages (bpmn-js, its properties panel, bpmnlint, esbuild) from the
# npm registry, bundled into engine/web/static/vendor/ (git-ignored). `npm ci` runs again only
# when package.json or package-lock.json changed, the bundle only when they or its sources
# (engine/web/admin/assets/) changed. No browser is downloaded here.
if ! command -v npm >/dev/null 2>&1; then
    echo "Relais a besoin de Node.js et de npm pour installer le modeleur BPMN" \
         "(Debian : apt-get install nodejs npm)." >&2
    exit 1
fi
front_hash() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; }
front_stamp="node_modules/.relais-installed"
if [ ! -f "$front_stamp" ] || [ "$(cat "$front_stamp")" != "$(front_hash)" ]; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi
    front_hash > "$front_stamp"
fi
vendor="engine/web/static/vendor"
bundle_want="$(front_hash)-$(cat engine/web/admin/assets/* | sha256sum | cut -d' ' -f1)"
if [ ! -f "$vendor/relais-bpmn.js" ] || [ ! -f "$vendor/.relais-built" ] ||
    [ "$(cat "$vendor/.relais-built")" != "$bundle_want" ]; then
    npm run --silent build
    echo "$bundle_want" > "$vendor/.relais-built"
fi
