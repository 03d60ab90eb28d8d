"""The organisation and territory administration pages: administrators create and edit an
organisation (logo PNG/JPEG only, size cap), create a territory and choose its partners;
every refusal comes back on its field with nothing changed; every change is audited; the
login page for visitors and the French 403 page for everyone else."""

from __future__ import annotations

import io
import json
from html import unescape

import pytest
from helpers import as_admin, csrf_from, login
from sqlalchemy import select

from engine.audit.models import AuditEntry
from engine.audit.service import SYSTEM
from engine.db import transaction
from engine.identity import service as identity
from engine.identity.organisations import MAX_LOGO_BYTES
from engine.identity.roles import Role
from engine.territory import service as territories

PAGES = ("/admin/organisations", "/admin/territoires", "/admin/territoires/nouveau",
         "/admin/organisations/cd-demo")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def admin(client, clock):
    return as_admin(client, clock)


def post(client, page: str, path: str | None = None, **data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path or page, data={"csrf_token": token, **data})


def actions(db, prefix: str) -> list[dict]:
    with db.unit_of_work() as uow:
        return [{"action": r.action, **json.loads(r.details)} for r in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like(prefix + "%"))
            .order_by(AuditEntry.seq))]


@pytest.mark.parametrize("page", PAGES)
def test_visitors_get_the_login_page_and_other_people_a_french_403(client, page):
    assert client.get(page).status_code == 302
    login(client, "demo-is")
    refused = client.get(page)
    assert refused.status_code == 403 and "Accès refusé" in refused.get_data(as_text=True)


def test_an_administrator_creates_an_organisation_refused_fields_first(admin, db):
    page = admin.get("/admin/organisations").get_data(as_text=True)
    assert "Fil d'Ariane" in page and 'href="/admin/"' in page and "cd-demo" in page
    bad = post(admin, "/admin/organisations", name="CRIP Sud", slug="CRIP Sud!", kind="crip")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Rien n'a été enregistré" in html
    assert 'id="slug" name="slug"' in html and 'aria-describedby="slug-err' in html
    assert 'value="CRIP Sud"' in html  # what was typed is kept
    bad_kind = post(admin, "/admin/organisations", name="X", slug="x-sud", kind="banque")
    assert bad_kind.status_code == 422 and 'id="kind-err"' in bad_kind.get_data(as_text=True)
    with db.unit_of_work() as uow:
        assert identity.find_organisation(uow, "x-sud") is None
    made = post(admin, "/admin/organisations", name="CRIP Sud", slug="crip-sud", kind="crip",
                address="1 rue du Sud", phone="04 00 00 00 00", dpo_contact="dpo@sud.invalid",
                signatory="La cheffe de service")
    assert made.status_code == 302 and made.location.endswith("/admin/organisations/crip-sud")
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "crip-sud")
        assert (org.kind, org.address, org.signatory) == ("crip", "1 rue du Sud",
                                                          "La cheffe de service")
        assert org.bound_by_secrecy  # the kind's default stays
    assert [a["action"] for a in actions(db, "admin.organisations.")] \
        == ["admin.organisations.created"]
    assert actions(db, "identity.organisation_created")[-1]["slug"] == "crip-sud"
    again = post(admin, "/admin/organisations", name="Autre", slug="crip-sud", kind="crip")
    assert again.status_code == 422 and "existe déjà" in again.get_data(as_text=True)
    assert 'aria-describedby="slug-err' in again.get_data(as_text=True)


def test_an_administrator_edits_flags_secrecy_roles_and_the_logo(admin, db):
    page = "/admin/organisations/asso-victimes-demo"
    too_long = post(admin, page, name="France Victimes", phone="0" * 41)
    assert too_long.status_code == 422
    assert 'id="phone-err"' in too_long.get_data(as_text=True)
    saved = post(admin, page, name="France Victimes (démo)", address="3 place de l'Aide",
                 phone="01 00 00 00 20", dpo_contact="dpo@fv.invalid", signatory="",
                 secrecy_roles=["ASSOCIATION", "PSYCHOLOGUE"])
    assert saved.status_code == 302
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "asso-victimes-demo")
        assert json.loads(org.secrecy_roles) == ["ASSOCIATION", "PSYCHOLOGUE"]
        assert not org.offence_data_authorised and not org.bound_by_secrecy  # unticked
    [change] = actions(db, "admin.organisations.changed")
    assert "offence_data_authorised" in change["fields"] and "secrecy_roles" in change["fields"]

    not_image = admin.post(page + "/logo", data={
        "csrf_token": csrf_from(admin.get(page).get_data(as_text=True)),
        "logo": (io.BytesIO(b"<svg/>"), "logo.png")},
        content_type="multipart/form-data")
    assert not_image.status_code == 422 and "PNG ou JPEG" in not_image.get_data(as_text=True)
    too_big = admin.post(page + "/logo", data={
        "csrf_token": csrf_from(admin.get(page).get_data(as_text=True)),
        "logo": (io.BytesIO(PNG + b"\x00" * MAX_LOGO_BYTES), "logo.png")},
        content_type="multipart/form-data")
    assert too_big.status_code == 422 and "Kio" in too_big.get_data(as_text=True)
    assert admin.get(page + "/logo").status_code == 404
    ok = admin.post(page + "/logo", data={
        "csrf_token": csrf_from(admin.get(page).get_data(as_text=True)),
        "logo": (io.BytesIO(PNG), "logo.bin")},
        content_type="multipart/form-data")
    assert ok.status_code == 302
    image = admin.get(page + "/logo")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    assert actions(db, "admin.organisations.logo_changed")[-1]["media_type"] == "image/png"


def test_an_administrator_creates_a_territory_and_chooses_its_partners(admin, db):
    for slug, kind in (("crip-est", "crip"), ("asso-est", "association")):
        post(admin, "/admin/organisations", name=slug.upper(), slug=slug, kind=kind)
    form = admin.get("/admin/territoires/nouveau").get_data(as_text=True)
    assert '<label for="partner_CRIP">' in form and 'value="crip-est"' in form
    wrong_kind = post(admin, "/admin/territoires/nouveau", name="Est",
                      partner_CRIP="asso-est")
    html = wrong_kind.get_data(as_text=True)
    assert wrong_kind.status_code == 422 and 'id="partner_CRIP-err"' in html
    assert "il faut une organisation de type" in html
    taken = post(admin, "/admin/territoires/nouveau", name="Est", partner_CRIP="crip-demo")
    assert taken.status_code == 422 and "appartient déjà au territoire" in \
        taken.get_data(as_text=True)
    made = post(admin, "/admin/territoires/nouveau", name="Est", partner_CRIP="crip-est",
                partner_ASSOCIATION="asso-est")
    assert made.status_code == 302
    listing = admin.get("/admin/territoires").get_data(as_text=True)
    assert "Est" in listing and "CRIP-EST" in listing
    with db.unit_of_work() as uow:
        tid = int(made.location.rsplit("/", 1)[1])
        edit = f"/admin/territoires/{tid}"
        view = territories.territory_of(uow, identity.get_organisation(uow, "crip-est").id)
        assert view is not None and view.id == tid
    changed = post(admin, edit, name="Est", partner_CRIP="", partner_ASSOCIATION="asso-est")
    assert changed.status_code == 302
    assert [a["action"] for a in actions(db, "territory.")][-2:] == ["territory.created",
                                                                      "territory.changed"]


def test_a_start_refused_for_a_missing_partner_is_a_french_page(client, db):
    with transaction(db) as uow:
        org = identity.create_organisation(uow, SYSTEM, slug="iscg-hors", kind="association",
                                           name="ISCG hors territoire")
        user = identity.create_user(uow, SYSTEM, username="is-hors", display_name="IS hors",
                                    password="mot-de-passe-essai-2026")
        identity.grant_role(uow, SYSTEM, user, org, Role.IS)
    login(client, "is-hors", "mot-de-passe-essai-2026")
    page = client.get("/protocoles").get_data(as_text=True)
    refused = client.post("/protocoles/violence_conjugale/lancer",
                          data={"csrf_token": csrf_from(page)})
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 409 and 'role="alert"' in html
    assert "ISCG hors territoire n'est rattachée à aucun territoire" in html
    assert "Traceback" not in html
