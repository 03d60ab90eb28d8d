"""The administration console's home, users and API tokens pages through the test client:
access control (login page for visitors, French 403 for everybody else, on every page and
every POST), the account an administrator creates logging in with its temporary password,
memberships, refusals on the field, resets, tokens' last use and revocation, all audited."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from helpers import as_admin, csrf_from, login
from sqlalchemy import func, select

from engine.audit import service as audit
from engine.audit.models import AuditEntry
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.models import User
from engine.web.admin.sections import SECTIONS

NEW_PASSWORD = "mon-propre-mot-de-passe"
TEMPORARY_RE = re.compile(r'<code class="secret">([A-Za-z0-9-]{19})</code>')
TOKEN_RE = re.compile(r'<code class="secret">(rls_[^<]+)</code>')


@pytest.fixture
def admin_client(client, clock):
    return as_admin(client, clock)


def _user_id(db, username: str) -> int:
    with transaction(db) as uow:
        return identity.get_user(uow, username).id


def _pages(db) -> list[str]:
    is_id = _user_id(db, "demo-is")
    return ["/admin/", "/admin/utilisateurs", "/admin/utilisateurs?q=demo&etat=actifs",
            "/admin/utilisateurs/nouveau", f"/admin/utilisateurs/{is_id}", "/admin/jetons"]


def _posts(db) -> list[tuple[str, dict[str, str]]]:
    is_id = _user_id(db, "demo-is2")
    base = f"/admin/utilisateurs/{is_id}"
    return [("/admin/utilisateurs/nouveau", {"username": "pirate", "display_name": "P",
                                             "organisation": "plateforme-demo",
                                             "role": "ADMIN"}),
            (f"{base}/roles", {"organisation": "plateforme-demo", "role": "ADMIN"}),
            (f"{base}/roles/1/retrait", {}), (f"{base}/desactivation", {}),
            (f"{base}/reactivation", {}), (f"{base}/mot-de-passe", {}),
            (f"{base}/deverrouillage", {}),
            (f"{base}/second-facteur", {"reason": "appareil_perdu"}),
            (f"{base}/jetons", {"name": "vol"}), ("/admin/jetons/1/revocation", {}),
            ("/admin/jetons", {"username": "demo-is", "name": "vol"})]


def _post(client, path: str, page: str = "/admin/utilisateurs", **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _actions_since(db, seq: int) -> list[str]:
    with transaction(db) as uow:
        return [e.action for e in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq))]


def _last_seq(db) -> int:
    with transaction(db) as uow:
        return audit.last_seq(uow)


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for path in _pages(db):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion?next="), path
    token = csrf_from(client.get("/connexion").get_data(as_text=True))
    for path, data in _posts(db):
        response = client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion"), path


def test_other_roles_get_403_on_every_page_and_every_post(client, db):
    seq = _last_seq(db)
    login(client, "demo-is")
    home = client.get("/").get_data(as_text=True)
    assert "Administration" not in home
    for path in _pages(db):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Accès refusé" in response.get_data(as_text=True)
    token = csrf_from(home)
    for path, data in _posts(db):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    with transaction(db) as uow:
        assert identity.find_user(uow, "pirate") is None
        assert not identity.principal_for(identity.get_user(uow, "demo-is2")).has_role("ADMIN")
    assert "identity.role_granted" not in _actions_since(db, seq)


def test_the_console_home_lists_the_registered_sections_and_real_figures(admin_client, app,
                                                                          db):
    response = admin_client.get("/admin/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/admin/">Administration</a>' in html  # in the header
    assert '<a href="/admin/protocoles">Protocoles</a>' in html
    for title, url in (("Protocoles", "/admin/protocoles"), ("Utilisateurs",
                       "/admin/utilisateurs"), ("Jetons d&#39;API", "/admin/jetons"),
                       ("Webhooks", "/admin/webhooks")):
        assert f'<a href="{url}">{title}</a> —' in html, title
    # Exactly the sections whose endpoint this app registers, with their summary.
    for section in SECTIONS:
        listed = f"</a> — {section.summary}" in html.replace("&#39;", "'")
        assert listed == (section.endpoint in app.view_functions), section.endpoint
    figures = dict(re.findall(r"<dt>(?:<a [^>]*>)?([^<]+)(?:</a>)?</dt>\s*"
                              r'<dd class="nombre"[^>]*>(\d+)</dd>', html))
    with transaction(db) as uow:
        accounts = uow.session.scalar(select(func.count()).select_from(User))
    assert accounts > 10
    assert figures["Comptes actifs"] == str(accounts) and figures["Comptes désactivés"] == "0"
    assert figures["Incidents ouverts"] == "0"


def test_an_administrator_creates_an_account_that_logs_in_and_changes_its_password(
        admin_client, client, app, db):
    seq = _last_seq(db)
    page = admin_client.get("/admin/utilisateurs/nouveau").get_data(as_text=True)
    assert '<label for="organisation">' in page and "Infirmier·e de CMP" in page
    created = _post(admin_client, "/admin/utilisateurs/nouveau", "/admin/utilisateurs/nouveau",
                    username="lea.martin", display_name="Léa Martin",
                    organisation="cmp-demo", role="CMP")
    html = created.get_data(as_text=True)
    assert created.status_code == 201
    temporary = TEMPORARY_RE.search(html).group(1)
    assert "il ne sera plus affiché" in html and "Léa Martin" in html
    assert temporary not in admin_client.get(
        f"/admin/utilisateurs/{_user_id(db, 'lea.martin')}").get_data(as_text=True)
    listing = admin_client.get("/admin/utilisateurs?q=martin").get_data(as_text=True)
    assert 'data-username="lea.martin"' in listing and "Infirmier·e de CMP" in listing
    assert _actions_since(db, seq) == ["identity.user_created", "identity.role_granted"]

    other = app.test_client()
    response = login(other, "lea.martin", temporary)
    assert response.headers["Location"] == "/connexion/nouveau-mot-de-passe"
    assert other.get("/").status_code == 302  # no session before the change
    form = other.get("/connexion/nouveau-mot-de-passe").get_data(as_text=True)
    refused = other.post("/connexion/nouveau-mot-de-passe", data={
        "csrf_token": csrf_from(form), "password": NEW_PASSWORD, "confirmation": "autre"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'aria-describedby="erreur-confirmation"' in body and "pas identiques" in body
    done = other.post("/connexion/nouveau-mot-de-passe", data={
        "csrf_token": csrf_from(form), "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "Léa Martin" in other.get("/").get_data(as_text=True)
    # The temporary password no longer opens anything; the chosen one does.
    third = app.test_client()
    assert login(third, "lea.martin", temporary).status_code == 401
    assert login(third, "lea.martin", NEW_PASSWORD).headers["Location"] == "/"


def test_a_bad_creation_form_is_answered_on_its_fields(admin_client, db):
    response = _post(admin_client, "/admin/utilisateurs/nouveau", "/admin/utilisateurs/nouveau",
                     username="demo-is", display_name="", organisation="", role="ROI")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("username", "display_name", "organisation", "role"):
        assert f'id="{field}-err"' in html, field
    assert "déjà pris" in html and 'aria-invalid="true"' in html
    assert 'value="demo-is"' in html  # what was typed is kept


def test_memberships_and_self_protection_from_the_pages(admin_client, db):
    seq = _last_seq(db)
    is2 = _user_id(db, "demo-is2")
    added = _post(admin_client, f"/admin/utilisateurs/{is2}/roles",
                  organisation="cd-demo", role="CG_SOCIAL")
    assert added.status_code == 200 and "Rôle ajouté" in added.get_data(as_text=True)
    with transaction(db) as uow:
        membership = next(m for m in identity.get_user(uow, "demo-is2").memberships
                          if m.role == "CG_SOCIAL")
        membership_id = membership.id
    removed = _post(admin_client, f"/admin/utilisateurs/{is2}/roles/{membership_id}/retrait")
    assert "Rôle retiré" in removed.get_data(as_text=True)
    bad = _post(admin_client, f"/admin/utilisateurs/{is2}/roles", organisation="cd-demo",
                role="")
    assert bad.status_code == 422 and 'id="role-err"' in bad.get_data(as_text=True)

    me = _user_id(db, "demo-admin")
    for path, data, words in (
            (f"/admin/utilisateurs/{me}/roles", {"organisation": "cd-demo", "role": "IS"},
             "vous attribuer un rôle"),
            (f"/admin/utilisateurs/{me}/desactivation", {}, "propre compte"),
            (f"/admin/utilisateurs/{me}/mot-de-passe", {}, "propre mot de passe")):
        response = _post(admin_client, path, **data)
        html = response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert words in html and "Rien n'a été modifié" in html, path
    with transaction(db) as uow:
        admin = identity.get_user(uow, "demo-admin")
        assert admin.active and [m.role for m in admin.memberships] == ["ADMIN"]
    assert _actions_since(db, seq) == ["identity.role_granted", "identity.role_revoked"]


def test_disable_enable_and_resets_from_the_pages(admin_client, app, db):
    seq = _last_seq(db)
    is2 = _user_id(db, "demo-is2")
    base = f"/admin/utilisateurs/{is2}"
    victim = app.test_client()
    login(victim, "demo-is2")
    assert victim.get("/").status_code == 200
    disabled = _post(admin_client, f"{base}/desactivation")
    assert "Compte désactivé" in disabled.get_data(as_text=True)
    assert victim.get("/").status_code == 302  # the session ended with the account
    assert "Désactivé" in admin_client.get("/admin/utilisateurs?etat=desactives") \
        .get_data(as_text=True)
    _post(admin_client, f"{base}/reactivation")

    no_reason = _post(admin_client, f"{base}/second-facteur", reason="")
    assert no_reason.status_code == 422 and 'id="reason-err"' in no_reason.get_data(as_text=True)
    reset = _post(admin_client, f"{base}/second-facteur", reason="appareil_perdu")
    assert "Second facteur réinitialisé" in reset.get_data(as_text=True)

    password = _post(admin_client, f"{base}/mot-de-passe")
    temporary = TEMPORARY_RE.search(password.get_data(as_text=True)).group(1)
    assert login(app.test_client(), "demo-is2", temporary).headers["Location"] \
        == "/connexion/nouveau-mot-de-passe"
    actions = _actions_since(db, seq)
    for action in ("identity.user_disabled", "identity.user_enabled",
                   "identity.second_factor_reset", "identity.password_reset"):
        assert action in actions, action
    with transaction(db) as uow:
        [entry] = uow.session.scalars(select(AuditEntry).where(
            AuditEntry.seq > seq, AuditEntry.action == "identity.second_factor_reset")).all()
        assert json.loads(entry.details)["reason"] == "appareil_perdu"
        assert entry.actor_label == "demo-admin" and entry.subject_id == str(is2)


def test_a_token_created_here_is_shown_once_its_use_listed_and_its_revocation_final(
        admin_client, client, app, db, clock):
    seq = _last_seq(db)
    is_id = _user_id(db, "demo-is")
    created = _post(admin_client, f"/admin/utilisateurs/{is_id}/jetons", name="Logiciel IS")
    assert created.status_code == 201
    clear = TOKEN_RE.search(created.get_data(as_text=True)).group(1)
    listing = admin_client.get("/admin/jetons").get_data(as_text=True)
    row = re.search(r'<tr id="jeton-(\d+)"[^>]*>(.*?)</tr>', listing, re.S)
    token_id, cells = row.group(1), row.group(2)
    assert clear not in listing and "Logiciel IS" in cells and "demo-is" in cells
    assert re.search(r'class="derniere-utilisation">—<', cells)

    api = app.test_client()
    headers = {"Authorization": f"Bearer {clear}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200
    listing = admin_client.get("/admin/jetons").get_data(as_text=True)
    used = clock.now().strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'<tr id="jeton-{token_id}".*?derniere-utilisation">{used} UTC<',
                     listing, re.S)

    revoked = _post(admin_client, f"/admin/jetons/{token_id}/revocation", "/admin/jetons")
    assert revoked.status_code == 302
    assert "Révoqué le" in admin_client.get("/admin/jetons?etat=revoques").get_data(as_text=True)
    refused = api.get("/api/v1/tasks", headers=headers)
    assert refused.status_code == 401 and "révoqué" in refused.json["detail"]
    assert _post(admin_client, "/admin/jetons/999999/revocation", "/admin/jetons") \
        .status_code == 404
    actions = _actions_since(db, seq)
    assert actions[0] == "identity.token_created" and "identity.token_revoked" in actions


def test_a_token_is_created_from_the_tokens_page_for_a_typed_login(admin_client, db):
    unknown = _post(admin_client, "/admin/jetons", "/admin/jetons", username="personne",
                    name="Logiciel")
    html = unknown.get_data(as_text=True)
    assert unknown.status_code == 422 and 'id="username-err"' in html
    assert "Aucun compte actif" in html and 'value="personne"' in html
    created = _post(admin_client, "/admin/jetons", "/admin/jetons", username="demo-asso",
                    name="Logiciel de l'association")
    clear = TOKEN_RE.search(created.get_data(as_text=True)).group(1)
    assert created.status_code == 201
    assert clear not in admin_client.get("/admin/jetons").get_data(as_text=True)
    with transaction(db) as uow:
        assert identity.authenticate_token(uow, clear).username == "demo-asso"


def test_a_new_administrator_replaces_the_password_then_enrols_and_lands_on_the_console(
        admin_client, app, clock):
    created = _post(admin_client, "/admin/utilisateurs/nouveau", "/admin/utilisateurs/nouveau",
                    username="admin2", display_name="Deuxième administratrice",
                    organisation="plateforme-demo", role="ADMIN")
    temporary = TEMPORARY_RE.search(created.get_data(as_text=True)).group(1)
    other = app.test_client()
    assert login(other, "admin2", temporary).headers["Location"] \
        == "/connexion/nouveau-mot-de-passe"
    # The second factor cannot be reached before the password is replaced.
    assert other.get("/connexion/activer-2fa").headers["Location"] == "/connexion"
    login(other, "admin2", temporary)
    form = other.get("/connexion/nouveau-mot-de-passe").get_data(as_text=True)
    done = other.post("/connexion/nouveau-mot-de-passe", data={
        "csrf_token": csrf_from(form), "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.headers["Location"] == "/connexion/activer-2fa"
    assert other.get("/admin/").status_code == 302  # no session yet
    html = other.get("/connexion/activer-2fa").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1)
    response = other.post("/connexion/activer-2fa", data={
        "code": pyotp.TOTP(secret.replace(" ", "")).at(clock.now()),
        "csrf_token": csrf_from(html)})
    assert response.headers["Location"] == "/admin/"
    assert other.get("/admin/").status_code == 200
