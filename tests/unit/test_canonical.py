"""One canonical JSON for audit rows, checkpoints and envelopes: its bytes, its refusals, and
the audit hashes it gives (unchanged for rows written before it existed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine.audit import chain
from engine.audit.models import AuditEntry
from engine.canonical import canonical_json, load_canonical
from engine.documents import envelope

DETAILS = {"kids": ["a/b", "é"], "n": 12, "ok": True, "none": None,
           "text": 'ligne\nsuivante "x"'}


def test_bytes_are_sorted_compact_utf8_without_ascii_escapes():
    assert canonical_json({"b": [1, "é/\x01"], "a": None}) == \
        '{"a":null,"b":[1,"é/\\u0001"]}'.encode()
    assert load_canonical(canonical_json(DETAILS)) == DETAILS


@pytest.mark.parametrize("value", [1.5, float("nan"), 2**53, {1: "clé entière"}, "\ud800",
                                   {"a": [{"b": -(2**60)}]}])
def test_what_cannot_be_written_one_way_only_is_refused(value):
    with pytest.raises(ValueError):
        canonical_json(value)


def test_envelopes_and_keys_use_the_same_function():
    assert envelope.canonical_json is canonical_json


def test_an_audit_row_hashes_as_rows_written_before_the_shared_function():
    # Vector computed by the former audit code (str JSON, then UTF-8) for this exact row.
    entry = AuditEntry(seq=7, at=datetime(2026, 11, 30, 12, 0, 1, 234000, tzinfo=UTC),
                       actor_user_id=3, actor_label="démo-is", via_token_id=None,
                       organisation_id=2, action="consent.recorded", subject_type="case",
                       subject_id="41", details=json.dumps(DETAILS, ensure_ascii=False))
    assert chain.entry_hash("ab" * 32, entry) == \
        "eb28f86babefe26c309efa26e78deb44f6964fbac626bf97ff9050d1845678fa"
