"""`python -m engine.bench`: the whole run, its JSON report on standard output."""

import json
import sys

from engine.bench.suite import run

result = run(progress=lambda message: print(message, file=sys.stderr))
print(json.dumps(result, indent=2, ensure_ascii=False))
