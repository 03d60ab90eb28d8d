"""People and access administration (engine.identity.people): creating accounts with a
membership and a temporary password, memberships, self-protection, the last administrator,
resets, tokens and their last use. Every change audited; refusals change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.errors import Invalid, NotFound
from engine.identity import passwords, people
from engine.identity import service as identity
from engine.identity.errors import IdentityInvalid, InvalidToken, PermissionDenied
from engine.identity.models import UserSession
from engine.identity.roles import Role


def _principal(uow, username: str):
    return identity.principal_for(identity.get_user(uow, username))


def _actions(uow, since: int) -> list[str]:
    return [e.action for e in uow.session.scalars(
        select(AuditEntry).where(AuditEntry.seq > since).order_by(AuditEntry.seq))]


def _entries(uow, since: int, action: str) -> list[AuditEntry]:
    return list(uow.session.scalars(select(AuditEntry).where(
        AuditEntry.seq > since, AuditEntry.action == action)))


@pytest.fixture
def admin(uow):
    return _principal(uow, "demo-admin")


@pytest.fixture
def second_admin(uow, admin):
    """Another administrator, so that demo-admin is not the last one."""
    created = people.create_user(uow, admin, username="admin-bis", display_name="Admin bis",
                                 organisation="plateforme-demo", role="ADMIN")
    return identity.principal_for(created.user)


def test_a_created_account_has_its_membership_and_a_temporary_password(uow, admin):
    seq = audit.last_seq(uow)
    created = people.create_user(uow, admin, username="Nouvelle.IS ", display_name=" Ana ",
                                 organisation="asso-iscg-demo", role="IS")
    user = created.user
    assert user.username == "nouvelle.is" and user.display_name == "Ana"
    assert [(m.organisation.slug, m.role) for m in user.memberships] == [("asso-iscg-demo",
                                                                          "IS")]
    assert user.must_change_password and passwords.must_change_password(user)
    assert len(created.temporary_password) == 19
    assert identity.password_matches(user, created.temporary_password)
    assert created.temporary_password not in user.password_hash
    assert _actions(uow, seq) == ["identity.user_created", "identity.role_granted"]
    other = people.create_user(uow, admin, username="autre", display_name="Autre",
                               organisation="asso-iscg-demo", role="IS")
    assert other.temporary_password != created.temporary_password


def test_a_bad_account_form_reports_every_field_and_writes_nothing(uow, admin):
    seq = audit.last_seq(uow)
    with pytest.raises(Invalid) as refused:
        people.create_user(uow, admin, username="X y", display_name=" ",
                           organisation="inconnue", role="CHEF")
    fields = {e["field"] for e in refused.value.errors}
    assert fields == {"username", "display_name", "organisation", "role"}
    with pytest.raises(Invalid) as taken:
        people.create_user(uow, admin, username="demo-is", display_name="Doublon",
                           organisation="asso-iscg-demo", role="IS")
    assert [e["field"] for e in taken.value.errors] == ["username"]
    assert "déjà pris" in taken.value.errors[0]["message"]
    assert audit.last_seq(uow) == seq


def test_only_administrators_may_manage_people(uow):
    someone = _principal(uow, "demo-is")
    user_id = identity.get_user(uow, "demo-is2").id
    calls = [lambda: people.list_users(uow, someone),
             lambda: people.create_user(uow, someone, username="x1", display_name="X",
                                        organisation="asso-iscg-demo", role="ADMIN"),
             lambda: people.add_membership(uow, someone, user_id,
                                           organisation="plateforme-demo", role="ADMIN"),
             lambda: people.disable(uow, someone, user_id),
             lambda: people.reset_password(uow, someone, user_id),
             lambda: people.reset_second_factor(uow, someone, user_id, "appareil_perdu"),
             lambda: people.list_tokens(uow, someone),
             lambda: people.revoke_token(uow, someone, 1),
             lambda: people.counts(uow, someone)]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()


def test_memberships_are_added_and_removed_and_audited(uow, admin):
    user = identity.get_user(uow, "demo-is2")
    seq = audit.last_seq(uow)
    membership = people.add_membership(uow, admin, user.id, organisation="cd-demo",
                                       role="CG_SOCIAL")
    assert ("cd-demo", "CG_SOCIAL") in {(m.organisation.slug, m.role) for m in user.memberships}
    assert identity.principal_for(user).has_role(Role.CG_SOCIAL)
    people.remove_membership(uow, admin, user.id, membership.id)
    assert not identity.principal_for(user).has_role(Role.CG_SOCIAL)
    assert _actions(uow, seq) == ["identity.role_granted", "identity.role_revoked"]
    with pytest.raises(Invalid):
        people.add_membership(uow, admin, user.id, organisation="cd-demo", role="ROI")
    with pytest.raises(NotFound):  # a membership of another account
        admin_membership = identity.get_user(uow, "demo-admin").memberships[0]
        people.remove_membership(uow, admin, user.id, admin_membership.id)


def test_nobody_gives_themselves_a_role_or_disables_themselves(uow, admin, second_admin):
    me = identity.get_user(uow, "demo-admin")
    seq = audit.last_seq(uow)
    with pytest.raises(PermissionDenied, match="vous attribuer un rôle"):
        people.add_membership(uow, admin, me.id, organisation="cd-demo", role="CG_SOCIAL")
    with pytest.raises(PermissionDenied, match="retirer vos propres rôles"):
        people.remove_membership(uow, admin, me.id, me.memberships[0].id)
    with pytest.raises(PermissionDenied, match="propre compte"):
        people.disable(uow, admin, me.id)
    with pytest.raises(PermissionDenied):
        people.reset_password(uow, admin, me.id)
    with pytest.raises(PermissionDenied):
        people.reset_second_factor(uow, admin, me.id, "appareil_remplace")
    # The identity primitives refuse it too, whoever calls them.
    with pytest.raises(PermissionDenied):
        identity.grant_role(uow, admin.actor, me, identity.get_organisation(uow, "cd-demo"),
                            "IS")
    assert audit.last_seq(uow) == seq
    assert me.active and [m.role for m in me.memberships] == ["ADMIN"]
    # Another administrator may.
    people.add_membership(uow, second_admin, me.id, organisation="cd-demo", role="CG_SOCIAL")
    assert identity.principal_for(me).has_role(Role.CG_SOCIAL)


def test_the_last_active_administrator_is_kept(uow, admin, second_admin):
    me = identity.get_user(uow, "demo-admin")
    bis = identity.get_user(uow, "admin-bis")
    # Two administrators: the second may disable the first.
    people.disable(uow, second_admin, me.id)
    assert not me.active
    # The second is now the last one: even a principal still holding ADMIN (demo-admin's,
    # loaded before it was disabled) can neither disable it nor take its role away.
    seq = audit.last_seq(uow)
    with pytest.raises(IdentityInvalid, match="dernier administrateur") as last:
        people.disable(uow, admin, bis.id)
    assert last.value.status == 409 and last.value.code == "last_administrator"
    with pytest.raises(IdentityInvalid, match="dernier administrateur"):
        people.remove_membership(uow, admin, bis.id, bis.memberships[0].id)
    assert bis.active and [m.role for m in bis.memberships] == ["ADMIN"]
    assert audit.last_seq(uow) == seq
    # With the first enabled again, the second's ADMIN role may go.
    people.enable(uow, second_admin, me.id)
    people.remove_membership(uow, admin, bis.id, bis.memberships[0].id)
    assert not identity.principal_for(bis).has_role(Role.ADMIN)


def test_disabling_ends_sessions_and_tokens_and_enabling_keeps_tokens_revoked(uow, admin):
    user = identity.get_user(uow, "demo-is")
    sid = identity.open_session(uow, user)
    _token, clear = identity.create_token(uow, SYSTEM, user, "robot")
    seq = audit.last_seq(uow)
    people.disable(uow, admin, user.id)
    with pytest.raises(InvalidToken):
        identity.authenticate_token(uow, clear)
    with pytest.raises(identity.SessionExpired):
        identity.resume_session(uow, sid)
    people.enable(uow, admin, user.id)
    assert user.active and user.disabled_at is None
    with pytest.raises(InvalidToken, match="révoqué"):
        identity.authenticate_token(uow, clear)
    assert _actions(uow, seq) == ["identity.user_disabled", "identity.user_enabled"]


def test_a_password_reset_gives_a_temporary_password_and_ends_sessions(uow, admin):
    user = identity.get_user(uow, "demo-is")
    sid = identity.open_session(uow, user)
    seq = audit.last_seq(uow)
    password = people.reset_password(uow, admin, user.id)
    assert identity.password_matches(user, password) and user.must_change_password
    assert uow.session.scalars(select(UserSession.end_reason)
                               .where(UserSession.user_id == user.id)).all()[-1] \
        == "password_reset"
    with pytest.raises(identity.SessionExpired):
        identity.resume_session(uow, sid)
    [entry] = _entries(uow, seq, "identity.password_reset")
    assert password not in entry.details
    # The user replaces it: field errors first, then success, audited as their own change.
    for new, again, field in (("court", "court", "password"), (password, password, "password"),
                              ("un-nouveau-mot-de-passe", "autre-chose-encore", "confirmation")):
        with pytest.raises(Invalid) as refused:
            passwords.change_temporary_password(uow, user, new, again)
        assert refused.value.errors[0]["field"] == field
    assert user.must_change_password
    passwords.change_temporary_password(uow, user, "un-nouveau-mot-de-passe",
                                       "un-nouveau-mot-de-passe")
    assert not user.must_change_password
    assert identity.password_matches(user, "un-nouveau-mot-de-passe")
    [own] = _entries(uow, seq, "identity.password_changed")
    assert own.actor_user_id == user.id


def test_a_second_factor_reset_needs_a_reason_and_is_audited_with_it(uow, admin, second_admin):
    user = identity.get_user(uow, "admin-bis")
    secret = identity.begin_totp_enrolment(uow, user)
    assert secret
    user.totp_enrolled_at = uow.now()
    seq = audit.last_seq(uow)
    for reason in ("", "   ", "Téléphone perdu", "autre "):
        with pytest.raises(Invalid) as refused:
            people.reset_second_factor(uow, admin, user.id, reason)
        assert refused.value.errors[0]["field"] == "reason"
    assert identity.totp_enrolled(user) and audit.last_seq(uow) == seq
    sid = identity.open_session(uow, user)
    seq = audit.last_seq(uow)
    people.reset_second_factor(uow, admin, user.id, "appareil_perdu")
    assert not identity.totp_enrolled(user) and user.totp_secret_wrapped is None
    with pytest.raises(identity.SessionExpired):
        identity.resume_session(uow, sid)
    [entry] = _entries(uow, seq, "identity.second_factor_reset")
    assert json.loads(entry.details) == {"reason": "appareil_perdu", "sessions_ended": 1}
    assert entry.actor_user_id == admin.user_id


def test_the_listing_filters_by_text_organisation_role_and_state(uow, admin):
    names = lambda **kw: [u.username for u in people.list_users(uow, admin, **kw)]  # noqa: E731
    assert "demo-is" in names() and "demo-admin" in names()
    assert names(text="CAMILLE") == ["demo-is"]
    assert set(names(organisation="asso-iscg-demo")) >= {"demo-is", "demo-is2"}
    assert "demo-police" not in names(organisation="asso-iscg-demo")
    assert names(role="ADMIN") == ["demo-admin"]
    people.disable(uow, admin, identity.get_user(uow, "demo-is2").id)
    assert names(state="desactives") == ["demo-is2"]
    assert "demo-is2" not in names(state="actifs")
    assert people.counts(uow, admin)["disabled_users"] == 1


def test_token_last_use_is_written_once_a_minute_and_audited_once_an_hour(uow, admin, clock):
    user = identity.get_user(uow, "demo-is")
    token, clear = people.create_token(uow, admin, user.id, "logiciel")
    assert token.last_used_at is None
    seq = audit.last_seq(uow)
    identity.authenticate_token(uow, clear)
    first = token.last_used_at
    assert first == clock.now()
    clock.advance(seconds=30)
    identity.authenticate_token(uow, clear)
    assert token.last_used_at == first  # not a write per request
    clock.advance(seconds=31)
    identity.authenticate_token(uow, clear)
    assert token.last_used_at == clock.now() != first
    assert len(_entries(uow, seq, "identity.token_used")) == 1
    rows = people.list_tokens(uow, admin, state="actifs")
    assert rows[0].token.id == token.id and rows[0].owner.username == "demo-is"
    people.revoke_token(uow, admin, token.id)
    assert [r.token.id for r in people.list_tokens(uow, admin, state="revoques")] == [token.id]
    with pytest.raises(InvalidToken):
        identity.authenticate_token(uow, clear)
    assert _actions(uow, seq)[-1] == "identity.token_revoked"
    with pytest.raises(NotFound):
        people.revoke_token(uow, admin, 999_999)


def test_an_administrator_unlocks_an_account_locked_by_code_failures(uow, admin, clock):
    user = identity.get_user(uow, "demo-is")
    user.failed_logins = identity.LOCK_AFTER
    user.locked_until = clock.now() + identity.LOCK_DURATION
    seq = audit.last_seq(uow)
    people.unlock(uow, admin, user.id)
    assert user.locked_until is None and user.failed_logins == 0
    assert _actions(uow, seq) == ["identity.account_unlocked"]
    people.unlock(uow, admin, user.id)  # nothing to lift: nothing audited
    assert _actions(uow, seq) == ["identity.account_unlocked"]
    with pytest.raises(PermissionDenied):
        people.unlock(uow, _principal(uow, "demo-is2"), user.id)


def test_listings_stop_at_their_limit(uow, admin, monkeypatch):
    monkeypatch.setattr(people, "LIST_LIMIT", 3)
    assert len(people.list_users(uow, admin)) == 3
    for _ in range(4):
        identity.create_token(uow, SYSTEM, identity.get_user(uow, "demo-is"), "robot")
    assert len(people.list_tokens(uow, admin)) == 3
