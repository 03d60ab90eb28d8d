"""The console's small pure pieces: actions in words (unknown ones shown raw), the
verification cursor, the filter readers answering on their field."""

from __future__ import annotations

import pytest

from engine.audit import console
from engine.audit.chain import GENESIS
from engine.audit.wording import ACTION_SENTENCES, sentence
from engine.errors import Invalid
from engine.web.admin.ops_input import FieldErrors, check_range, choice, day, number


def test_known_actions_read_as_french_sentences_and_unknown_ones_stay_raw():
    assert sentence("keys.rotated") == "Clés d'une organisation renouvelées (rotation)"
    assert sentence("runtime.instance_suspended") == "Instance suspendue"
    assert sentence("quelque.chose_inconnue") is None
    assert all(text and text[0].isupper() and "_" not in text
               for text in ACTION_SENTENCES.values())


def test_the_cursor_starts_at_the_genesis_and_refuses_anything_else():
    assert console.parse_cursor(None) == (0, GENESIS)
    assert console.parse_cursor("") == (0, GENESIS)
    assert console.parse_cursor("12:" + "a" * 64) == (12, "a" * 64)
    for bad in ("12", "x:" + "a" * 64, "12:" + "A" * 64, "-1:" + "a" * 64, "1:" + "a" * 63):
        with pytest.raises(Invalid) as refused:
            console.parse_cursor(bad)
        assert refused.value.errors[0]["field"] == "cursor"


def test_filter_readers_answer_on_their_field():
    errors = FieldErrors()
    args = {"du": "2026-05-02", "au": "2026-05-02", "n": "12", "mauvais": "02/05/2026",
            "zero": "0", "statut": "perdu"}
    since, until = day(args, "du", errors), day(args, "au", errors, end=True)
    assert (until - since).days == 1
    check_range(since, until, "au", errors)
    assert number(args, "n", errors) == 12 and number(args, "vide", errors) is None
    assert errors.errors == []
    assert day(args, "mauvais", errors) is None
    assert number(args, "zero", errors) is None
    assert choice(args, "statut", {"running"}, errors) is None
    check_range(until, since, "du", errors)
    assert set(errors.by_field()) == {"mauvais", "zero", "statut", "du"}
    with pytest.raises(Invalid):
        errors.raise_if_any()
