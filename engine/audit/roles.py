"""PostgreSQL: the audit tables owned by a role other than the application's.

The append-only trigger stops UPDATE, DELETE and TRUNCATE, but the owner of a table can
disable its triggers. So in production the application's role must not own `audit_entry`
and `audit_checkpoint`: `relais init --audit-owner ROLE` gives them to ROLE and leaves the
application only SELECT and INSERT (plus the checkpoint id sequence). Run it with an
administrator's connection; the application's role must be neither superuser nor a member
of ROLE, or it could take the owner's rights back.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.audit.errors import AuditOwnershipRefused
from engine.db import UnitOfWork

TABLES = ("audit_entry", "audit_checkpoint")
SEQUENCE = "audit_checkpoint_id_seq"
ROLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}")



def _quoted(role: str) -> str:
    if not ROLE_RE.fullmatch(role):
        raise AuditOwnershipRefused(f"Nom de rôle PostgreSQL invalide : {role!r}.")
    return f'"{role}"'


def hand_over(uow: UnitOfWork, owner: str, app_role: str | None = None) -> str:
    """Make `owner` own the audit tables and grant `app_role` (default: the connected role)
    only SELECT and INSERT on them. Returns the application role. PostgreSQL only."""
    if uow.dialect != "postgresql":
        raise AuditOwnershipRefused("--audit-owner ne s'applique qu'à PostgreSQL.")
    app = app_role or uow.session.scalar(text("SELECT current_user"))
    owner_q, app_q = _quoted(owner), _quoted(app)
    _refuse_unsafe_app_role(uow, owner, app)
    try:
        for table in TABLES:
            uow.session.execute(text(f"ALTER TABLE {table} OWNER TO {owner_q}"))
            uow.session.execute(text(f"REVOKE ALL ON {table} FROM PUBLIC, {app_q}"))
            uow.session.execute(text(f"GRANT SELECT, INSERT ON {table} TO {app_q}"))
        uow.session.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE {SEQUENCE} TO {app_q}"))
    except DBAPIError as exc:
        raise AuditOwnershipRefused(
            f"Impossible de confier le journal d'audit au rôle {owner} : "
            f"{str(exc.orig).strip().splitlines()[0]}") from exc
    return app


def _refuse_unsafe_app_role(uow: UnitOfWork, owner: str, app: str) -> None:
    row = uow.session.execute(text(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = :app) AS super, "
        "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :owner) AS owner_exists"),
        {"app": app, "owner": owner}).one()
    if not row.owner_exists:
        raise AuditOwnershipRefused(f"Le rôle PostgreSQL {owner} n'existe pas : créez-le "
                                    "(CREATE ROLE … NOLOGIN) avant « relais init ».")
    if owner == app or row.super is None or row.super:
        raise AuditOwnershipRefused(
            f"Le rôle de l'application ({app}) doit exister, ne pas être superutilisateur et "
            f"être distinct de {owner} : indiquez-le par --app-role.")
    member = uow.session.scalar(text("SELECT pg_has_role(:app, :owner, 'MEMBER')"),
                                {"app": app, "owner": owner})
    if member:
        raise AuditOwnershipRefused(f"Le rôle de l'application ({app}) est membre de {owner} : "
                                    "il pourrait désactiver le déclencheur du journal.")
