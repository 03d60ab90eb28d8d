"""The two protocols started by police or gendarmerie, described for `layout.py`:

- `orientation_is`: a police officer (or, in its second pool, a gendarme) orients a person
  to the intervenant social with her agreement to be contacted;
- `requisition_judiciaire`: a judicial requisition (CPP 60-1, 77-1-1, 99-3) sent to the
  organisation holding the information, which a second professional checks before the
  answer leaves, encrypted and signed, for the requesting unit.

    .venv/bin/python workflows/_tools/protocols_police.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from layout import Diagram, Flow, MessageFlow, Node, Note, Pool, write
from protocols import (
    GRANTED,
    RECEIPT,
    WITHDRAWN,
    WORKFLOWS,
    chain,
    consent,
    legal_basis,
    transmit,
)

ORIENTATION_CATEGORIES = "['ID', 'SOC']"
REQUISITION_CATEGORIES = "['ID', 'SOC']"
UNITS = {"POLICE": "Policier (commissariat)", "GENDARMERIE": "Gendarme (brigade)"}


# --- orientation vers l'intervenant social -------------------------------------------------

def _orientation_pool(process_id: str, role: str, p: str) -> Pool:
    """One pool per starting unit (a lane names one role): ids prefixed with `p`."""
    nodes = [
        Node(f"{p}debut", "start", "Personne à orienter vers l'intervenant social", role, 1),
        Node(f"{p}fiche", "user", "Remplir la fiche d'orientation", role, 2,
             form="oi_fiche.json"),
        *consent(f"{p}accord_contact", "Accord de la personne pour être contactée", role, 3,
                 purposes="['orientation_is']", recipients="[organisation_IS]",
                 categories=ORIENTATION_CATEGORIES, question="Accepte d'être contactée ?",
                 expires_days=90),
        Node(f"{p}fin_sans_accord", "end", "Pas d'orientation : la personne ne le souhaite pas",
             role, 6, 1),
        transmit(f"{p}transmettre", "Transmettre la fiche à l'intervenant social", role, 6,
                 template="oi_fiche_orientation.docx", recipient="organisation_IS",
                 purpose="orientation_is", categories=ORIENTATION_CATEGORIES, role="'IS'"),
        Node(f"{p}contact", "user", "Contacter la personne orientée", "IS", 7,
             form="oi_contact.json"),
        Node(f"{p}fin", "end", "Orientation prise en charge", "IS", 8),
    ]
    flows = [
        *chain(f"{p}oi", f"{p}debut", f"{p}fiche", f"{p}accord_contact",
               f"{p}accord_contact_enregistre", f"{p}accord_contact_decision"),
        Flow(f"f_{p}accord_contact_accord", f"{p}accord_contact_decision", f"{p}transmettre",
             "Oui", GRANTED),
        Flow(f"f_{p}accord_contact_refus", f"{p}accord_contact_decision",
             f"{p}fin_sans_accord", "Non"),
        *chain(f"{p}oi_suite", f"{p}transmettre", f"{p}contact", f"{p}fin"),
    ]
    unit = "la police" if role == "POLICE" else "la gendarmerie"
    return Pool(process_id, f"Orientation par {unit} vers l'intervenant social",
                [(role, UNITS[role]), ("IS", "Intervenant social qui reçoit l'orientation")],
                nodes, flows, partners=["IS"],
                doc="Une situation sur trois commence ainsi : une fiche courte, "
                "l'accord de la personne pour être contactée, et la fiche arrive dans les "
                "tâches de l'intervenant social.")


def orientation_is() -> Diagram:
    police = _orientation_pool("orientation_is", "POLICE", "")
    gendarmerie = _orientation_pool("orientation_is_gendarmerie", "GENDARMERIE", "g_")
    police.notes.append(Note("note_accord", "Sans l'accord de la personne, rien n'est "
                             "transmis : elle peut aussi se présenter d'elle-même.",
                             "accord_contact_decision", dx=-60, dy=150, width=230, height=46))
    return Diagram("orientation_is", [police, gendarmerie],
                   {RECEIPT: "accuse_reception", WITHDRAWN: "consentement_retire"},
                   [MessageFlow("mf_fiche", "transmettre", "contact", "Fiche chiffrée et "
                                "signée")])


# --- réquisition judiciaire ----------------------------------------------------------------

ANSWER_TO = "organisation_POLICE if service_requerant == 'police' else organisation_GENDARMERIE"
ANSWER_ROLE = "'POLICE' if service_requerant == 'police' else 'GENDARMERIE'"


def _requisition_pool() -> Pool:
    nodes = [
        Node("debut", "start", "Réquisition à adresser", "POLICE", 1),
        Node("requisition", "user", "Rédiger la réquisition", "POLICE", 2,
             form="rq_requisition.json"),
        *legal_basis("base_requisition", "Base légale : réquisition (CPP 60-1, 77-1-1, 99-3)",
                     "POLICE", 3, "requisition_adressee", information="not_applicable"),
        transmit("transmettre", "Adresser la réquisition", "POLICE", 5,
                 template="rq_requisition.docx", recipient="organisation_IS",
                 purpose="requisition_judiciaire", categories=REQUISITION_CATEGORIES,
                 role="'IS'", legal="record_base_legale"),
        Node("accuse", "message", "Réception accusée par l'organisation requise", "POLICE", 6,
             message=RECEIPT),
        Node("fin", "end", "Réquisition reçue : la réponse arrivera dans la boîte de "
             "réception", "POLICE", 7),
    ]
    flows = chain("rq", "debut", "requisition", "base_legale",
                  "base_requisition_verifiee", "transmettre", "accuse", "fin")
    return Pool("requisition_judiciaire", "Réquisition judiciaire — unité requérante",
                [("POLICE", "Officier ou agent de police judiciaire")], nodes, flows,
                partners=["IS"],
                doc="La réquisition dit la procédure, le magistrat et ce qui est demandé ; "
                "elle part chiffrée et signée vers l'organisation requise.")


def _answer_pool() -> Pool:
    nodes = [
        Node("r_debut", "start", "Réquisition reçue", "IS", 1),
        Node("reception", "user", "Enregistrer la réquisition reçue", "IS", 2,
             form="rq_reception.json"),
        Node("verser", "service", "Verser à la situation et accuser réception", "IS", 3,
             operator="relais/file_delivery",
             params=[("delivery", "int", "envoi"),
                     ("purposes", "list", "['requisition_judiciaire']")],
             result="requisition_versee"),
        Node("reponse", "user", "Préparer la réponse", "IS", 4, form="rq_reponse.json"),
        Node("r_base_legale", "user", "Base légale : réponse à une réquisition", "IS", 5,
             form="base_legale.json", prefill={"legal_basis": "'requisition_60_1'",
                                               "information": "'not_applicable'"}),
        Node("r_invoquee", "service", "Ouvrir la revue de la réquisition", "IS", 6,
             operator="relais/invoke_legal_basis",
             params=[("record", "int", "record_r_base_legale")], result="r_invoquee"),
        Node("revue", "user", "Contrôler la réquisition et la réponse (un autre "
             "professionnel)", "IS", 7, form="revue_juridique.json"),
        Node("r_revue", "service", "Enregistrer le contrôle", "IS", 8,
             operator="relais/answer_legal_review",
             params=[("legal_basis_record", "int", "record_r_base_legale"),
                     ("record", "int", "record_revue")], result="r_revue"),
        Node("r_decision", "xor", "Réponse approuvée ?", "IS", 9, default="f_rq_ecartee"),
        Node("r_fin_ecartee", "end", "Réquisition écartée : rien n'est transmis", "IS", 10, 1),
        transmit("r_transmettre", "Répondre à l'unité requérante", "IS", 10,
                 template="rq_reponse.docx", recipient=ANSWER_TO,
                 purpose="requisition_judiciaire", categories=REQUISITION_CATEGORIES,
                 role=ANSWER_ROLE, legal="record_r_base_legale"),
        Node("r_fin", "end", "Réponse transmise", "IS", 11),
    ]
    flows = [
        *chain("rq_r", "r_debut", "reception", "verser", "reponse",
               "r_base_legale", "r_invoquee", "revue", "r_revue", "r_decision"),
        Flow("f_rq_approuvee", "r_decision", "r_transmettre", "Oui",
             "review_decision == 'approved'"),
        Flow("f_rq_ecartee", "r_decision", "r_fin_ecartee", "Non"),
        Flow("f_rq_transmise", "r_transmettre", "r_fin"),
    ]
    notes = [Note("note_revue", "Le contrôle est fait par un autre professionnel que celui "
                  "qui a préparé la réponse : sinon rien ne part.", "revue", dx=-40, dy=130,
                  width=240, height=46)]
    return Pool("requisition_reponse", "Réquisition judiciaire — organisation requise",
                [("IS", "Professionnels de l'organisation requise")], nodes, flows, notes,
                partners=["POLICE", "GENDARMERIE"],
                doc="Jamais de réponse automatique : la réponse, limitée à ce qui est "
                "demandé, est contrôlée par un second professionnel, puis part chiffrée et "
                "signée vers l'unité requérante.")


def requisition_judiciaire() -> Diagram:
    return Diagram("requisition_judiciaire", [_requisition_pool(), _answer_pool()],
                   {RECEIPT: "accuse_reception"},
                   [MessageFlow("mf_requisition", "transmettre", "reception",
                                "Réquisition chiffrée et signée"),
                    MessageFlow("mf_accuse", "verser", "accuse", "Accusé de réception signé")])


DIAGRAMS = {"orientation_is": orientation_is, "requisition_judiciaire": requisition_judiciaire}


def main() -> None:
    for process_id, describe in DIAGRAMS.items():
        write(describe(), WORKFLOWS / process_id / f"{process_id}.bpmn")


if __name__ == "__main__":
    main()
