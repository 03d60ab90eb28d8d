"""Bulk loading of benchmark rows: PostgreSQL's COPY, executemany elsewhere.

COPY streams rows without one statement per batch (1,000,000 instances with their case and
task rows load in minutes rather than tens of minutes); SQLite has no COPY, and its
executemany is already fast (one process, no round trips).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, text


def load_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in this connection's
    transaction."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    raw = conn.connection.driver_connection  # psycopg 3: COPY through its own cursor
    assert raw is not None
    quoted = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cursor, cursor.copy(
            f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(tuple(_plain(row[c]) for c in columns))


def _plain(value: Any) -> Any:
    """What the ORM's UTCDateTime would bind: naive UTC (COPY bypasses the type)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def reset_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """After explicit ids: the next id the database hands out follows the largest (PG)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT max(id) FROM {table}))"))


def analyze(conn: Connection) -> None:
    """Fresh planner statistics, as autovacuum would give after a bulk load."""
    conn.execute(text("ANALYZE"))
