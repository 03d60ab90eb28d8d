"""Password-guessing throttles (design: docs/hardening.md).

Guarantees:
- Failures are counted per typed username (known or not: the same rows, the same answers)
  and per source address (an IPv6 address counts as its /64), over `WINDOW`.
- One source and one account: slowed after `SLOW_AFTER` failures, refused for `LOCK_DURATION`
  after `LOCK_AFTER`. Other sources are not affected: nobody can lock a victim out from
  elsewhere.
- One source, any accounts (one password tried across many accounts): slowed after
  `SOURCE_SLOW_AFTER` failures, refused for the window after `SOURCE_BLOCK_AFTER`.
- One account, any sources (a distributed attack): past `ACCOUNT_CEILING` failures every
  source waits between attempts, at most `MAX_WAIT` — slowed, never locked.
- Nothing in clear: usernames and addresses are stored as SHA-256 hashes, kept for the
  window only.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from engine.db import UnitOfWork
from engine.identity.models import LoginFailure

WINDOW = timedelta(minutes=15)
LOCK_DURATION = WINDOW
SLOW_AFTER = 3
LOCK_AFTER = 5
SOURCE_SLOW_AFTER = 10
SOURCE_BLOCK_AFTER = 20
ACCOUNT_CEILING = 50
MAX_WAIT = 60


@dataclass(frozen=True)
class Attempt:
    """Who is trying: the hashed typed username and the hashed source network."""

    account_key: str
    source_key: str

    @classmethod
    def of(cls, username: str, source: str | None) -> Attempt:
        return cls(_hash("account", (username or "").strip().lower()),
                   _hash("source", source_network(source)))


def _hash(kind: str, value: str) -> str:
    return hashlib.sha256(f"relais/login/{kind}\x00{value}".encode()).hexdigest()


def source_network(source: str | None) -> str:
    """The unit a source is counted by: an IPv4 address, or the /64 of an IPv6 address."""
    try:
        address = ipaddress.ip_address((source or "").strip())
    except ValueError:
        return "inconnue"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _failures(uow: UnitOfWork, since: datetime, *conditions: object) -> tuple[int, datetime | None]:
    count, last = uow.session.execute(
        select(func.count(), func.max(LoginFailure.failed_at))
        .where(LoginFailure.failed_at > since, *conditions)).one()
    return count, last


def _backoff(failures: int, last: datetime | None, threshold: int, now: datetime) -> int:
    """Seconds still to wait: 2, 4, 8… from the threshold on, since the last failure."""
    if failures < threshold or last is None:
        return 0
    delay = min(MAX_WAIT, 2 ** min(failures - threshold + 1, 16))
    return _remaining(last + timedelta(seconds=delay), now)


def _remaining(until: datetime, now: datetime) -> int:
    return max(0, math.ceil((until - now).total_seconds()))


def wait_seconds(uow: UnitOfWork, attempt: Attempt, now: datetime) -> int:
    """How long this attempt must still wait (0: it may try now)."""
    since = now - WINDOW
    pair = _failures(uow, since, *_pair(attempt))
    source = _failures(uow, since, LoginFailure.source_key == attempt.source_key)
    account = _failures(uow, since, LoginFailure.account_key == attempt.account_key)
    locked = _failures(uow, now - LOCK_DURATION, *_pair(attempt), LoginFailure.locks == "account")
    blocked = _failures(uow, since, LoginFailure.source_key == attempt.source_key,
                        LoginFailure.locks == "source")
    waits = [_backoff(*pair, SLOW_AFTER, now), _backoff(*source, SOURCE_SLOW_AFTER, now),
             _backoff(*account, ACCOUNT_CEILING, now)]
    if locked[1] is not None:
        waits.append(_remaining(locked[1] + LOCK_DURATION, now))
    if blocked[1] is not None:
        waits.append(_remaining(blocked[1] + WINDOW, now))
    return max(waits)


def _pair(attempt: Attempt) -> tuple[Any, Any]:
    return (LoginFailure.account_key == attempt.account_key,
            LoginFailure.source_key == attempt.source_key)


def record_failure(uow: UnitOfWork, attempt: Attempt, now: datetime) -> bool:
    """Count one failure (and forget those past the window); True when it locks the account
    for this source. The failure that reaches a threshold carries the lock it sets."""
    uow.session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW))
    pair, _ = _failures(uow, now - WINDOW, *_pair(attempt))
    source, _ = _failures(uow, now - WINDOW, LoginFailure.source_key == attempt.source_key)
    locks = "account" if pair + 1 >= LOCK_AFTER else \
        "source" if source + 1 >= SOURCE_BLOCK_AFTER else None
    uow.session.add(LoginFailure(account_key=attempt.account_key,
                                 source_key=attempt.source_key, failed_at=now, locks=locks))
    uow.session.flush()
    return locks == "account"


def clear(uow: UnitOfWork, attempt: Attempt) -> None:
    """A successful login forgets this source's failures on this account (not the others)."""
    uow.session.execute(delete(LoginFailure).where(
        LoginFailure.account_key == attempt.account_key,
        LoginFailure.source_key == attempt.source_key))


def message(wait: int) -> str:
    """The one answer to every throttled attempt, whether the account exists or not."""
    if wait < 120:
        unit = "seconde" if wait == 1 else "secondes"
        return f"Trop d'essais infructueux : réessayez dans {wait} {unit}."
    return f"Trop d'essais infructueux : réessayez dans {math.ceil(wait / 60)} minutes."
