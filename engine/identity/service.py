"""Identity use cases: the only entry point for web, CLI and jobs.

Guarantees:
- Passwords are hashed with argon2id; tokens and session ids are random and stored as SHA-256
  hashes; TOTP secrets are wrapped by the master key.
- Password guessing is throttled per typed account and source address, per source, and per
  account past a ceiling (engine.identity.throttle); unknown accounts get the same answers.
  Second-factor failures (the password was right) lock the account itself after LOCK_AFTER.
- Disabling a user ends all their sessions and revokes all their tokens in the same transaction.
- Every change here is audited in the caller's unit of work.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, NoReturn

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from engine.audit import service as audit
from engine.audit.service import SYSTEM, Actor
from engine.db import UnitOfWork
from engine.errors import Conflict, NotFound
from engine.identity import throttle
from engine.identity.errors import (
    AccountLocked,
    AuthenticationFailed,
    IdentityInvalid,
    InvalidToken,
    LoginThrottled,
    SessionExpired,
)
from engine.identity.models import (
    OFFENCE_DATA_KINDS,
    SECRECY_KINDS,
    ApiToken,
    Membership,
    Organisation,
    OrganisationKind,
    User,
    UserSession,
)
from engine.identity.principal import (  # re-exported: callers import them from here
    Grant as Grant,
)
from engine.identity.principal import (
    Principal,
    principal_for,
)
from engine.identity.principal import (
    require_role as require_role,
)
from engine.identity.roles import Role

SLOW_AFTER = throttle.SLOW_AFTER
LOCK_AFTER = throttle.LOCK_AFTER
LOCK_DURATION = throttle.LOCK_DURATION
SECOND_FACTOR_WINDOW = timedelta(minutes=5)  # from the password to the code
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOKEN_AUDIT_INTERVAL = timedelta(hours=1)
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "rls_"  # noqa: S105 - a public marker, not a secret
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."

_hasher = PasswordHasher()
# Verified against when the user is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- organisations, users, roles -----------------------------------------------------------

def get_organisation(uow: UnitOfWork, slug: str) -> Organisation:
    org = uow.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        raise NotFound(f"Organisation inconnue : {slug}.")
    return org


def find_organisation(uow: UnitOfWork, slug: str) -> Organisation | None:
    return uow.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()


def create_organisation(uow: UnitOfWork, actor: Actor, *, slug: str, name: str,
                        kind: str) -> Organisation:
    if not SLUG_RE.match(slug):
        raise IdentityInvalid("Identifiant d'organisation invalide : lettres minuscules, "
                              "chiffres et tirets seulement.")
    if kind not in OrganisationKind._value2member_map_:
        raise IdentityInvalid(f"Type d'organisation inconnu : {kind}.")
    if not name.strip():
        raise IdentityInvalid("Le nom de l'organisation est obligatoire.")
    if find_organisation(uow, slug) is not None:
        raise Conflict(f"L'organisation {slug} existe déjà.")
    org = Organisation(slug=slug, name=name.strip(), kind=kind, active=True,
                       created_at=uow.now(), offence_data_authorised=kind in OFFENCE_DATA_KINDS,
                       bound_by_secrecy=kind in SECRECY_KINDS)
    uow.session.add(org)
    uow.session.flush()
    audit.append(uow, actor, "identity.organisation_created", subject_type="organisation",
                 subject_id=org.id, slug=slug, kind=kind)
    return org


def set_offence_data_authorised(uow: UnitOfWork, actor: Actor, org: Organisation,
                                flag: bool) -> Organisation:
    """Allow (or stop) `org` receiving offence data (category `OFF`): police, gendarmerie
    (set when created) and approved victim-support associations. Audited when it changes;
    the caller checks who may decide it (an administrator, or the demo set-up)."""
    return _set_flag(uow, actor, org, "offence_data_authorised", flag)


def set_bound_by_secrecy(uow: UnitOfWork, actor: Actor, org: Organisation,
                         flag: bool) -> Organisation:
    """Flag `org`'s staff as bound by professional secrecy, so that it may receive what the
    "secret partagé" legal bases allow (CASF L.121-6-2, L.226-2-2). Audited when it changes."""
    return _set_flag(uow, actor, org, "bound_by_secrecy", flag)


def set_letterhead(uow: UnitOfWork, actor: Actor, org: Organisation, *, address: str,
                   phone: str, dpo_contact: str) -> Organisation:
    """The letterhead of `org`'s documents (address, phone) and its data-protection officer's
    contact, shown in every document's RGPD notice. Audited when it changes (no values)."""
    values = {"address": address.strip(), "phone": phone.strip(),
              "dpo_contact": dpo_contact.strip()}
    if not all(values.values()) or len(values["phone"]) > 40 \
            or max(len(v) for v in values.values()) > 300:
        raise IdentityInvalid("Adresse, téléphone et contact du délégué à la protection des "
                              "données sont obligatoires (300 caractères au plus).")
    changed = sorted(k for k, v in values.items() if getattr(org, k) != v)
    for name in changed:
        setattr(org, name, values[name])
    if changed:
        audit.append(uow, actor, "identity.organisation_letterhead_changed",
                     subject_type="organisation", subject_id=org.id, fields=changed)
    return org


def _set_flag(uow: UnitOfWork, actor: Actor, org: Organisation, name: str,
              flag: bool) -> Organisation:
    if not isinstance(flag, bool):
        raise IdentityInvalid("Valeur attendue : oui ou non.")
    if getattr(org, name) != flag:
        setattr(org, name, flag)
        audit.append(uow, actor, "identity.organisation_flag_changed",
                     subject_type="organisation", subject_id=org.id, flag=name, value=flag)
    return org


def find_user(uow: UnitOfWork, username: str) -> User | None:
    return uow.session.scalars(select(User).where(User.username == username)).first()


def get_user(uow: UnitOfWork, username: str) -> User:
    user = find_user(uow, username)
    if user is None:
        raise NotFound(f"Utilisateur inconnu : {username}.")
    return user


def _check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise IdentityInvalid(f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} "
                              "caractères.")


def create_user(uow: UnitOfWork, actor: Actor, *, username: str, display_name: str,
                password: str) -> User:
    if not USERNAME_RE.match(username):
        raise IdentityInvalid("Identifiant invalide : 2 à 63 caractères, lettres minuscules, "
                              "chiffres, « . », « _ » ou « - ».")
    _check_password_policy(password)
    if find_user(uow, username) is not None:
        raise Conflict(f"L'utilisateur {username} existe déjà.")
    user = User(username=username, display_name=display_name.strip() or username,
                password_hash=_hasher.hash(password), active=True, failed_logins=0,
                created_at=uow.now())
    uow.session.add(user)
    uow.session.flush()
    audit.append(uow, actor, "identity.user_created", subject_type="user", subject_id=user.id)
    return user


def set_password(uow: UnitOfWork, actor: Actor, user: User, password: str) -> None:
    _check_password_policy(password)
    user.password_hash = _hasher.hash(password)
    audit.append(uow, actor, "identity.password_changed", subject_type="user", subject_id=user.id)


def password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def grant_role(uow: UnitOfWork, actor: Actor, user: User, organisation: Organisation,
               role: str) -> Membership:
    if role not in Role.__members__:
        raise IdentityInvalid(f"Rôle inconnu : {role}.")
    existing = uow.session.scalars(select(Membership).where(
        Membership.user_id == user.id, Membership.organisation_id == organisation.id,
        Membership.role == role)).first()
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organisation_id=organisation.id, role=role)
    uow.session.add(membership)
    uow.session.flush()
    uow.session.refresh(user)
    audit.append(uow, actor, "identity.role_granted", subject_type="user", subject_id=user.id,
                 organisation_id=organisation.id, role=role)
    return membership


def disable_user(uow: UnitOfWork, actor: Actor, user: User) -> None:
    """Disable an account: every session ends and every token is revoked, now."""
    now = uow.now()
    user.active = False
    user.disabled_at = now
    ended = uow.session.execute(
        update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason="user_disabled")).rowcount
    revoked = uow.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount
    audit.append(uow, actor, "identity.user_disabled", subject_type="user", subject_id=user.id,
                 sessions_ended=ended, tokens_revoked=revoked)


# --- password login and throttling ---------------------------------------------------------

def _throttle_wait(user: User, now: datetime) -> int:
    """Seconds the account must still wait after second-factor failures (0 when it may try)."""
    if user.locked_until is not None and user.locked_until > now:
        return max(1, int((user.locked_until - now).total_seconds() + 0.999))
    if user.failed_logins < SLOW_AFTER or user.last_failed_at is None:
        return 0
    delay = timedelta(seconds=2 ** (user.failed_logins - SLOW_AFTER + 1))
    remaining = (user.last_failed_at + delay - now).total_seconds()
    return max(0, int(remaining + 0.999))


def authenticate_password(uow: UnitOfWork, username: str, password: str, *,
                          source: str | None) -> User:
    """Check a username and password typed from `source` (the client's address); throttle
    per account and source, per source, and per account past a ceiling (engine.identity.
    throttle). Unknown and known accounts get the same answers and cost. Audited."""
    now = uow.now()
    attempt = throttle.Attempt.of(username, source)
    user = find_user(uow, username) if USERNAME_RE.match(username or "") else None
    wait = throttle.wait_seconds(uow, attempt, now)
    if not wait and user is not None:
        wait = _throttle_wait(user, now)
    if wait:
        _audit_attempt(uow, user, "identity.login_refused", reason="throttled")
        raise LoginThrottled(throttle.message(wait), wait)
    if user is None or not user.active or not password_matches(user, password):
        _refuse_password(uow, user, attempt, now, password)
    assert user is not None
    throttle.clear(uow, attempt)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if needs_second_factor(user) and totp_enrolled(user):
        # Only the second factor clears its count: a known password must not reset the
        # failures of code guessing (otherwise TOTP could be brute-forced without limit).
        return user
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None
    return user


def _refuse_password(uow: UnitOfWork, user: User | None, attempt: throttle.Attempt,
                     now: datetime, password: str) -> NoReturn:
    if user is None:
        _dummy_verify(password)  # the same argon2 cost as checking a real password
    reason = "unknown_user" if user is None else "disabled" if not user.active \
        else "bad_password"
    locks = throttle.record_failure(uow, attempt, now)
    _audit_attempt(uow, user, "identity.login_failed", reason=reason)
    if locks:
        _audit_attempt(uow, user, "identity.account_locked", scope="source",
                       until=(now + throttle.LOCK_DURATION).isoformat())
    raise AuthenticationFailed(BAD_CREDENTIALS)


def _audit_attempt(uow: UnitOfWork, user: User | None, action: str, **details: Any) -> None:
    """Attempts on unknown names are audited anonymously: the typed name is never kept."""
    if user is None:
        audit.append(uow, SYSTEM, action, **details)
    else:
        audit.append(uow, Actor(user.id, user.username), action, subject_type="user",
                     subject_id=user.id, **details)


def _refuse_if_locked(uow: UnitOfWork, user: User, now: datetime) -> None:
    if user.locked_until is not None and user.locked_until > now:
        audit.append(uow, Actor(user.id, user.username), "identity.login_refused",
                     subject_type="user", subject_id=user.id, reason="locked")
        raise AccountLocked(_locked_message(user.locked_until))


def _dummy_verify(password: str) -> None:
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_DUMMY_HASH, password)


def _locked_message(until: datetime) -> str:
    return ("Compte verrouillé après plusieurs échecs de connexion, jusqu'à "
            f"{until.strftime('%H:%M')} UTC. Réessayez ensuite ou contactez votre administrateur.")


def _record_failure(uow: UnitOfWork, user: User, now: datetime,
                    reason: str = "bad_code") -> None:
    """A second-factor failure: counted on the account, whose password was right."""
    actor = Actor(user.id, user.username)
    # A lock that has run out starts a fresh count.
    if user.locked_until is not None and user.locked_until <= now:
        user.failed_logins, user.locked_until = 0, None
    user.failed_logins += 1
    user.last_failed_at = now
    audit.append(uow, actor, "identity.login_failed", subject_type="user", subject_id=user.id,
                 reason=reason, failures=user.failed_logins)
    if user.failed_logins >= LOCK_AFTER:
        user.locked_until = now + LOCK_DURATION
        audit.append(uow, actor, "identity.account_locked", subject_type="user",
                     subject_id=user.id, until=user.locked_until.isoformat())


def unlock_user(uow: UnitOfWork, actor: Actor, user: User) -> None:
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None
    audit.append(uow, actor, "identity.account_unlocked", subject_type="user", subject_id=user.id)


# --- TOTP second factor --------------------------------------------------------------------

def pending_second_factor(uow: UnitOfWork, user_id: int | None,
                          password_checked_at: float | None) -> User | None:
    """The active user whose password was checked at `password_checked_at` (a timestamp),
    if the second factor (or its enrolment) still comes within SECOND_FACTOR_WINDOW."""
    if user_id is None or password_checked_at is None:
        return None
    if uow.now().timestamp() - password_checked_at > SECOND_FACTOR_WINDOW.total_seconds():
        return None
    user = uow.session.get(User, user_id)
    return user if user is not None and user.active else None


def needs_second_factor(user: User) -> bool:
    """ADMIN accounts must pass TOTP on the web login."""
    return any(m.role == Role.ADMIN for m in user.memberships)


def totp_enrolled(user: User) -> bool:
    return user.totp_enrolled_at is not None


def _totp_context(user: User) -> str:
    return f"relais/totp/{user.id}"


def begin_totp_enrolment(uow: UnitOfWork, user: User) -> str:
    """A fresh secret, wrapped at rest, pending until a first code confirms it."""
    if totp_enrolled(user):
        raise Conflict("La double authentification est déjà activée pour ce compte.")
    secret = pyotp.random_base32()
    user.totp_secret_wrapped = uow.master.wrap(secret.encode(), _totp_context(user))
    return secret


def pending_totp_secret(uow: UnitOfWork, user: User) -> str | None:
    if user.totp_secret_wrapped is None:
        return None
    return uow.master.unwrap(user.totp_secret_wrapped, _totp_context(user)).decode()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Relais")


def _check_code(uow: UnitOfWork, user: User, code: str) -> bool:
    secret = pending_totp_secret(uow, user)
    code = (code or "").strip().replace(" ", "")
    if secret is None or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(secret)
    now = uow.now()
    for drift in (-1, 0, 1):
        step = int(now.timestamp()) // totp.interval + drift
        # A code is accepted once: no replay within its window.
        if (user.totp_last_step is None or step > user.totp_last_step) and \
                secrets.compare_digest(totp.at(step * totp.interval), code):
            user.totp_last_step = step
            return True
    return False


def confirm_totp_enrolment(uow: UnitOfWork, user: User, code: str) -> None:
    if not _check_code(uow, user, code):
        raise AuthenticationFailed("Code de vérification incorrect : saisissez le code à six "
                                   "chiffres affiché par votre application.")
    user.totp_enrolled_at = uow.now()
    audit.append(uow, Actor(user.id, user.username), "identity.totp_enrolled",
                 subject_type="user", subject_id=user.id)


def verify_second_factor(uow: UnitOfWork, user: User, code: str) -> None:
    """Check the TOTP code of a login; failures count towards the lock like passwords."""
    now = uow.now()
    _refuse_if_locked(uow, user, now)
    if not totp_enrolled(user) or not _check_code(uow, user, code):
        _record_failure(uow, user, now, reason="bad_code")
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(_locked_message(user.locked_until))
        raise AuthenticationFailed("Code de vérification incorrect.")
    user.failed_logins, user.last_failed_at, user.locked_until = 0, None, None


# --- web sessions --------------------------------------------------------------------------

def open_session(uow: UnitOfWork, user: User) -> str:
    """A new session with a fresh random id (never reused across logins). Audited."""
    sid = secrets.token_urlsafe(32)
    now = uow.now()
    row = UserSession(sid_hash=_sha256(sid), user_id=user.id, created_at=now, last_seen_at=now)
    uow.session.add(row)
    uow.session.flush()
    audit.append(uow, Actor(user.id, user.username), "identity.login", subject_type="user",
                 subject_id=user.id, session=row.id)
    return sid


def resume_session(uow: UnitOfWork, sid: str) -> Principal:
    """The principal of a live session; ends it if idle or too old."""
    row = _session_row(uow, sid)
    if row is None or row.ended_at is not None:
        raise SessionExpired("Votre session a pris fin : reconnectez-vous.")
    now = uow.now()
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT:
        reason = "idle" if now - row.last_seen_at > IDLE_TIMEOUT else "absolute"
        row.ended_at, row.end_reason = now, reason
        audit.append(uow, SYSTEM, "identity.session_expired", subject_type="user",
                     subject_id=row.user_id, session=row.id, reason=reason)
        raise SessionExpired("Votre session a expiré après une période d'inactivité : "
                             "reconnectez-vous." if reason == "idle" else
                             "Votre session a expiré (durée maximale de 12 heures atteinte) : "
                             "reconnectez-vous.")
    user = uow.session.get(User, row.user_id)
    if user is None or not user.active:
        raise SessionExpired("Votre session a pris fin : reconnectez-vous.")
    row.last_seen_at = now
    return principal_for(user, session_id=row.id)


def end_session(uow: UnitOfWork, sid: str, reason: str = "logout") -> None:
    row = _session_row(uow, sid)
    if row is None or row.ended_at is not None:
        return
    row.ended_at, row.end_reason = uow.now(), reason
    user = uow.session.get(User, row.user_id)
    actor = Actor(row.user_id, user.username) if user and reason == "logout" else SYSTEM
    audit.append(uow, actor, "identity.logout", subject_type="user", subject_id=row.user_id,
                 session=row.id, reason=reason)


def _session_row(uow: UnitOfWork, sid: str) -> UserSession | None:
    stmt = select(UserSession).where(UserSession.sid_hash == _sha256(sid))
    return uow.session.scalars(stmt).first()


# --- API tokens ----------------------------------------------------------------------------

def create_token(uow: UnitOfWork, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token: returned once in clear, stored only as its hash."""
    if not user.active:
        raise IdentityInvalid("Ce compte est désactivé : aucun jeton ne peut lui être délivré.")
    label = (name or "").strip() or "jeton"
    if len(label) > 120:
        raise IdentityInvalid("Le nom du jeton ne doit pas dépasser 120 caractères.")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=label, prefix=clear[:10], token_hash=_sha256(clear),
                     created_at=uow.now())
    uow.session.add(token)
    uow.session.flush()
    audit.append(uow, actor, "identity.token_created", subject_type="api_token",
                 subject_id=token.id, user=user.id)
    return token, clear


def revoke_token(uow: UnitOfWork, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = uow.now()
        audit.append(uow, actor, "identity.token_revoked", subject_type="api_token",
                     subject_id=token.id)


def authenticate_token(uow: UnitOfWork, raw: str) -> Principal:
    """The principal behind a bearer token; every use is attributed to the token."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise InvalidToken("Jeton d'accès mal formé.")
    token = uow.session.scalars(select(ApiToken).where(ApiToken.token_hash == _sha256(raw))).first()
    if token is None:
        raise InvalidToken("Jeton d'accès inconnu.")
    if token.revoked_at is not None:
        raise InvalidToken("Ce jeton d'accès a été révoqué.")
    user = uow.session.get(User, token.user_id)
    if user is None or not user.active:
        raise InvalidToken("Le compte de ce jeton est désactivé.")
    now = uow.now()
    # The audit keeps one "used" row per token and hour; every audited action names the token.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_AUDIT_INTERVAL:
        audit.append(uow, Actor(user.id, user.username, via_token_id=token.id),
                     "identity.token_used", subject_type="api_token", subject_id=token.id)
        token.last_used_at = now
    uow.via_token_id = token.id
    return principal_for(user, via_token_id=token.id)


def tokens_of(uow: UnitOfWork, user: User) -> list[ApiToken]:
    return list(uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.id)))
