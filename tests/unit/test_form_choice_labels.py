"""Multi-choice checkboxes show their choices' words, not their codes."""

from __future__ import annotations

import forms
from engine.web.ui import forms as html_forms

SCHEMA = {"type": "object", "properties": {
    "besoins": {"title": "Besoins", "type": "array",
                "items": {"type": "string", "enum": ["economiques", "sante_psychique"],
                          "x-relais-labels": {"economiques": "Difficultés économiques",
                                              "sante_psychique": "Santé psychique"}}},
    "gravite": {"title": "Gravité", "type": "string", "enum": ["basse", "haute"],
                "x-relais-labels": {"basse": "Faible", "haute": "Élevée"}},
    "sans_mots": {"title": "Sans mots", "type": "array", "items": {"enum": ["a"]}},
}}


def test_choices_of_a_list_take_their_words_from_items():
    besoins, gravite, sans_mots = html_forms.fields(SCHEMA, {}, {})
    assert besoins.kind == "choices" and besoins.options == [
        ("economiques", "Difficultés économiques"), ("sante_psychique", "Santé psychique")]
    assert gravite.options == [("basse", "Faible"), ("haute", "Élevée")]
    assert sans_mots.options == [("a", "a")]


def test_bundled_multi_choices_show_the_words_their_items_give():
    checked = 0
    for path in sorted(forms.FORMS_DIR.glob("*.json")):
        if path.name.endswith(".ui.json"):
            continue
        form = forms.load(path.name, forms.FORMS_DIR)
        for field in html_forms.fields(form.schema, form.ui, {}):
            words = form.schema["properties"][field.name].get("items", {}).get(
                "x-relais-labels")
            if field.kind == "choices" and words:
                assert dict(field.options) == {c: words[c] for c in words}, field.name
                checked += 1
    assert checked >= 3


def test_codes_without_labels_take_the_words_given_for_them():
    schema = {"type": "object", "properties": {
        "categories": {"type": "array", "items": {"enum": ["ID", "SOC"]}},
        "recipients": {"type": "array", "const": ["asso-victimes-demo"], "readOnly": True}}}
    words = {"ID": "Identité", "SOC": "Situation sociale",
             "asso-victimes-demo": "Association d'aide aux victimes (Association)"}
    categories, recipients = html_forms.fields(schema, {}, {}, words)
    assert categories.options == [("ID", "Identité"), ("SOC", "Situation sociale")]
    assert recipients.fixed and recipients.shown == [
        "Association d'aide aux victimes (Association)"]
