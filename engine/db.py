"""Database engine, declarative base and the unit of work every service takes.

A unit of work is one transaction: a service adds its rows, its audit rows and its outbox
rows to `uow.session`, and the caller commits once. Anything raised before the commit
rolls the whole of it back, so a failed request leaves no half-written state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from engine import events
from engine.clock import Clock, SystemClock
from engine.keys.errors import MasterKeyMissing
from engine.keys.master import MasterKey

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is expected")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Freed pages are zeroed: a destroyed case key does not linger in the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class Database:
    """The engine and session factory of one application (nothing global)."""

    def __init__(self, url: str, clock: Clock | None = None, master: MasterKey | None = None):
        self.url = url
        self.master = master
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.clock: Clock = clock or SystemClock()
        # Rows that never change once written (deployed process versions), kept per
        # database for this process: a step re-attaches them without a query.
        self.immutable_rows: dict[tuple[str, int], Any] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction. Use as a context manager; nothing is kept unless `commit()` is called."""

    def __init__(self, db: Database):
        self.db = db
        self.session: Session = db.sessions()
        # Who acts, for the audit trail: set by the web/CLI layer, never by a service.
        self.via_token_id: int | None = None
        self.session.info["uow"] = self
        # Audit rows appended by this transaction, written at commit (see audit.append), and
        # the chain's head once written (the chain's lock is then held until the end).
        self.audit_pending: list[tuple[Any, Any]] = []
        self.audit_head: tuple[int, str] | None = None
        # Steps run at commit after the domain events and before the database commit.
        self.before_commit: list[Callable[[UnitOfWork], None]] = []
        # Domain events recorded by services, dispatched to their handlers before commit.
        self.pending_events: list[events.Event] = []

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def now(self) -> datetime:
        return self.db.clock.now()

    @property
    def master(self) -> MasterKey:
        """The master key that wraps private keys; absent only in tools that need none."""
        if self.db.master is None:
            raise MasterKeyMissing("Clé maîtresse non chargée : lancez « relais init ».")
        return self.db.master

    def commit(self) -> None:
        events.dispatch(self)  # reactions join this transaction, before it commits
        for step in self.before_commit:  # then the audit rows of the whole transaction
            step(self)
        self._reset()
        self.session.commit()

    def rollback(self) -> None:
        self._reset()
        self.pending_events.clear()
        self.session.rollback()

    def _reset(self) -> None:
        self.audit_pending, self.audit_head, self.before_commit = [], None, []

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc: object) -> None:
        # Whatever was not committed is dropped; committed objects stay readable.
        if self.session.in_transaction():
            self.rollback()
        self.close()


@contextmanager
def transaction(db: Database) -> Iterator[UnitOfWork]:
    """A unit of work that commits when the block ends without error."""
    with db.unit_of_work() as uow:
        yield uow
        uow.commit()
