"""Administration pages of organisations and territories (`/admin/organisations`,
`/admin/territoires`): parse the form, call one service, render.

Services check the ADMIN role and audit every change; a refusal comes back as the same page
with the error on its field (422) and nothing changed.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine.errors import Invalid, RelaisError
from engine.identity import organisations
from engine.identity.models import ORGANISATION_KIND_LABELS, OrganisationKind
from engine.identity.roles import ROLE_LABELS, Role, secrecy_roles_of
from engine.territory import service as territories
from engine.territory.slots import SLOTS
from engine.web.admin.guard import admin_blueprint
from engine.web.context import uow

bp = admin_blueprint("admin_territory", __name__, "/admin")

# Roles an organisation's members can hold (the platform's ADMIN and the committee's
# figures-only role are never bound by professional secrecy).
SECRECY_CHOICES = [r for r in Role if r not in (Role.ADMIN, Role.COMITE)]
KINDS = [(k.value, ORGANISATION_KIND_LABELS[k]) for k in OrganisationKind]


def _errors(exc: RelaisError) -> dict[str, str]:
    """Field → French message; a refusal without fields is shown at the top only."""
    return {e["field"]: e["message"] for e in getattr(exc, "errors", None) or []
            if "field" in e}


def _change() -> organisations.OrganisationChange:
    form = request.form
    return organisations.OrganisationChange(
        name=form.get("name", ""), address=form.get("address", ""),
        phone=form.get("phone", ""), dpo_contact=form.get("dpo_contact", ""),
        signatory=form.get("signatory", ""),
        offence_data_authorised=form.get("offence_data_authorised") == "on",
        bound_by_secrecy=form.get("bound_by_secrecy") == "on",
        secrecy_roles=tuple(form.getlist("secrecy_roles")))


# --- organisations -------------------------------------------------------------------------

@bp.get("/organisations", endpoint="organisations")
def organisations_page() -> Any:
    return _organisations_page()


def _organisations_page(refused: RelaisError | None = None, status: int = 200) -> Any:
    rows = organisations.list_organisations(uow(), g.principal)
    member_of = {o.id: territories.territory_of(uow(), o.id) for o in rows}
    return render_template("admin/organisations.html", organisations=rows,
                           member_of=member_of, kinds=KINDS, kind_labels=dict(KINDS),
                           refused=refused, errors=_errors(refused) if refused else {},
                           values=request.form if refused else {}), status



@bp.post("/organisations")
def create_organisation() -> Any:
    try:
        org = organisations.create(uow(), g.principal, slug=request.form.get("slug", ""),
                                   kind=request.form.get("kind", ""), change=_change())
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        return _organisations_page(exc, 422)
    flash(f"Organisation « {org.name} » créée.", "info")
    return redirect(url_for("admin_territory.organisation", slug=org.slug))


@bp.get("/organisations/<slug>")
def organisation(slug: str) -> Any:
    return _organisation_page(slug)


def _organisation_page(slug: str, refused: RelaisError | None = None, status: int = 200,
                       values: Any = None) -> Any:
    org = organisations.get(uow(), g.principal, slug)
    chosen = set(values.getlist("secrecy_roles")) if values is not None \
        else secrecy_roles_of(org)
    fields = {f: (values.get(f, "") if values is not None else getattr(org, f) or "")
              for f in ("name", "address", "phone", "dpo_contact", "signatory")}
    return render_template("admin/organisations_modifier.html", org=org, fields=fields,
                           kind_label=dict(KINDS).get(org.kind, org.kind),
                           territory=territories.territory_of(uow(), org.id),
                           roles=[(r.value, ROLE_LABELS[r]) for r in SECRECY_CHOICES],
                           secrecy=chosen, refused=refused,
                           errors=_errors(refused) if refused else {},
                           values=values, max_logo_kib=organisations.MAX_LOGO_BYTES // 1024), \
        status


@bp.post("/organisations/<slug>")
def update_organisation(slug: str) -> Any:
    try:
        organisations.update(uow(), g.principal, slug, _change())
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        return _organisation_page(slug, exc, 422, request.form)
    flash("Organisation enregistrée.", "info")
    return redirect(url_for("admin_territory.organisation", slug=slug))


@bp.post("/organisations/<slug>/logo")
def upload_logo(slug: str) -> Any:
    upload = request.files.get("logo")
    content = upload.read(organisations.MAX_LOGO_BYTES + 1) if upload else b""
    try:
        organisations.set_logo(uow(), g.principal, slug, content)
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        return _organisation_page(slug, exc, 422)
    flash("Logo enregistré.", "info")
    return redirect(url_for("admin_territory.organisation", slug=slug))


@bp.get("/organisations/<slug>/logo")
def logo(slug: str) -> Any:
    content, media_type = organisations.logo_of(uow(), g.principal, slug)
    response = Response(content, mimetype=media_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- territories ---------------------------------------------------------------------------

@bp.get("/territoires", endpoint="territories")
def territories_page() -> Any:
    rows = territories.list_territories(uow(), g.principal)
    return render_template("admin/territoires.html", territories=rows, slots=SLOTS)



def _partners_form() -> tuple[str, dict[str, str], list[str]]:
    form = request.form
    partners = {code: form.get(f"partner_{code}", "") for code in SLOTS}
    return form.get("name", ""), partners, form.getlist("members")


def _territory_form(view: territories.TerritoryView | None, refused: RelaisError | None = None,
                    status: int = 200) -> Any:
    orgs = organisations.list_organisations(uow(), g.principal)
    own_id = view.territory.id if view else None
    taken = {}
    for o in orgs:
        other = territories.territory_of(uow(), o.id)
        if other is not None and other.id != own_id:
            taken[o.id] = other.name
    if refused is not None:
        name, partners, members = _partners_form()
    elif view is not None:
        name = view.territory.name
        partners = {code: org.slug for code, org in view.partners.items()}
        members = [o.slug for o in view.members if o not in view.partners.values()]
    else:
        name, partners, members = "", {}, []
    choices = {code: [o for o in orgs if o.kind in slot.kinds and o.active]
               for code, slot in SLOTS.items()}
    return render_template("admin/territoires_modifier.html", view=view, name=name,
                           partners=partners, members=members, slots=SLOTS, choices=choices,
                           organisations=[o for o in orgs if o.active], taken=taken,
                           refused=refused, errors=_errors(refused) if refused else {}), status


@bp.get("/territoires/nouveau")
def new_territory() -> Any:
    return _territory_form(None)


@bp.post("/territoires/nouveau")
def create_territory() -> Any:
    name, partners, members = _partners_form()
    try:
        view = territories.create_territory(uow(), g.principal, name=name, partners=partners,
                                            members=members)
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        return _territory_form(None, exc, 422)
    flash(f"Territoire « {view.territory.name} » créé.", "info")
    return redirect(url_for("admin_territory.territory", territory_id=view.territory.id))


@bp.get("/territoires/<int:territory_id>")
def territory(territory_id: int) -> Any:
    return _territory_form(territories.get_territory(uow(), g.principal, territory_id))


@bp.post("/territoires/<int:territory_id>")
def update_territory(territory_id: int) -> Any:
    name, partners, members = _partners_form()
    try:
        territories.update_territory(uow(), g.principal, territory_id, name=name,
                                     partners=partners, members=members)
        uow().commit()
    except Invalid as exc:
        uow().rollback()
        view = territories.get_territory(uow(), g.principal, territory_id)
        return _territory_form(view, exc, 422)
    flash("Territoire enregistré.", "info")
    return redirect(url_for("admin_territory.territory", territory_id=territory_id))
