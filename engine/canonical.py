"""The one canonical JSON of Relais: what is hashed or signed is serialised only here.

Used by audit rows and checkpoints (engine.audit), envelope manifests and receipts
(engine.documents.envelope) and key directories (engine.keys.directory).

Contract — RFC 8785-style bytes: object keys sorted, no insignificant whitespace, UTF-8
without \\u escapes for non-ASCII characters (`ensure_ascii=False`; control characters, quote
and backslash escaped as JSON requires), integers only. Refused with ValueError rather than
written ambiguously: floats (their text form varies between implementations), NaN and
infinities, integers beyond ±(2^53 − 1) (not interoperable), non-string object keys (they
would come back as strings and hash differently), and lone surrogates (not UTF-8).

The bytes are identical to what envelope manifests and audit rows have always been hashed
over: the envelope test vectors stay byte-identical and stored audit rows still verify.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of `value` (see the module's contract)."""
    _refuse_non_canonical(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _refuse_non_canonical(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("floats are not canonical")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        raise ValueError("integer outside the interoperable range")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("object keys must be strings")
            _refuse_non_canonical(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_non_canonical(item)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _reject(_token: str) -> Any:
    raise ValueError("non-canonical number")


def load_canonical(raw: bytes) -> Any:
    """Parse JSON and insist it is byte-for-byte canonical, so its hash is unique."""
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                       parse_float=_reject, parse_constant=_reject)
    if canonical_json(value) != raw:
        raise ValueError("not canonical")
    return value
