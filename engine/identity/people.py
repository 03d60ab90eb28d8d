"""People and access, as the administration console manages them: accounts, memberships
(organisation × role), disabling, password and second-factor resets, API tokens.

Every function takes the acting `Principal` and checks the ADMIN role itself; the web pages
only parse, call and render. Rules kept here, whoever calls:
- nobody gives themselves a role, removes their own roles, disables themselves or resets
  their own password or second factor (another administrator does it);
- the last active administrator can be neither disabled nor lose the ADMIN role;
- a password set by an administrator (new account, reset) is a temporary one, generated
  here, shown once, and must be replaced by the user at their next login;
- a second-factor reset needs a reason, kept in the audit log; the user enrols again;
- both resets end the user's open sessions; disabling ends sessions and revokes tokens.
Every change is audited in the caller's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from engine.audit import service as audit
from engine.db import UnitOfWork
from engine.errors import Invalid, NotFound
from engine.identity import passwords
from engine.identity import service as identity
from engine.identity.errors import IdentityInvalid, PermissionDenied
from engine.identity.models import ApiToken, Membership, Organisation, User, UserSession
from engine.identity.principal import Principal, require_role
from engine.identity.roles import ROLE_LABELS, Role

# Why a second factor is reset. The audit log keeps the code: it is append-only and holds
# ids and codes, never free text (which could carry personal data it could never erase).
SECOND_FACTOR_REASONS = {
    "appareil_perdu": "Téléphone perdu ou volé",
    "appareil_remplace": "Nouveau téléphone",
    "application_effacee": "Application d'authentification effacée ou réinstallée",
    "compromission": "Soupçon de compromission du compte",
    "autre": "Autre raison, vérifiée avec la personne",
}
STATES = {"actifs": True, "desactives": False}
LIST_LIMIT = 200  # rows of a listing; past it the page asks to narrow the search


@dataclass(frozen=True)
class Created:
    """A new account and its temporary password (shown once, never stored in clear)."""

    user: User
    temporary_password: str


# --- reading -------------------------------------------------------------------------------

def list_users(uow: UnitOfWork, principal: Principal, *, text: str = "",
               organisation: str = "", role: str = "", state: str = "") -> list[User]:
    """Accounts matching a text (login or name), an organisation's slug, a role and a state
    (`actifs`, `desactives`; anything else: all), by login."""
    require_role(principal, Role.ADMIN)
    stmt = select(User).order_by(User.username)
    if text.strip():
        pattern = f"%{text.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(pattern),
                              func.lower(User.display_name).like(pattern)))
    if organisation or role:
        member = select(Membership.user_id).join(Organisation)
        if organisation:
            member = member.where(Organisation.slug == organisation)
        if role:
            member = member.where(Membership.role == role)
        stmt = stmt.where(User.id.in_(member))
    if state in STATES:
        stmt = stmt.where(User.active.is_(STATES[state]))
    return list(uow.session.scalars(stmt.limit(LIST_LIMIT)))


def get_user(uow: UnitOfWork, principal: Principal, user_id: int) -> User:
    require_role(principal, Role.ADMIN)
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound("Utilisateur introuvable.", code="user_not_found")
    return user


def organisations(uow: UnitOfWork, principal: Principal) -> list[Organisation]:
    """The active organisations a membership may name, by name."""
    require_role(principal, Role.ADMIN)
    return list(uow.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                                    .order_by(Organisation.name)))


def role_choices() -> list[tuple[str, str]]:
    """The role catalogue as (code, French label), in catalogue order."""
    return [(role.value, ROLE_LABELS[role]) for role in Role]


def counts(uow: UnitOfWork, principal: Principal) -> dict[str, int]:
    """Figures for the console's home page: active and disabled accounts, live tokens."""
    require_role(principal, Role.ADMIN)
    active = uow.session.scalar(select(func.count()).select_from(User)
                                .where(User.active.is_(True))) or 0
    disabled = uow.session.scalar(select(func.count()).select_from(User)
                                  .where(User.active.is_(False))) or 0
    tokens = uow.session.scalar(select(func.count()).select_from(ApiToken)
                                .where(ApiToken.revoked_at.is_(None))) or 0
    return {"active_users": active, "disabled_users": disabled, "live_tokens": tokens}


# --- accounts and memberships --------------------------------------------------------------

def create_user(uow: UnitOfWork, principal: Principal, *, username: str, display_name: str,
                organisation: str, role: str) -> Created:
    """A new account with its first membership and a temporary password to change at the
    first login. Every field problem is reported at once, on its field; nothing is written."""
    require_role(principal, Role.ADMIN)
    username = username.strip().lower()
    errors = []
    if not identity.USERNAME_RE.match(username):
        errors.append(_field("username", "Identifiant invalide : 2 à 63 caractères, lettres "
                             "minuscules, chiffres, « . », « _ » ou « - »."))
    elif identity.find_user(uow, username) is not None:
        errors.append(_field("username", f"L'identifiant {username} est déjà pris."))
    if not display_name.strip() or len(display_name.strip()) > 200:
        errors.append(_field("display_name", "Le nom affiché est obligatoire (200 caractères "
                             "au plus)."))
    org, problems = _membership_fields(uow, organisation, role)
    errors.extend(problems)
    if errors:
        raise Invalid("Le compte n'a pas été créé : corrigez les champs signalés.", errors)
    assert org is not None
    password = passwords.temporary_password()
    user = identity.create_user(uow, principal.actor, username=username,
                                display_name=display_name.strip(), password=password)
    user.must_change_password = True  # shown once to the administrator: temporary
    identity.grant_role(uow, principal.actor, user, org, role)
    return Created(user, password)


def add_membership(uow: UnitOfWork, principal: Principal, user_id: int, *, organisation: str,
                   role: str) -> Membership:
    user = get_user(uow, principal, user_id)
    org, errors = _membership_fields(uow, organisation, role)
    if errors:
        raise Invalid("Le rôle n'a pas été ajouté : corrigez les champs signalés.", errors)
    assert org is not None
    return identity.grant_role(uow, principal.actor, user, org, role)  # refuses oneself


def remove_membership(uow: UnitOfWork, principal: Principal, user_id: int,
                      membership_id: int) -> None:
    user = get_user(uow, principal, user_id)
    membership = uow.session.get(Membership, membership_id)
    if membership is None or membership.user_id != user.id:
        raise NotFound("Ce rôle n'existe pas pour ce compte.", code="membership_not_found")
    _refuse_self(principal, user, "Vous ne pouvez pas retirer vos propres rôles : un autre "
                 "administrateur doit le faire.")
    if membership.role == Role.ADMIN and user.active:
        _keep_an_administrator(uow, membership, "Impossible de retirer ce rôle : c'est le dernier "
                               "administrateur actif de la plateforme.")
    organisation_id, role = membership.organisation_id, membership.role
    uow.session.delete(membership)
    uow.session.flush()
    uow.session.refresh(user)
    audit.append(uow, principal.actor, "identity.role_revoked", subject_type="user",
                 subject_id=user.id, organisation_id=organisation_id, role=role)


def disable(uow: UnitOfWork, principal: Principal, user_id: int) -> User:
    """Disable an account (its sessions end and its tokens are revoked, now)."""
    user = get_user(uow, principal, user_id)
    _refuse_self(principal, user, "Vous ne pouvez pas désactiver votre propre compte.")
    if not user.active:
        return user
    if identity.needs_second_factor(user):
        _keep_an_administrator(uow, user, "Impossible de désactiver ce compte : c'est le "
                               "dernier administrateur actif de la plateforme.")
    identity.disable_user(uow, principal.actor, user)
    return user


def enable(uow: UnitOfWork, principal: Principal, user_id: int) -> User:
    """Enable a disabled account again. Its tokens stay revoked (new ones can be issued)."""
    user = get_user(uow, principal, user_id)
    if user.active:
        return user
    user.active, user.disabled_at = True, None
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None
    audit.append(uow, principal.actor, "identity.user_enabled", subject_type="user",
                 subject_id=user.id)
    return user


def unlock(uow: UnitOfWork, principal: Principal, user_id: int) -> User:
    """Lift the lock that second-factor failures put on an account (audited)."""
    user = get_user(uow, principal, user_id)
    if user.locked_until is not None or user.failed_logins:
        identity.unlock_user(uow, principal.actor, user)
    return user


def reset_password(uow: UnitOfWork, principal: Principal, user_id: int) -> str:
    """A new temporary password (returned once), to change at the next login; the account's
    sessions end and its lock is lifted. API tokens are not touched."""
    user = get_user(uow, principal, user_id)
    _refuse_self(principal, user, "Vous ne pouvez pas réinitialiser votre propre mot de "
                 "passe ici : un autre administrateur doit le faire.")
    if not user.active:
        raise IdentityInvalid("Ce compte est désactivé : réactivez-le d'abord.")
    password = passwords.temporary_password()
    passwords.set_temporary_password(user, password)
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None
    ended = _end_sessions(uow, user, "password_reset")
    audit.append(uow, principal.actor, "identity.password_reset", subject_type="user",
                 subject_id=user.id, sessions_ended=ended)
    return password


def reset_second_factor(uow: UnitOfWork, principal: Principal, user_id: int,
                        reason: str) -> User:
    """Forget the account's second factor (lost phone…): it enrols again at next login.
    The reason, chosen from SECOND_FACTOR_REASONS, is required and kept in the audit log as
    its code (the log holds codes, never free text); the account's sessions end."""
    user = get_user(uow, principal, user_id)
    _refuse_self(principal, user, "Vous ne pouvez pas réinitialiser votre propre second "
                 "facteur : un autre administrateur doit le faire.")
    if reason not in SECOND_FACTOR_REASONS:
        raise Invalid("Le second facteur n'a pas été réinitialisé.", [_field(
            "reason", "Choisissez la raison de la réinitialisation : elle est conservée "
            "dans le journal d'audit.")])
    user.totp_secret_wrapped, user.totp_enrolled_at, user.totp_last_step = None, None, None
    ended = _end_sessions(uow, user, "second_factor_reset")
    audit.append(uow, principal.actor, "identity.second_factor_reset", subject_type="user",
                 subject_id=user.id, reason=reason, sessions_ended=ended)
    return user


# --- API tokens ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    owner: User
    organisations: list[str]


def list_tokens(uow: UnitOfWork, principal: Principal, *, state: str = "",
                user_id: int | None = None) -> list[TokenRow]:
    """Every token (of one account if `user_id`) with its owner and the owner's
    organisations, newest first; `state` `actifs` or `revoques` filters."""
    require_role(principal, Role.ADMIN)
    stmt = select(ApiToken, User).join(User, User.id == ApiToken.user_id) \
        .order_by(ApiToken.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    if state == "actifs":
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    elif state == "revoques":
        stmt = stmt.where(ApiToken.revoked_at.is_not(None))
    stmt = stmt.limit(LIST_LIMIT)
    return [TokenRow(token, owner, sorted({m.organisation.name for m in owner.memberships}))
            for token, owner in uow.session.execute(stmt)]


def create_token(uow: UnitOfWork, principal: Principal, user_id: int,
                 name: str) -> tuple[ApiToken, str]:
    """A token for an account, returned once in clear (audited by identity)."""
    user = get_user(uow, principal, user_id)
    if len((name or "").strip()) > 120:
        raise Invalid("Le jeton n'a pas été créé.", [_field(
            "name", "Le nom du jeton ne doit pas dépasser 120 caractères.")])
    return identity.create_token(uow, principal.actor, user, name)


def create_token_for_login(uow: UnitOfWork, principal: Principal, username: str,
                           name: str) -> tuple[ApiToken, str]:
    """The tokens page's form: the account is typed by its login."""
    require_role(principal, Role.ADMIN)
    user = identity.find_user(uow, (username or "").strip().lower())
    if user is None or not user.active:
        raise Invalid("Le jeton n'a pas été créé.", [_field(
            "username", "Aucun compte actif n'a cet identifiant.")])
    return create_token(uow, principal, user.id, name)


def revoke_token(uow: UnitOfWork, principal: Principal, token_id: int) -> ApiToken:
    require_role(principal, Role.ADMIN)
    token = uow.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("Jeton introuvable.", code="token_not_found")
    identity.revoke_token(uow, principal.actor, token)
    return token


# --- helpers -------------------------------------------------------------------------------

def _field(name: str, message: str) -> dict[str, str]:
    return {"field": name, "message": message}


def _membership_fields(uow: UnitOfWork, organisation: str,
                       role: str) -> tuple[Organisation | None, list[dict[str, str]]]:
    errors = []
    org = identity.find_organisation(uow, organisation) if organisation else None
    if org is None or not org.active:
        errors.append(_field("organisation", "Choisissez une organisation de la liste."))
    if role not in Role.__members__:
        errors.append(_field("role", "Choisissez un rôle du catalogue."))
    return org, errors


def _refuse_self(principal: Principal, user: User, message: str) -> None:
    if principal.user_id == user.id:
        raise PermissionDenied(message)


def _keep_an_administrator(uow: UnitOfWork, leaving: User | Membership, message: str) -> None:
    """Refuse unless an ADMIN membership in an active organisation, held by an active
    account, remains once `leaving` (an account, or one membership) is gone."""
    stmt = (select(func.count()).select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(User.active.is_(True), Membership.role == Role.ADMIN,
                   Organisation.active.is_(True)))
    if isinstance(leaving, User):
        stmt = stmt.where(User.id != leaving.id)
    else:
        stmt = stmt.where(Membership.id != leaving.id)
    if not uow.session.scalar(stmt):
        raise IdentityInvalid(message, code="last_administrator", status=409)


def _end_sessions(uow: UnitOfWork, user: User, reason: str) -> int:
    now: datetime = uow.now()
    return uow.session.execute(
        update(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)).rowcount
