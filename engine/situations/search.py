"""The blind index: keyed hashes of normalised name tokens, so that a situation can be found
by name, first name or birth year without names in clear at rest and without decrypting
every record.

Guarantees:
- a token is HMAC-SHA256 under the organisation's own search key (wrapped by the master key),
  so equal names give equal tokens within one organisation only;
- names are normalised (lower case, accents and punctuation removed) and every word is indexed
  whole and by each of its prefixes of three characters or more; birth years are indexed apart
  (a name word can never match a year);
- queries are bounded (length and number of words) whatever is typed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from engine.db import UnitOfWork
from engine.situations.models import SearchKey

MIN_PREFIX = 3
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 6
NAME, YEAR = "n", "y"
_NON_WORD = re.compile(r"[^a-z0-9]+")
_YEAR = re.compile(r"^(18|19|20)\d\d$")


def normalise(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: « Lefèvre-D'Arc » → lefevre, d, arc."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [w for w in _NON_WORD.split(plain) if w]


def name_terms(*names: str | None) -> set[str]:
    """What a person's names are indexed under: each word, and its prefixes of 3+ letters."""
    terms: set[str] = set()
    for name in names:
        for word in normalise(name or ""):
            terms.add(f"{NAME}:{word}")
            terms.update(f"{NAME}:{word[:k]}" for k in range(MIN_PREFIX, len(word)))
    return terms


def year_term(birth: date | None) -> set[str]:
    return {f"{YEAR}:{birth.year}"} if birth else set()


def query_terms(query: str) -> list[str]:
    """One term per typed word (a year when it looks like one), at most MAX_QUERY_WORDS.
    Words of fewer than three letters only match a whole name word."""
    words = normalise(query[:MAX_QUERY_CHARS])[:MAX_QUERY_WORDS]
    return [f"{YEAR}:{w}" if _YEAR.match(w) else f"{NAME}:{w}" for w in words]


def _context(organisation_id: int) -> str:
    return f"relais/search-key/{organisation_id}"


class Index:
    """An organisation's search key, unwrapped in memory for one operation."""

    def __init__(self, key: bytes):
        self._key = key

    def token(self, term: str) -> str:
        return hmac.new(self._key, term.encode(), hashlib.sha256).hexdigest()

    def tokens(self, terms: set[str] | list[str]) -> list[str]:
        return sorted({self.token(t) for t in terms})


def organisation_index(uow: UnitOfWork, organisation_id: int, *, create: bool) -> Index | None:
    """The organisation's index, its key created on first use when `create` (a search before
    anyone was indexed has nothing to find: None)."""
    row = uow.session.scalars(select(SearchKey).where(
        SearchKey.organisation_id == organisation_id)).first()
    if row is None:
        if not create:
            return None
        row = SearchKey(organisation_id=organisation_id, created_at=uow.now(),
                        wrapped_key=uow.master.wrap(AESGCM.generate_key(bit_length=256),
                                                    _context(organisation_id)))
        uow.session.add(row)
        uow.session.flush()
    return Index(uow.master.unwrap(row.wrapped_key, _context(organisation_id)))
