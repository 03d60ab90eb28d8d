"""Violences conjugales (Côte-d'Or model), through the REST API as the demo personas: the IS
fills the event sheet with the victim, who decides whether it goes to the association; the
association files each sheet into the victim's dossier (acknowledging it), and — at her
request only — hands the whole dossier, in date order, to a police unit, or destroys it. An
unacknowledged sheet is chased after 5 working days; a withdrawn consent stops the wait."""

from __future__ import annotations

from typing import Any

import pytest
from protocol_support import GRANTED, REFUSED, Territory

SHEET = "Fiche protocole violences conjugales"
VC_CATEGORIES = ["HEALTH", "ID", "MINOR", "OFF", "SOC", "THIRD"]


@pytest.fixture
def t(client, db, clock) -> Territory:
    return Territory(client, db, clock)


def sheet(first_name: str, event_day: str, **extra: Any) -> dict[str, Any]:
    return {"victime_nom": "Lefèvre", "victime_prenom": first_name, "date_faits": event_day,
            "lieu_faits": "domicile_commun", "commune_faits": "Dijon",
            "violences": ["physiques", "psychologiques"], "enfants_presents": True,
            "enfants_nombre": 2, "blessures": "visibles", "certificat_medical": "oui",
            "itt_jours": 3, "faits_anterieurs": True,
            "faits_anterieurs_recit": f"Gifles répétées depuis 2024 ({first_name}).",
            "suite_judiciaire": "main_courante", "auteur_lien": "conjoint",
            "observations": "Souhaite être rappelée « après 18 h ».", **extra}


def send_sheet(t: Territory, first_name: str, event_day: str) -> tuple[dict[str, Any], int]:
    """The IS meets the victim, fills the sheet, she agrees: (instance, delivery id)."""
    instance = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", instance["id"], {"mode_saisine": "main_courante",
                                            "danger_immediat": False})
    t.complete("demo-is", instance["id"], sheet(first_name, event_day))
    checkpoint = t.task("demo-is", instance["id"])
    form = t.form("demo-is", checkpoint["id"])
    assert form["properties"]["recipients"]["const"] == ["asso-victimes-demo"]
    assert form["properties"]["purposes"]["const"] == ["vc_transmission"]
    assert form["properties"]["categories"]["const"] == VC_CATEGORIES
    t.complete("demo-is", instance["id"], GRANTED)
    [delivery] = [d for d in t.received("demo-asso", SHEET)
                  if d["instance_id"] == instance["id"]]
    return instance, delivery["id"]


def file_sheet(t: Territory, delivery_id: int, dossier_case: int | None = None) -> dict:
    """The association files a received sheet into a (new or existing) dossier."""
    request = t.start("demo-asso", "violence_conjugale_dossier", dossier_case)
    t.complete("demo-asso", request["id"], {"action": "classer"})
    t.complete("demo-asso", request["id"], {"envoi": delivery_id})
    assert t.status(request["id"]) == "completed", t.incidents()
    return request


def test_sheets_are_filed_in_the_victims_dossier_then_handed_to_the_police_in_date_order(t):
    first, first_delivery = send_sheet(t, "Élodie", t.days(-3))
    assert t.status(first["id"]) == "running"  # waits for the association's receipt
    assert t.inbox("demo-is") == [] and t.inbox("demo-police") == []
    detail = t.delivery("demo-asso", first_delivery)
    assert detail["purpose"] == "vc_transmission" and detail["categories"] == VC_CATEGORIES
    assert detail["recipient_role"] == "ASSOCIATION" and detail["signature"]["status"] == "valid"
    text = t.document("demo-asso", first_delivery)
    assert "Élodie" in text and "Lefèvre" in text and "Physiques, Psychologiques" in text
    assert "Main courante enregistrée" in text and "Conjoint (mariage, PACS)" in text

    # No receipt within 5 working days: the IS is asked to chase the association, then waits
    # again (a new due date, counted from the reminder).
    assert t.later(days=2) == 0
    assert t.tasks("demo-is", first["id"]) == []
    assert t.later(days=6) == 1
    t.complete("demo-is", first["id"], {"moyen_relance": "telephone"},
               name="Relancer l'association")
    assert t.status(first["id"]) == "running"
    assert len(t.audit("runtime.timers_fired")) == 1
    assert [row["operator"] for row in t.audit("runtime.service_task_completed")
            ].count("relais/due_date") == 2

    # The association files it into a new dossier, which acknowledges it: the IS's instance ends.
    dossier = file_sheet(t, first_delivery)
    assert t.status(first["id"]) == "completed"
    receipts = t.delivery("demo-is", first_delivery)["receipts"]
    assert [r["signature_status"] for r in receipts] == ["valid"]
    assert t.delivery("demo-is", first_delivery)["status"] == "acknowledged"

    # Years later, another sheet — about an earlier event — joins the same dossier.
    second, second_delivery = send_sheet(t, "Élodie-Bis", t.days(-400))
    file_sheet(t, second_delivery, dossier["case_id"])
    assert t.status(second["id"]) == "completed"
    pieces = t.pieces("demo-asso", dossier["case_id"])
    assert [p["kind"] for p in pieces] == ["filed", "filed"]
    assert [p["delivery_id"] for p in pieces] == [first_delivery, second_delivery]
    t.get("demo-is", f"/cases/{dossier['case_id']}/pieces", status=404)  # the victim's dossier

    # She files a complaint and asks for the whole dossier to go to the police.
    export = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])
    t.complete("demo-asso", export["id"], {"action": "exporter"})
    t.complete("demo-asso", export["id"], {"unite_destinataire": "commissariat-demo",
                                           "date_plainte": t.days(0)})
    request = t.task("demo-asso", export["id"])
    form = t.form("demo-asso", request["id"])
    assert form["properties"]["purposes"]["const"] == ["vc_dossier_export_police"]
    assert form["properties"]["recipients"]["const"] == ["commissariat-demo"]
    assert form["properties"]["channel"]["enum"] == ["written"]  # never an oral request
    assert "const" not in form["properties"]["channel"]  # the person answers, not the diagram
    t.complete("demo-asso", export["id"], GRANTED, status=422)
    t.complete("demo-asso", export["id"], {**GRANTED, "channel": "written"})
    [handed] = t.received("demo-police", "Dossier protocole violences conjugales")
    assert t.inbox("demo-dpp") == []  # the police-population delegate is not its recipient
    assert t.inbox("demo-gendarme") == []
    detail = t.delivery("demo-police", handed["id"])
    assert detail["purpose"] == "vc_dossier_export_police"
    assert detail["recipient_role"] == "POLICE" and detail["manifest"]["consent_id"]
    text = t.document("demo-police", handed["id"])
    assert "2 fiche(s)" in text
    assert text.index("Élodie-Bis") > text.index("1. Fiche protocole")  # both sheets, in order
    assert text.index("Élodie\n") < text.index("Élodie-Bis")
    assert "Gifles répétées depuis 2024 (Élodie)." in text
    t.acknowledge("demo-police", handed["id"])
    assert t.status(export["id"]) == "completed"

    transmitted = t.audit("routing.transmitted")
    assert [row["purpose"] for row in transmitted] == \
        ["vc_transmission", "vc_transmission", "vc_dossier_export_police"]
    assert all(row["consent"] for row in transmitted)
    assert len(t.audit("dossiers.piece_filed")) == 2
    assert len(t.audit("routing.acknowledged")) == 3
    assert t.incidents() == []


def test_a_refusal_keeps_the_sheet_with_the_is_and_danger_goes_to_emergency_routes(t):
    kept = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", kept["id"], {"mode_saisine": "personne", "danger_immediat": False})
    t.complete("demo-is", kept["id"], sheet("Inès", t.days(-1)))
    t.complete("demo-is", kept["id"], REFUSED)
    assert t.status(kept["id"]) == "completed"
    assert t.inbox("demo-asso") == []
    assert t.audit("routing.transmitted") == []
    [consent] = t.get("demo-is", f"/cases/{kept['case_id']}/consents")
    assert consent["decision"] == "refused"
    [copy] = t.pieces("demo-is", kept["case_id"])
    assert copy["kind"] == "generated"
    text = t.piece_text("demo-is", copy["id"])
    assert "Inès" in text and "n'a pas souhaité" in text
    t.get("demo-asso", f"/pieces/{copy['id']}/document", status=404)
    assert len(t.audit("dossiers.piece_read")) == 1

    urgent = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", urgent["id"], {"mode_saisine": "orientation_police",
                                          "danger_immediat": True})
    assert t.task("demo-is", urgent["id"])["name"] == "Orienter vers l'urgence"
    t.complete("demo-is", urgent["id"], {"orientation_urgence": "telephone_grave_danger",
                                          "fiche_apres_urgence": False})
    assert t.status(urgent["id"]) == "completed"
    assert t.get("demo-is", f"/cases/{urgent['case_id']}/consents") == []

    # Once the emergency is handled, the IS can still fill the sheet with the victim.
    later = t.start("demo-is", "violence_conjugale")
    t.complete("demo-is", later["id"], {"mode_saisine": "personne", "danger_immediat": True})
    t.complete("demo-is", later["id"], {"orientation_urgence": "hebergement_urgence",
                                         "fiche_apres_urgence": True})
    assert t.task("demo-is", later["id"])["name"] == \
        "Remplir la fiche protocole avec la victime"
    t.complete("demo-is", later["id"], sheet("Maëlle", t.days(0), gravite="crime"))
    t.complete("demo-is", later["id"], GRANTED)
    [received] = t.received("demo-asso", "Fiche protocole violences conjugales")
    detail = t.delivery("demo-asso", received["id"])
    assert detail["categories"] == VC_CATEGORIES  # injuries: health data, with consent


def test_withdrawal_stops_the_wait_refusal_stops_the_export_and_destruction_is_final(t):
    waiting, _delivery = send_sheet(t, "Rose", t.days(-2))
    [consent] = t.get("demo-is", f"/cases/{waiting['case_id']}/consents")
    t.post("demo-is", f"/consents/{consent['id']}/withdraw", {"destroy": False})
    t.work()
    assert t.status(waiting["id"]) == "completed"
    assert [row["name"] for row in t.audit("runtime.message_delivered")] == \
        ["consentement_retire"]
    assert t.tasks("demo-is", waiting["id"]) == []

    _sent, kept_delivery = send_sheet(t, "Jade", t.days(-5))
    dossier = file_sheet(t, kept_delivery)
    export = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])
    t.complete("demo-asso", export["id"], {"action": "exporter"})
    t.complete("demo-asso", export["id"], {"unite_destinataire": "gendarmerie-demo"})
    # she does not confirm: nothing leaves
    t.complete("demo-asso", export["id"], {**REFUSED, "channel": "written"})
    assert t.status(export["id"]) == "completed"
    assert t.inbox("demo-gendarme") == []

    [piece] = t.pieces("demo-asso", dossier["case_id"])
    destroy = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])
    t.complete("demo-asso", destroy["id"], {"action": "detruire"})
    t.complete("demo-asso", destroy["id"], {"forme_demande": "sur_place",
                                            "definitif_explique": True}, status=422)
    t.complete("demo-asso", destroy["id"], {"forme_demande": "ecrit_sur_place",
                                            "demande_jointe": True,
                                            "definitif_explique": True})
    assert t.status(destroy["id"]) == "completed"
    t.get("demo-asso", f"/pieces/{piece['id']}/document", status=410)
    [destroyed] = t.audit("dossiers.destroyed")
    assert destroyed["reason"] == "demande_personne" and destroyed["pieces"] == 1
    assert t.audit("case.key_destroyed")[0]["subject"] == str(dossier["case_id"])


def test_the_dossier_can_be_handed_to_the_victim_or_her_lawyer_at_her_written_request(t):
    _first, delivery = send_sheet(t, "Élodie", t.days(-30))
    dossier = file_sheet(t, delivery)
    sent_before = len(t.audit("routing.transmitted"))

    handed = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])
    t.complete("demo-asso", handed["id"], {"action": "remettre"})
    request = t.task("demo-asso", handed["id"])
    assert request["name"] == "Recevoir la demande de remise à la victime ou à son avocat"
    # Never on an oral request: the signed request must be confirmed as joined.
    t.complete("demo-asso", handed["id"], {"beneficiaire": "avocat",
                                            "date_demande": t.days(0),
                                            "forme_demande": "courrier"}, status=422)
    t.complete("demo-asso", handed["id"], {"beneficiaire": "avocat",
                                            "avocat_nom": "Maître Durand, barreau de Dijon",
                                            "date_demande": t.days(0),
                                            "forme_demande": "courrier",
                                            "demande_jointe": True})
    assert t.status(handed["id"]) == "completed", t.incidents()
    [piece] = [p for p in t.pieces("demo-asso", dossier["case_id"])
               if p["document_name"] == "Dossier remis à l'avocat de la victime"]
    text = t.piece_text("demo-asso", piece["id"])
    assert "remet à l'avocat de la victime l'ensemble de son dossier : 1 fiche(s)" in text
    assert "Maître Durand, barreau de Dijon" in text
    assert "Gifles répétées depuis 2024 (Élodie)." in text  # the filed sheet itself
    assert "Code pénal, art. 226-13" in text and "Validé par Nadia Benali" in text
    # Nothing leaves through Relais: the association prints or hands the document itself.
    assert len(t.audit("routing.transmitted")) == sent_before
    assert t.inbox("demo-police") == [] and t.inbox("demo-gendarme") == []
    [row] = t.audit("dossiers.handed_over")
    assert row["beneficiary"] == "avocat" and row["pieces"] == 1
    t.get("demo-is", f"/pieces/{piece['id']}/document", status=404)

    herself = t.start("demo-asso", "violence_conjugale_dossier", dossier["case_id"])
    t.complete("demo-asso", herself["id"], {"action": "remettre"})
    t.complete("demo-asso", herself["id"], {"beneficiaire": "victime",
                                             "date_demande": t.days(0),
                                             "forme_demande": "ecrit_sur_place",
                                             "demande_jointe": True})
    [mine] = [p for p in t.pieces("demo-asso", dossier["case_id"])
              if p["document_name"] == "Dossier remis à la victime"]
    assert "remet à la victime elle-même" in t.piece_text("demo-asso", mine["id"])


def test_a_partner_who_signed_the_protocol_fills_and_sends_a_sheet_too(t):
    # The hospital's emergency service (role URGENCES) starts its own sheet: not only the IS.
    sent = t.start("demo-urgences", "violence_conjugale_partenaire")
    t.complete("demo-urgences", sent["id"], sheet("Sarah", t.days(0), gravite="delit"))
    consent = t.form("demo-urgences", t.task("demo-urgences", sent["id"])["id"])
    assert consent["properties"]["recipients"]["const"] == ["asso-victimes-demo"]
    t.complete("demo-urgences", sent["id"], GRANTED)
    [received] = [d for d in t.received("demo-asso", SHEET) if d["instance_id"] == sent["id"]]
    detail = t.delivery("demo-asso", received["id"])
    assert detail["manifest"]["sender_organisation"] == "urgences-demo"
    assert detail["purpose"] == "vc_transmission" and detail["categories"] == VC_CATEGORIES
    text = t.document("demo-asso", received["id"])
    assert "Centre hospitalier (démo) — service des urgences" in text and "Sarah" in text
    assert "Dr Paul Girard" in text
    file_sheet(t, received["id"])
    assert t.status(sent["id"]) == "completed"  # the association's receipt ends it

    refused = t.start("demo-urgences", "violence_conjugale_partenaire")
    t.complete("demo-urgences", refused["id"], sheet("Anaïs", t.days(0)))
    t.complete("demo-urgences", refused["id"], REFUSED)
    assert t.status(refused["id"]) == "completed"
    [kept] = t.pieces("demo-urgences", refused["case_id"])
    assert "Anaïs" in t.piece_text("demo-urgences", kept["id"])
    assert len(t.received("demo-asso", SHEET)) == 1  # the refusal sent nothing
    # Only the partner role starts it; the IS has her own protocol.
    t.post("demo-is", "/instances", {"process_id": "violence_conjugale_partenaire"},
           status=403)
