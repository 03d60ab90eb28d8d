"""Temporary passwords: the ones an administrator is shown once (a new account, a reset) and
the person must replace at their next login, before any session opens.

An administrator never chooses anyone's password: it is generated here, readable aloud, and
stored only hashed (argon2id, as every password; engine.identity.service).
"""

from __future__ import annotations

import secrets

from engine.audit.service import Actor
from engine.db import UnitOfWork
from engine.errors import Invalid
from engine.identity import service
from engine.identity.models import User

# No 0/O, 1/l/I: the administrator reads the temporary password out or copies it.
TEMPORARY_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def temporary_password() -> str:
    """Four groups of four unambiguous characters (about 92 bits): typed once, then replaced."""
    return "-".join("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(4))
                    for _ in range(4))


def set_temporary_password(user: User, password: str) -> None:
    """A password an administrator was shown: the user must replace it at next login. The
    caller audits (a creation or a reset) — never with the value."""
    user.password_hash = service._hasher.hash(password)  # the module's hasher, set at import
    user.must_change_password = True


def must_change_password(user: User) -> bool:
    """The password was set by an administrator (shown to them once): the user chooses their
    own before any session opens."""
    return bool(user.must_change_password)


def change_temporary_password(uow: UnitOfWork, user: User, password: str,
                              confirmation: str) -> None:
    """The user replaces the temporary password an administrator gave them (checked moments
    before, in the same login). One problem at a time, on its field; audited as the user's
    own change (`identity.password_changed`)."""
    problem = None
    if len(password) < service.MIN_PASSWORD_LENGTH:
        problem = ("password", "Le mot de passe doit compter au moins "
                   f"{service.MIN_PASSWORD_LENGTH} caractères.")
    elif service.password_matches(user, password):
        problem = ("password", "Choisissez un mot de passe différent du mot de passe "
                   "provisoire.")
    elif password != confirmation:
        problem = ("confirmation", "Les deux mots de passe saisis ne sont pas identiques.")
    if problem:
        raise Invalid("Le mot de passe n'a pas été changé.",
                      [{"field": problem[0], "message": problem[1]}])
    service.set_password(uow, Actor(user.id, user.username), user, password)
    user.must_change_password = False
