"""The modeler's catalogue (engine/runtime/catalogue.py): what a diagram may name, with the
documentation the properties panel shows; administrators only."""

from __future__ import annotations

import pytest

import forms
from engine.identity.errors import PermissionDenied
from engine.identity.principal import Grant, Principal
from engine.runtime import catalogue, connectors


def _principal(role: str) -> Principal:
    return Principal(user_id=1, username="u", display_name="U",
                     grants=(Grant(1, "org", "Organisation", role),))


ADMIN = _principal("ADMIN")


def test_every_registered_connector_documents_each_parameter_in_french():
    registered = connectors.all_connectors()
    assert len(registered) >= 10
    for connector in registered:
        for name in connector.parameters:
            doc = connector.documentation(name)
            assert doc is not None, f"{connector.id} : paramètre « {name} » sans documentation"
            assert doc.type in connectors.PARAMETER_TYPES, (connector.id, name)
            assert len(doc.doc) > 15 and doc.doc[0].isupper(), (connector.id, name)


def test_a_connector_cannot_document_a_parameter_it_does_not_accept():
    with pytest.raises(ValueError, match="documented parameters not accepted"):
        connectors.Connector(id="test/x", description="x", required=("a",),
                             documented=(connectors.Parameter("b", "str", "Un paramètre"),))


def test_the_catalogue_lists_forms_connectors_roles_and_consent_codes():
    data = catalogue.modeler_catalogue(ADMIN)
    files = {f["file"]: f for f in data["forms"]}
    assert "vc_fiche.json" in files and "consentement.json" in files
    assert not any(name.endswith(".ui.json") for name in files)
    assert files["vc_fiche.json"]["title"] == "Fiche protocole violences conjugales"
    assert files["vc_fiche.json"]["schema"]["properties"]
    transmit = next(c for c in data["connectors"] if c["id"] == "relais/transmit_document")
    by_name = {p["name"]: p for p in transmit["parameters"]}
    assert by_name["template"] == {"name": "template", "type": "str", "required": True,
                                   "doc": by_name["template"]["doc"]}
    assert by_name["categories"]["type"] == "list"
    assert by_name["legal_basis_record"]["required"] is False
    roles = {r["code"]: r["label"] for r in data["roles"]}
    assert roles["IS"] == "Intervenant social" and "ADMIN" not in roles
    consent = data["consent"]
    assert {"code": "HEALTH", "label": "santé"} in consent["categories"]
    assert any(p["code"] == "vc_transmission" for p in consent["purposes"])
    assert any(k["code"] == "association" for k in consent["recipient_kinds"])


def test_the_catalogue_is_for_administrators_only():
    with pytest.raises(PermissionDenied):
        catalogue.modeler_catalogue(_principal("IS"))
    with pytest.raises(PermissionDenied):
        catalogue.check_source(_principal("IS"), "x = 1", "script")


def test_scripts_and_expressions_are_checked_as_at_deployment():
    assert catalogue.check_source(ADMIN, "x = 1\ny = x + 1", "script") is None
    refused = catalogue.check_source(ADMIN, "import os", "script")
    assert refused and refused.startswith("Expression refusée")
    assert "vide" in catalogue.check_source(ADMIN, "  ", "script")
    assert catalogue.check_source(ADMIN, 'decision == "granted"', "expression") is None
    assert catalogue.check_source(ADMIN, "decision ==", "expression")


def test_the_preview_loads_only_forms_of_the_forms_folder():
    assert catalogue.form_for_preview(ADMIN, "vc_fiche.json").name == "vc_fiche.json"
    for bad in ("../pyproject.toml", "absent.json", ""):
        with pytest.raises(forms.FormError):
            catalogue.form_for_preview(ADMIN, bad)
