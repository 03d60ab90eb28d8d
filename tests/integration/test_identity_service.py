"""Identity services: validation, password hashing, throttling and locks, sessions, tokens, TOTP.

Every test runs on SQLite and, when configured, PostgreSQL (the `db`/`uow` fixtures).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import MetaData, func, select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.demo import DEMO_PASSWORD
from engine.errors import Conflict
from engine.identity import service as identity
from engine.identity import throttle
from engine.identity.errors import (
    AccountLocked,
    AuthenticationFailed,
    IdentityInvalid,
    InvalidToken,
    LoginThrottled,
    PermissionDenied,
    SessionExpired,
)
from engine.identity.models import ApiToken, LoginFailure, Organisation, User, UserSession
from engine.identity.roles import Role

GOOD_PASSWORD = "un-mot-de-passe-solide"


# --- helpers -------------------------------------------------------------------------------

def _count(uow, model) -> int:
    return uow.session.scalar(select(func.count()).select_from(model))


def _audit_since(uow, seq: int, action: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(uow.session.scalars(stmt))


def _all_stored_values(db) -> list[object]:
    """Every value of every row of every table, as the database holds them."""
    reflected = MetaData()
    reflected.reflect(bind=db.engine)
    values: list[object] = []
    with db.engine.connect() as conn:
        for table in reflected.sorted_tables:
            for row in conn.execute(table.select()):
                values.extend(row)
    assert len(values) > 100, "the scan saw too little to prove anything"
    return values


def _stored_anywhere(db, needle: str) -> bool:
    raw = needle.encode()
    for value in _all_stored_values(db):
        if isinstance(value, memoryview):
            value = value.tobytes()
        if isinstance(value, bytes):
            if raw in value:
                return True
        elif value is not None and needle in str(value):
            return True
    return False


HERE = "192.0.2.10"  # the source address of the tests' logins
ELSEWHERE = "198.51.100.20"


def _login(uow, username: str, password: str = DEMO_PASSWORD, source: str = HERE) -> User:
    return identity.authenticate_password(uow, username, password, source=source)


def _fail_login(uow, username: str = "demo-is", source: str = HERE) -> Exception:
    with pytest.raises(AuthenticationFailed) as caught:
        _login(uow, username, "pas-le-bon-mot-de-passe", source)
    return caught.value


def _user(uow, username: str = "demo-is") -> User:
    return identity.get_user(uow, username)


# --- organisations and users ---------------------------------------------------------------

@pytest.mark.parametrize(("fields", "expected"), [
    ({"slug": "Mauvais Slug", "name": "X", "kind": "association"}, "Identifiant d'organisation"),
    ({"slug": "-tiret", "name": "X", "kind": "association"}, "Identifiant d'organisation"),
    ({"slug": "orga-ok", "name": "X", "kind": "banque"}, "Type d'organisation inconnu"),
    ({"slug": "orga-ok", "name": "   ", "kind": "association"}, "nom de l'organisation"),
])
def test_invalid_organisation_is_refused_and_changes_nothing(uow, fields, expected):
    orgs, seq = _count(uow, Organisation), audit.last_seq(uow)
    with pytest.raises(IdentityInvalid, match=expected) as caught:
        identity.create_organisation(uow, SYSTEM, **fields)
    assert caught.value.status == 422 and caught.value.code == "identity_invalid"
    assert _count(uow, Organisation) == orgs
    assert audit.last_seq(uow) == seq


def test_duplicate_organisation_is_a_conflict(uow):
    orgs, seq = _count(uow, Organisation), audit.last_seq(uow)
    with pytest.raises(Conflict, match="existe déjà"):
        identity.create_organisation(uow, SYSTEM, slug="cd-demo", name="Autre",
                                     kind="departmental_council")
    assert _count(uow, Organisation) == orgs and audit.last_seq(uow) == seq


def test_valid_organisation_is_created_and_audited(uow):
    seq = audit.last_seq(uow)
    org = identity.create_organisation(uow, SYSTEM, slug="ccas-test", name=" CCAS de test ",
                                       kind="ccas")
    assert org.id and org.name == "CCAS de test" and org.active
    [row] = _audit_since(uow, seq)
    assert row.action == "identity.organisation_created" and row.subject_id == str(org.id)


@pytest.mark.parametrize(("fields", "error", "expected"), [
    ({"username": "A B", "password": GOOD_PASSWORD}, IdentityInvalid, "Identifiant invalide"),
    ({"username": "x", "password": GOOD_PASSWORD}, IdentityInvalid, "Identifiant invalide"),
    ({"username": "nouvel-is", "password": "court"}, IdentityInvalid, "au moins 12"),
    ({"username": "demo-is", "password": GOOD_PASSWORD}, Conflict, "existe déjà"),
])
def test_invalid_user_is_refused_and_changes_nothing(uow, fields, error, expected):
    users, seq = _count(uow, User), audit.last_seq(uow)
    with pytest.raises(error, match=expected):
        identity.create_user(uow, SYSTEM, display_name="Quelqu'un", **fields)
    assert _count(uow, User) == users
    assert audit.last_seq(uow) == seq


def test_password_is_hashed_with_argon2id(uow):
    user = identity.create_user(uow, SYSTEM, username="nouvel-is", display_name="Nouvel IS",
                                password=GOOD_PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in user.password_hash
    assert identity.password_matches(user, GOOD_PASSWORD)
    assert not identity.password_matches(user, GOOD_PASSWORD + "!")
    assert _user(uow, "demo-is").password_hash.startswith("$argon2id$")


def test_unknown_role_is_refused(uow):
    user, org = _user(uow), identity.get_organisation(uow, "cd-demo")
    with pytest.raises(IdentityInvalid, match="Rôle inconnu"):
        identity.grant_role(uow, SYSTEM, user, org, "CHEF")


# --- password login, throttling, lock ------------------------------------------------------

def test_login_success_resets_the_failure_count(uow):
    _fail_login(uow)
    _fail_login(uow)
    user = _login(uow, "demo-is")
    assert user.username == "demo-is"
    # The two failures are forgotten: two more are still not throttled.
    for _ in range(identity.SLOW_AFTER - 1):
        assert type(_fail_login(uow)) is AuthenticationFailed
    assert _login(uow, "demo-is").username == "demo-is"


def test_after_three_failures_attempts_are_throttled(uow, clock):
    for _ in range(identity.SLOW_AFTER):
        exc = _fail_login(uow)
        assert type(exc) is AuthenticationFailed
    seq = audit.last_seq(uow)
    with pytest.raises(LoginThrottled) as caught:
        _login(uow, "demo-is")  # even the right one
    assert caught.value.status == 429 and caught.value.retry_after == 2
    assert re.search(r"réessayez dans 2 secondes", caught.value.message)
    clock.advance(seconds=1)
    with pytest.raises(LoginThrottled) as last_second:
        _login(uow, "demo-is")
    assert last_second.value.retry_after == 1
    assert "réessayez dans 1 seconde." in last_second.value.message
    assert _count(uow, LoginFailure) == identity.SLOW_AFTER  # a throttled try is no failure
    refusals = _audit_since(uow, seq)
    assert [r.action for r in refusals] == ["identity.login_refused"] * 2
    assert {json.loads(r.details)["reason"] for r in refusals} == {"throttled"}
    # Once the wait is over the right password works again.
    clock.advance(seconds=60)
    assert _login(uow, "demo-is").username == "demo-is"


def _fail_until_locked(uow, clock, username: str = "demo-is") -> list[Exception]:
    answers = []
    for _ in range(identity.LOCK_AFTER):
        clock.advance(seconds=60)  # past any throttling delay
        answers.append(_fail_login(uow, username))
    return answers


def test_five_failures_lock_that_source_out_of_that_account_for_fifteen_minutes(uow, clock):
    seq = audit.last_seq(uow)
    answers = _fail_until_locked(uow, clock)
    # The lock is not announced by the failure that sets it: the same answer as ever.
    assert {(type(a), a.message) for a in answers} == {(AuthenticationFailed,
                                                        identity.BAD_CREDENTIALS)}
    user = _user(uow)
    [locked] = _audit_since(uow, seq, "identity.account_locked")
    assert locked.subject_type == "user" and locked.subject_id == str(user.id)
    assert json.loads(locked.details)["scope"] == "source"
    assert len(_audit_since(uow, seq, "identity.login_failed")) == identity.LOCK_AFTER
    assert user.locked_until is None  # the account itself is not locked

    with pytest.raises(LoginThrottled, match="réessayez dans 15 minutes"):
        _login(uow, "demo-is")
    clock.advance(seconds=identity.LOCK_DURATION.total_seconds() - 120)
    with pytest.raises(LoginThrottled, match="réessayez dans 2 minutes"):
        _login(uow, "demo-is")
    clock.advance(seconds=121)
    assert _login(uow, "demo-is").username == "demo-is"


def test_a_locked_source_cannot_lock_the_victim_out_from_elsewhere(uow, clock):
    _fail_until_locked(uow, clock)
    with pytest.raises(LoginThrottled):
        _login(uow, "demo-is")
    assert _login(uow, "demo-is", source=ELSEWHERE).username == "demo-is"
    # An IPv6 attacker counts as its /64: changing the last bits changes nothing.
    for n in range(identity.LOCK_AFTER):
        clock.advance(seconds=60)
        _fail_login(uow, "demo-asso", source=f"2001:db8:1:2::{n + 1}")
    with pytest.raises(LoginThrottled):
        _login(uow, "demo-asso", source="2001:db8:1:2::ffff")
    assert _login(uow, "demo-asso", source="2001:db8:1:3::1").username == "demo-asso"


def test_unknown_and_known_accounts_get_the_same_answers_all_the_way(uow, clock):
    def journey(username: str, source: str) -> list[tuple[str, int, str]]:
        answers = []
        for _ in range(identity.LOCK_AFTER + 1):
            clock.advance(seconds=60)
            exc = _fail_login(uow, username, source)
            answers.append((type(exc).__name__, exc.status, exc.message))
        return answers

    known = journey("demo-police", "203.0.113.1")
    assert known == journey("personne-inconnue-x", "203.0.113.2")
    assert known[-1][:2] == ("LoginThrottled", 429)


def test_one_password_across_many_accounts_from_one_source_is_slowed_then_blocked(uow, clock):
    names = [f"compte-{n}" for n in range(throttle.SOURCE_BLOCK_AFTER + 1)]
    for name in names[:throttle.SOURCE_SLOW_AFTER]:  # free tries, one per account
        assert type(_fail_login(uow, name)) is AuthenticationFailed
    with pytest.raises(LoginThrottled) as slowed:
        _login(uow, names[throttle.SOURCE_SLOW_AFTER], "pas-le-bon-mot-de-passe")
    assert slowed.value.retry_after == 2
    for name in names[throttle.SOURCE_SLOW_AFTER:throttle.SOURCE_BLOCK_AFTER]:
        clock.advance(seconds=throttle.MAX_WAIT)
        assert type(_fail_login(uow, name)) is AuthenticationFailed
    clock.advance(seconds=throttle.MAX_WAIT)
    with pytest.raises(LoginThrottled) as blocked:
        _login(uow, "demo-is")  # even a right password, from that source
    assert blocked.value.retry_after > 10 * 60
    assert _login(uow, "demo-is", source=ELSEWHERE).username == "demo-is"


def test_a_distributed_attack_past_the_ceiling_slows_the_account_but_never_locks_it(uow, clock):
    for n in range(throttle.ACCOUNT_CEILING):
        _fail_login(uow, "demo-is", source=f"10.1.{n // 200}.{n % 200}")
    with pytest.raises(LoginThrottled) as slowed:
        _login(uow, "demo-is", source=ELSEWHERE)
    assert 0 < slowed.value.retry_after <= throttle.MAX_WAIT
    clock.advance(seconds=throttle.MAX_WAIT)
    assert _login(uow, "demo-is", source=ELSEWHERE).username == "demo-is"


def test_failures_store_no_username_or_address_in_clear(uow):
    _fail_login(uow, "personne-inconnue")
    _fail_login(uow, "demo-is")
    rows = uow.session.scalars(select(LoginFailure)).all()
    dump = " ".join(f"{r.account_key} {r.source_key}" for r in rows)
    assert len(rows) == 2 and "personne" not in dump and "demo" not in dump and HERE not in dump


def test_unknown_user_gets_the_wrong_password_answer_and_is_audited_anonymously(uow):
    wrong_password = _fail_login(uow, "demo-is")
    seq = audit.last_seq(uow)
    unknown = _fail_login(uow, "personne-inconnue")
    assert type(unknown) is type(wrong_password)
    assert unknown.message == wrong_password.message == identity.BAD_CREDENTIALS
    assert unknown.status == wrong_password.status == 401
    [row] = _audit_since(uow, seq)
    assert row.action == "identity.login_failed"
    assert row.actor_user_id is None and row.subject_id is None
    assert json.loads(row.details) == {"reason": "unknown_user"}
    assert "personne-inconnue" not in row.details + row.actor_label


def test_disabled_user_cannot_log_in(uow):
    identity.disable_user(uow, SYSTEM, _user(uow))
    exc = _fail_login(uow)  # with a wrong password…
    with pytest.raises(AuthenticationFailed) as caught:  # …and with the right one
        _login(uow, "demo-is")
    assert caught.value.message == exc.message == identity.BAD_CREDENTIALS


def test_disabling_a_user_ends_sessions_and_revokes_tokens(db, clock):
    with transaction(db) as uow:
        user = _user(uow)
        sids = [identity.open_session(uow, user), identity.open_session(uow, user)]
        _token, clear = identity.create_token(uow, SYSTEM, user, "script")
        other_sid = identity.open_session(uow, _user(uow, "demo-asso"))
    with transaction(db) as uow:
        seq = audit.last_seq(uow)
        identity.disable_user(uow, SYSTEM, _user(uow))
    with transaction(db) as uow:
        for sid in sids:
            with pytest.raises(SessionExpired):
                identity.resume_session(uow, sid)
        with pytest.raises(InvalidToken):
            identity.authenticate_token(uow, clear)
        assert identity.resume_session(uow, other_sid).username == "demo-asso"
        [row] = _audit_since(uow, seq, "identity.user_disabled")
        assert json.loads(row.details) == {"sessions_ended": 2, "tokens_revoked": 1}
        reasons = set(uow.session.scalars(select(UserSession.end_reason)
                                          .where(UserSession.user_id == _user(uow).id)))
        assert reasons == {"user_disabled"}
        with pytest.raises(IdentityInvalid):
            identity.create_token(uow, SYSTEM, _user(uow), "encore")


# --- web sessions --------------------------------------------------------------------------

def test_idle_session_expires_after_30_minutes_and_is_audited(uow, clock):
    sid = identity.open_session(uow, _user(uow))
    clock.advance(minutes=29)
    assert identity.resume_session(uow, sid).username == "demo-is"
    seq = audit.last_seq(uow)
    clock.advance(minutes=31)
    with pytest.raises(SessionExpired, match="expiré"):
        identity.resume_session(uow, sid)
    [row] = _audit_since(uow, seq)
    assert row.action == "identity.session_expired"
    assert json.loads(row.details)["reason"] == "idle"
    clock.advance(seconds=1)
    with pytest.raises(SessionExpired):  # an ended session never comes back
        identity.resume_session(uow, sid)


def test_activity_keeps_a_session_alive_but_not_beyond_12_hours(uow, clock):
    sid = identity.open_session(uow, _user(uow))
    elapsed = timedelta(0)
    while elapsed + timedelta(minutes=25) < identity.ABSOLUTE_TIMEOUT:
        clock.advance(minutes=25)
        elapsed += timedelta(minutes=25)
        principal = identity.resume_session(uow, sid)  # > 30 min in total: activity counts
        assert principal.username == "demo-is" and principal.session_id is not None
    seq = audit.last_seq(uow)
    clock.advance(minutes=25)
    with pytest.raises(SessionExpired, match="12 heures"):
        identity.resume_session(uow, sid)
    [row] = _audit_since(uow, seq)
    assert json.loads(row.details)["reason"] == "absolute"


def test_unknown_session_id_is_refused(uow):
    with pytest.raises(SessionExpired):
        identity.resume_session(uow, "n-importe-quoi")


def test_session_ids_are_fresh_and_stored_hashed(db):
    with transaction(db) as uow:
        user = _user(uow)
        first, second = identity.open_session(uow, user), identity.open_session(uow, user)
    assert first != second
    assert not _stored_anywhere(db, first) and not _stored_anywhere(db, second)


def test_concurrent_logins_are_all_recorded_in_one_intact_chain(db):
    """Parallel requests (waitress threads) each append to the audit chain without clashing:
    sessions opened (a row, then its audit) and unknown users refused (the audit row only)."""
    with db.unit_of_work() as uow:
        seq = audit.last_seq(uow)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        for _ in range(2):
            try:
                with transaction(db) as uow:
                    identity.open_session(uow, _user(uow, "demo-is"))
                with transaction(db) as uow, contextlib.suppress(AuthenticationFailed):
                    _login(uow, f"inconnu-{n}", "peu-importe")
            except BaseException as exc:  # collected, reported by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.unit_of_work() as uow:
        assert len(_audit_since(uow, seq, "identity.login")) == 16
        assert len(_audit_since(uow, seq, "identity.login_failed")) == 16
        assert audit.verify(uow).ok


def test_logout_ends_the_session(uow):
    sid = identity.open_session(uow, _user(uow))
    identity.end_session(uow, sid)
    with pytest.raises(SessionExpired):
        identity.resume_session(uow, sid)


# --- API tokens ----------------------------------------------------------------------------

def test_token_is_shown_once_and_stored_only_hashed(db):
    with transaction(db) as uow:
        seq = audit.last_seq(uow)
        token, clear = identity.create_token(uow, SYSTEM, _user(uow), "intégration")
        token_id = token.id
    assert clear.startswith(identity.TOKEN_PREFIX) and len(clear) > 40
    assert not _stored_anywhere(db, clear)
    assert not _stored_anywhere(db, clear[len(identity.TOKEN_PREFIX):])
    with db.unit_of_work() as uow:
        stored = uow.session.get(ApiToken, token_id)
        assert stored.token_hash == hashlib.sha256(clear.encode()).hexdigest()
        assert clear not in {str(getattr(stored, c.key)) for c in ApiToken.__table__.columns}
        [created] = _audit_since(uow, seq, "identity.token_created")
        assert created.subject_id == str(token_id)
        assert identity.authenticate_token(uow, clear).username == "demo-is"


def test_revoked_token_is_refused(uow):
    token, clear = identity.create_token(uow, SYSTEM, _user(uow), "x")
    identity.authenticate_token(uow, clear)
    identity.revoke_token(uow, SYSTEM, token)
    with pytest.raises(InvalidToken, match="révoqué") as caught:
        identity.authenticate_token(uow, clear)
    assert caught.value.code == "invalid_token" and caught.value.status == 401


@pytest.mark.parametrize("raw", [
    "", "garbage", "Bearer rls_abc", identity.TOKEN_PREFIX + "x" * 300,
    identity.TOKEN_PREFIX + "inconnu-mais-bien-forme",
])
def test_malformed_or_unknown_token_is_refused(uow, raw):
    seq = audit.last_seq(uow)
    with pytest.raises(InvalidToken):
        identity.authenticate_token(uow, raw)
    assert audit.last_seq(uow) == seq


def test_token_use_is_attributed_and_audited_once_per_hour(uow, clock):
    token, clear = identity.create_token(uow, SYSTEM, _user(uow), "robot")
    seq = audit.last_seq(uow)
    for _ in range(3):
        principal = identity.authenticate_token(uow, clear)
        assert principal.via_token_id == token.id
        assert principal.actor.via_token_id == token.id
        clock.advance(minutes=10)
    [used] = _audit_since(uow, seq, "identity.token_used")
    assert used.subject_id == str(token.id) and used.via_token_id == token.id
    assert used.actor_user_id == _user(uow).id
    clock.advance(minutes=31)  # more than an hour since the audited use
    identity.authenticate_token(uow, clear)
    assert len(_audit_since(uow, seq, "identity.token_used")) == 2
    # Anything audited afterwards in this unit of work names the token too.
    row = audit.append(uow, identity.principal_for(_user(uow)).actor, "test.action")
    assert row.via_token_id == token.id


# --- TOTP ----------------------------------------------------------------------------------

def _code(secret: str, when) -> str:
    return pyotp.TOTP(secret).at(when)


def _wrong_code(secret: str, when) -> str:
    """A well-formed code that no window around `when` accepts."""
    valid = {_code(secret, when + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def test_totp_enrolment_is_pending_until_confirmed_and_the_secret_is_wrapped(db, clock):
    with transaction(db) as uow:
        admin = _user(uow, "demo-admin")
        assert identity.needs_second_factor(admin)
        assert not identity.needs_second_factor(_user(uow, "demo-is"))
        secret = identity.begin_totp_enrolment(uow, admin)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert not _stored_anywhere(db, secret)
    with transaction(db) as uow:
        admin = _user(uow, "demo-admin")
        assert not identity.totp_enrolled(admin)
        assert admin.totp_secret_wrapped is not None
        with pytest.raises(AuthenticationFailed, match="incorrect"):
            identity.verify_second_factor(uow, admin, _code(secret, clock.now()))  # not yet
    with transaction(db) as uow:
        admin = _user(uow, "demo-admin")
        wrong = _wrong_code(secret, clock.now())
        with pytest.raises(AuthenticationFailed, match="incorrect"):
            identity.confirm_totp_enrolment(uow, admin, wrong)
        assert not identity.totp_enrolled(admin)
        seq = audit.last_seq(uow)
        identity.confirm_totp_enrolment(uow, admin, _code(secret, clock.now()))
        assert identity.totp_enrolled(admin)
        [row] = _audit_since(uow, seq)
        assert row.action == "identity.totp_enrolled"
        with pytest.raises(Conflict):
            identity.begin_totp_enrolment(uow, admin)
    assert not _stored_anywhere(db, secret)


def _enrolled_admin(uow, clock) -> tuple[User, str]:
    admin = _user(uow, "demo-admin")
    secret = identity.begin_totp_enrolment(uow, admin)
    identity.confirm_totp_enrolment(uow, admin, _code(secret, clock.now()))
    clock.advance(seconds=30)  # the enrolment code is spent; move to the next window
    return admin, secret


def test_totp_codes_wrong_replayed_and_next_window(uow, clock):
    admin, secret = _enrolled_admin(uow, clock)
    for bad in (_wrong_code(secret, clock.now()), "12345", "abcdef", ""):
        with pytest.raises(AuthenticationFailed):
            identity.verify_second_factor(uow, admin, bad)
    now_code = _code(secret, clock.now())
    identity.verify_second_factor(uow, admin, now_code[:3] + " " + now_code[3:])
    assert admin.failed_logins == 0
    with pytest.raises(AuthenticationFailed):  # the same code, replayed in its window
        identity.verify_second_factor(uow, admin, now_code)
    identity.verify_second_factor(uow, admin, _code(secret, clock.now() + timedelta(seconds=30)))
    with pytest.raises(AuthenticationFailed):  # too far ahead
        identity.verify_second_factor(uow, admin,
                                      _code(secret, clock.now() + timedelta(minutes=5)))
    with pytest.raises(AuthenticationFailed):  # too old
        identity.verify_second_factor(uow, admin,
                                      _code(secret, clock.now() - timedelta(minutes=5)))


def test_totp_failures_lock_the_account_even_after_a_right_password(uow, clock):
    admin, secret = _enrolled_admin(uow, clock)
    for _ in range(identity.LOCK_AFTER - 1):
        clock.advance(seconds=60)
        # The password is right, but passing it does not wipe the second-factor failures.
        _login(uow, "demo-admin")
        with pytest.raises(AuthenticationFailed):
            identity.verify_second_factor(uow, admin, _wrong_code(secret, clock.now()))
    clock.advance(seconds=60)
    with pytest.raises(AccountLocked):
        identity.verify_second_factor(uow, admin, _wrong_code(secret, clock.now()))
    # Locked: even the right code is refused, and so is the password.
    with pytest.raises(AccountLocked):
        identity.verify_second_factor(uow, admin, _code(secret, clock.now()))
    with pytest.raises(LoginThrottled):  # the account itself is locked: no password either
        _login(uow, "demo-admin")
    clock.advance(seconds=identity.LOCK_DURATION.total_seconds() + 1)
    _login(uow, "demo-admin")
    identity.verify_second_factor(uow, admin, _code(secret, clock.now()))
    assert admin.failed_logins == 0 and admin.locked_until is None


def test_the_second_factor_must_follow_the_password_within_its_window(uow, clock):
    admin = _user(uow, "demo-admin")
    checked_at = clock.now().timestamp()
    window = identity.SECOND_FACTOR_WINDOW.total_seconds()
    assert identity.pending_second_factor(uow, admin.id, checked_at) is admin
    clock.advance(seconds=window)
    assert identity.pending_second_factor(uow, admin.id, checked_at) is admin
    clock.advance(seconds=1)
    assert identity.pending_second_factor(uow, admin.id, checked_at) is None
    assert identity.pending_second_factor(uow, None, checked_at) is None
    assert identity.pending_second_factor(uow, admin.id, None) is None


def test_a_disabled_user_has_no_pending_second_factor(uow, clock):
    admin = _user(uow, "demo-admin")
    identity.disable_user(uow, SYSTEM, admin)
    assert identity.pending_second_factor(uow, admin.id, clock.now().timestamp()) is None


# --- permissions ---------------------------------------------------------------------------

def test_require_role_checks_role_and_organisation(uow):
    principal = identity.principal_for(_user(uow, "demo-is"))
    iscg = identity.get_organisation(uow, "asso-iscg-demo")
    police = identity.get_organisation(uow, "commissariat-demo")
    identity.require_role(principal, Role.IS)
    identity.require_role(principal, "IS", organisation_id=iscg.id)
    identity.require_role(principal, Role.ADMIN, Role.IS)
    with pytest.raises(PermissionDenied) as caught:
        identity.require_role(principal, Role.ADMIN)
    assert caught.value.status == 403 and caught.value.code == "permission_denied"
    with pytest.raises(PermissionDenied):
        identity.require_role(principal, Role.IS, organisation_id=police.id)
    with pytest.raises(PermissionDenied):
        identity.require_role(identity.principal_for(_user(uow, "demo-police")), Role.IS)


def test_roles_of_an_inactive_organisation_do_not_count(uow):
    iscg = identity.get_organisation(uow, "asso-iscg-demo")
    iscg.active = False
    uow.session.flush()
    principal = identity.principal_for(_user(uow, "demo-is"))
    with pytest.raises(PermissionDenied):
        identity.require_role(principal, Role.IS)
