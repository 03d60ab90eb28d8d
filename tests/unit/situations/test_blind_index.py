"""The blind index's normalisation and terms: what a name is indexed and searched under."""

from __future__ import annotations

from datetime import date

from engine.situations import search as blind


def test_names_are_lower_cased_without_accents_or_punctuation():
    assert blind.normalise("Lefèvre-D'Arc  ÉLODIE") == ["lefevre", "d", "arc", "elodie"]
    assert blind.normalise("%_'\"") == []


def test_every_word_is_indexed_whole_and_by_prefixes_of_three_letters_or_more():
    terms = blind.name_terms("Dupont", "Li")
    assert terms == {"n:dupont", "n:dup", "n:dupo", "n:dupon", "n:li"}
    assert "n:du" not in terms


def test_a_year_is_searched_apart_from_names():
    assert blind.year_term(date(1985, 3, 2)) == {"y:1985"}
    assert blind.query_terms("dup 1985") == ["n:dup", "y:1985"]
    assert blind.query_terms("  ") == []


def test_queries_are_bounded_whatever_is_typed():
    assert len(blind.query_terms("abc " * 5000)) == blind.MAX_QUERY_WORDS
    assert blind.query_terms("x" * 10_000) == ["n:" + "x" * blind.MAX_QUERY_CHARS]


def test_tokens_depend_on_the_organisation_key():
    one, other = blind.Index(b"1" * 32), blind.Index(b"2" * 32)
    assert one.token("n:dup") == one.token("n:dup") != other.token("n:dup")
    assert len(one.token("n:dup")) == 64 and "dup" not in one.token("n:dup")
