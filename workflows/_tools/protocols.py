"""The five bundled protocols, described for `layout.py` (which writes their `.bpmn` files).

    .venv/bin/python workflows/_tools/protocols.py

Each description follows its protocol's README (`workflows/<process_id>/README.md`): lanes
name the roles of `engine/identity/roles.py`; user tasks name their form in `forms/`;
service tasks name connectors (`relais/…`) with restricted-expression parameters; the
partner organisations of the territory (association, council, CMP, CRIP, commune, police,
parquet) are read as `organisation_<SLOT>`, declared by each pool's `partners` and given by
the runtime at start from the territory settings (docs/territories.md).
"""

from __future__ import annotations

import sys
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from layout import Diagram, Flow, MessageFlow, Node, Note, Pool, write

WORKFLOWS = Path(__file__).resolve().parents[1]
RECEIPT = "Message_accuse_reception"
WITHDRAWN = "Message_consentement_retire"
MESSAGES = {RECEIPT: "accuse_reception"}
GRANTED = 'decision == "granted"'


def consent(prefix: str, name: str, lane: str, col: float, *, purposes: str, recipients: str,
            categories: str, question: str, row: int = 0,
            expires_days: int = 365, channel: str | None = None) -> list[Node]:
    """A consent checkpoint: the standard form (fixed purposes, recipients, categories; the
    channels accepted when the protocol requires one, e.g. a written request — the person's
    answer is never fixed in advance), the decision
    recorded as a Consent, and the gateway on `decision`."""
    prefill = {"purposes": purposes, "recipients": recipients, "categories": categories}
    allowed = {"channel": f"['{channel}']"} if channel else {}
    return [
        Node(f"{prefix}", "user", name, lane, col, row, form="consentement.json",
             prefill=prefill, allowed=allowed),
        Node(f"{prefix}_enregistre", "service", "Enregistrer la décision", lane, col + 1, row,
             operator="relais/record_consent",
             params=[("record", "int", f"record_{prefix}"),
                     ("expires_days", "int", str(expires_days))],
             result=f"{prefix}_enregistre"),
        Node(f"{prefix}_decision", "xor", question, lane, col + 2, row,
             default=f"f_{prefix}_refus"),
    ]


def legal_basis(prefix: str, name: str, lane: str, col: float, basis: str, row: int = 0,
                information: str | None = None) -> list[Node]:
    """A legal-basis checkpoint: `base_legale.json` with the basis fixed, then its check."""
    prefill = {"legal_basis": f"'{basis}'"}
    if information:
        prefill["information"] = f"'{information}'"
    return [
        Node("base_legale", "user", name, lane, col, row, form="base_legale.json",
             prefill=prefill),
        Node(f"{prefix}_verifiee", "service", "Vérifier la base légale", lane, col + 1, row,
             operator="relais/invoke_legal_basis", params=[("record", "int", "record_base_legale")],
             result=f"{prefix}_verifiee"),
    ]


def transmit(node_id: str, name: str, lane: str, col: float, *, template: str, recipient: str,
             purpose: str, categories: str, row: int = 0, role: str | None = None,
             legal: str | None = None, result: str = "transmission") -> Node:
    params = [("template", "str", f"'{template}'"), ("recipient", "str", recipient),
              ("purpose", "str", f"'{purpose}'"), ("categories", "list", categories)]
    if role:
        params.append(("recipient_role", "str", role))
    if legal:
        params.append(("legal_basis_record", "int", legal))
    return Node(node_id, "service", name, lane, col, row, operator="relais/transmit_document",
                params=params, result=result)


def render(node_id: str, name: str, lane: str, col: float, template: str, row: int = 0) -> Node:
    return Node(node_id, "service", name, lane, col, row, operator="relais/render_document",
                params=[("template", "str", f"'{template}'")], result=f"{node_id}_produit")


def merge_before(pool: Pool, target: str, merge_id: str, name: str) -> Pool:
    """An explicit exclusive merge where a loop comes back to `target` (no implicit join):
    the merge takes `target`'s column, and `target` and what follows move one column right."""
    node = next(n for n in pool.nodes if n.id == target)
    column = node.col
    for other in pool.nodes:
        if other.col >= column:
            other.col += 1
    pool.nodes.append(Node(merge_id, "xor", name, node.lane, column, node.row,
                           default=f"f_{merge_id}"))
    for flow in pool.flows:
        if flow.target == target:
            flow.target = merge_id
    pool.flows.append(Flow(f"f_{merge_id}", merge_id, target))
    return pool


def chain(prefix: str, *ids: str) -> list[Flow]:
    return [Flow(f"f_{prefix}_{i}", a, b) for i, (a, b) in enumerate(pairwise(ids), 1)]


# --- 1. violences conjugales ---------------------------------------------------------------

# Injuries, medical certificate and ITT are health data: the victim's explicit consent names
# HEALTH, and only a victim-support association may receive it that way.
VC_CATEGORIES = "['HEALTH', 'ID', 'MINOR', 'OFF', 'SOC', 'THIRD']"


def violence_conjugale() -> Diagram:
    nodes = [
        Node("debut", "start", "Violences conjugales rencontrées", "IS", 1),
        Node("saisine", "user", "Recevoir la situation", "IS", 2, form="vc_saisine.json"),
        Node("danger", "xor", "Danger immédiat ?", "IS", 3, default="f_vc_pas_de_danger"),
        Node("urgence", "user", "Orienter vers l'urgence", "IS", 4, 1, form="vc_urgence.json"),
        Node("apres_urgence", "xor", "Fiche après l'urgence ?", "IS", 5, 1,
             default="f_vc_sans_fiche"),
        Node("fin_urgence", "end", "Orientée vers l'urgence", "IS", 6, 1),
        Node("fiche", "user", "Remplir la fiche protocole avec la victime", "IS", 4,
             form="vc_fiche.json"),
        *consent("consentement", "Recueillir la décision de la victime", "IS", 5,
                 purposes="['vc_transmission']", recipients="[organisation_ASSOCIATION]",
                 categories=VC_CATEGORIES, question="Transmettre la fiche ?",
                 expires_days=2190),
        render("exemplaire", "Produire l'exemplaire conservé", "IS", 8, "vc_fiche_conservee.docx",
               row=2),
        Node("fin_conservee", "end", "Fiche conservée par l'intervenant social", "IS", 9, 2),
        transmit("transmettre", "Transmettre la fiche à l'association", "IS", 8,
                 template="vc_fiche_protocole.docx", recipient="organisation_ASSOCIATION",
                 purpose="vc_transmission", categories=VC_CATEGORIES, role="'ASSOCIATION'"),
        Node("echeance", "service", "Fixer l'échéance de relance", "IS", 9,
             operator="relais/due_date", params=[("working_days", "int", "5")],
             result="relance"),
        Node("attente", "event", "Accusé de réception ?", "IS", 10),
        Node("accuse", "message", "Fiche versée au dossier", "IS", 11, message=RECEIPT),
        Node("fin_versee", "end", "Fiche reçue par l'association", "IS", 12),
        Node("retrait", "message", "Consentement retiré", "IS", 11, 2, message=WITHDRAWN),
        Node("fin_retrait", "end", "Transmission arrêtée", "IS", 12, 2),
        Node("sans_accuse", "timer", "5 jours ouvrés sans accusé", "IS", 11, 1,
             timer=("timeDate", "relance['due_at']")),
        Node("relancer", "user", "Relancer l'association", "IS", 12, 1, form="vc_relance.json"),
    ]
    flows = [
        *chain("vc", "debut", "saisine", "danger"),
        Flow("f_vc_danger", "danger", "urgence", "Oui", "danger_immediat == True"),
        Flow("f_vc_urgence", "urgence", "apres_urgence"),
        Flow("f_vc_fiche_apres_urgence", "apres_urgence", "fiche", "Oui",
             "fiche_apres_urgence == True"),
        Flow("f_vc_sans_fiche", "apres_urgence", "fin_urgence", "Non"),
        Flow("f_vc_pas_de_danger", "danger", "fiche", "Non"),
        Flow("f_vc_fiche", "fiche", "consentement"),
        Flow("f_vc_consentement", "consentement", "consentement_enregistre"),
        Flow("f_vc_enregistre", "consentement_enregistre", "consentement_decision"),
        Flow("f_consentement_accord", "consentement_decision", "transmettre", "Oui", GRANTED),
        Flow("f_consentement_refus", "consentement_decision", "exemplaire", "Non"),
        Flow("f_vc_exemplaire", "exemplaire", "fin_conservee"),
        Flow("f_vc_transmettre", "transmettre", "echeance"),
        Flow("f_vc_echeance", "echeance", "attente"),
        Flow("f_vc_attente_accuse", "attente", "accuse"),
        Flow("f_vc_attente_delai", "attente", "sans_accuse"),
        Flow("f_vc_attente_retrait", "attente", "retrait"),
        Flow("f_vc_accuse", "accuse", "fin_versee"),
        Flow("f_vc_retrait", "retrait", "fin_retrait"),
        Flow("f_vc_delai", "sans_accuse", "relancer"),
        Flow("f_vc_relance", "relancer", "echeance"),
    ]
    notes = [Note("note_delai", "5 jours ouvrés : week-ends et jours fériés exclus "
                  "(échéance calculée par relais/due_date), puis nouvelle échéance après "
                  "chaque relance.", "echeance", dx=-170, dy=140, width=250, height=60),
             Note("note_urgence", "Le protocole vise le début des violences : une personne en "
                  "danger relève des dispositifs d'urgence.", "danger", dx=-40, dy=270, width=230,
                  height=56)]
    is_pool = Pool("violence_conjugale", "Violences conjugales — fiche protocole",
                   [("IS", "Intervenant social (commissariat ou gendarmerie)")], nodes, flows,
                   notes, doc="Modèle de la Côte-d'Or : à chaque événement, une fiche ; la "
                   "victime décide de son envoi à l'association qui tient son dossier.")

    dnodes = [
        Node("dossier_debut", "start", "Demande sur le dossier d'une victime", "ASSOCIATION", 0, 1),
        Node("demande", "user", "Choisir l'action sur le dossier", "ASSOCIATION", 1, 1,
             form="vcd_demande.json"),
        Node("action", "xor", "Quelle action ?", "ASSOCIATION", 2, 1, default="f_vcd_classer"),
        Node("classement", "user", "Classer la fiche reçue", "ASSOCIATION", 3, 2,
             form="vcd_classement.json"),
        Node("verser", "service", "Verser au dossier et accuser réception", "ASSOCIATION", 4, 2,
             operator="relais/file_delivery",
             params=[("delivery", "int", "envoi"), ("purposes", "list", "['vc_transmission']")],
             result="classement_fait"),
        Node("fin_classee", "end", "Fiche classée au dossier", "ASSOCIATION", 5, 2),
        Node("remise", "user", "Recevoir la demande de remise", "ASSOCIATION", 3, 1,
             form="vcd_export.json"),
        *consent("demande_victime", "Recueillir la demande expresse de la victime",
                 "ASSOCIATION", 4, row=1, purposes="['vc_dossier_export_police']",
                 recipients="[unite_destinataire]", categories=VC_CATEGORIES,
                 question="La victime confirme ?", expires_days=30, channel="written"),
        Node("exporter", "service", "Remettre tout le dossier, dans l'ordre chronologique",
             "ASSOCIATION", 7, 1, operator="relais/export_dossier",
             params=[("template", "str", "'vc_dossier_export.docx'"),
                     ("recipient", "str", "unite_destinataire"),
                     ("purpose", "str", "'vc_dossier_export_police'"),
                     ("categories", "list", VC_CATEGORIES)],
             result="transmission"),
        Node("remise_accusee", "message", "Réception accusée par le service", "ASSOCIATION", 8,
             1, message=RECEIPT),
        Node("fin_remis", "end", "Dossier remis", "ASSOCIATION", 9, 1),
        Node("fin_non_remis", "end", "Dossier non remis", "ASSOCIATION", 7),
        Node("remise_personne", "user", "Recevoir la demande de remise à la victime ou à son "
             "avocat", "ASSOCIATION", 3, 3, form="vcd_remise_personne.json"),
        Node("remettre_personne", "service", "Préparer le dossier à remettre, dans l'ordre "
             "chronologique", "ASSOCIATION", 4, 3, operator="relais/hand_dossier",
             params=[("template", "str", "'vc_dossier_remise.docx'"),
                     ("beneficiary", "str", "beneficiaire")],
             result="remise_preparee"),
        Node("fin_remis_personne", "end", "Dossier remis à la victime ou à son avocat",
             "ASSOCIATION", 5, 3),
        Node("destruction", "user", "Confirmer la demande de destruction", "ASSOCIATION", 3,
             form="vcd_destruction.json"),
        Node("detruire", "service", "Détruire le dossier", "ASSOCIATION", 4,
             operator="relais/destroy_dossier", params=[("reason", "str", "'demande_personne'")],
             result="destruction_faite"),
        Node("fin_detruit", "end", "Dossier détruit", "ASSOCIATION", 5),
    ]
    dflows = [
        Flow("f_vcd_debut", "dossier_debut", "demande"),
        Flow("f_vcd_demande", "demande", "action"),
        Flow("f_vcd_classer", "action", "classement", "Classer"),
        Flow("f_vcd_exporter", "action", "remise", "Remettre", "action == 'exporter'"),
        Flow("f_vcd_detruire", "action", "destruction", "Détruire", "action == 'detruire'"),
        Flow("f_vcd_remettre", "action", "remise_personne", "Remettre à la victime",
             "action == 'remettre'"),
        Flow("f_vcd_remise_personne", "remise_personne", "remettre_personne"),
        Flow("f_vcd_remettre_fait", "remettre_personne", "fin_remis_personne"),
        Flow("f_vcd_classement", "classement", "verser"),
        Flow("f_vcd_verser", "verser", "fin_classee"),
        Flow("f_vcd_remise", "remise", "demande_victime"),
        Flow("f_vcd_demande_victime", "demande_victime", "demande_victime_enregistre"),
        Flow("f_vcd_enregistre", "demande_victime_enregistre", "demande_victime_decision"),
        Flow("f_demande_victime_accord", "demande_victime_decision", "exporter", "Oui", GRANTED),
        Flow("f_demande_victime_refus", "demande_victime_decision", "fin_non_remis", "Non"),
        Flow("f_vcd_exporter_fait", "exporter", "remise_accusee"),
        Flow("f_vcd_remise_accusee", "remise_accusee", "fin_remis"),
        Flow("f_vcd_destruction", "destruction", "detruire"),
        Flow("f_vcd_detruire_fait", "detruire", "fin_detruit"),
    ]
    asso_pool = Pool("violence_conjugale_dossier", "Violences conjugales — dossier de la victime",
                     [("ASSOCIATION", "Association désignée, qui tient les dossiers")],
                     dnodes, dflows, doc="Le dossier appartient à la victime : l'association y "
                     "classe les fiches reçues ; à la demande de la victime seulement, elle le "
                     "remet à la police ou à la gendarmerie, ou le détruit.")
    partner_pool = _vc_partner_pool()
    merge_before(is_pool, "echeance", "envoi_ou_relance", "Envoi ou relance")
    merge_before(is_pool, "fiche", "fiche_directe_ou_apres_urgence",
                 "Fiche directe ou après l'urgence")
    is_pool.partners = ["ASSOCIATION"]
    return Diagram("violence_conjugale", [asso_pool, is_pool, partner_pool],
                   {RECEIPT: "accuse_reception", WITHDRAWN: "consentement_retire"},
                   [MessageFlow("mf_fiche", "transmettre", "classement",
                                "Fiche chiffrée et signée"),
                    MessageFlow("mf_accuse", "verser", "accuse", "Accusé de réception signé"),
                    MessageFlow("mf_fiche_partenaire", "p_transmettre", "classement",
                                "Fiche d'un partenaire, chiffrée et signée")])


def _vc_partner_pool() -> Pool:
    """A partner who signed the departmental protocol — here the hospital's emergency
    service — fills the same sheet with the victim and, with her consent, sends it to the
    designated association (a lane names one role: another partner role is another pool)."""
    nodes = [
        Node("p_debut", "start", "Victime de violences conjugales reçue aux urgences",
             "URGENCES", 0),
        Node("p_fiche", "user", "Remplir la fiche protocole avec la victime", "URGENCES", 2,
             form="vc_fiche.json"),
        *consent("p_consentement", "Recueillir la décision de la victime", "URGENCES", 3,
                 purposes="['vc_transmission']", recipients="[organisation_ASSOCIATION]",
                 categories=VC_CATEGORIES, question="Transmettre la fiche ?",
                 expires_days=2190),
        render("p_exemplaire", "Produire l'exemplaire conservé", "URGENCES", 6,
               "vc_fiche_conservee.docx", row=1),
        Node("p_fin_conservee", "end", "Fiche conservée par le service", "URGENCES", 7, 1),
        transmit("p_transmettre", "Transmettre la fiche à l'association", "URGENCES", 6,
                 template="vc_fiche_protocole.docx", recipient="organisation_ASSOCIATION",
                 purpose="vc_transmission", categories=VC_CATEGORIES, role="'ASSOCIATION'"),
        Node("p_accuse", "message", "Fiche versée au dossier", "URGENCES", 7, message=RECEIPT),
        Node("p_fin_versee", "end", "Fiche reçue par l'association", "URGENCES", 8),
    ]
    flows = [
        *chain("vcp", "p_debut", "p_fiche", "p_consentement",
               "p_consentement_enregistre", "p_consentement_decision"),
        Flow("f_p_consentement_accord", "p_consentement_decision", "p_transmettre", "Oui",
             GRANTED),
        Flow("f_p_consentement_refus", "p_consentement_decision", "p_exemplaire", "Non"),
        Flow("f_vcp_exemplaire", "p_exemplaire", "p_fin_conservee"),
        Flow("f_vcp_transmettre", "p_transmettre", "p_accuse"),
        Flow("f_vcp_accuse", "p_accuse", "p_fin_versee"),
    ]
    pool = Pool("violence_conjugale_partenaire",
                "Violences conjugales — fiche d'un partenaire signataire",
                [("URGENCES", "Urgences hospitalières, partenaire du protocole départemental")],
                nodes, flows, doc="Les partenaires signataires du protocole départemental "
                "peuvent eux aussi remplir la fiche avec la victime et, si elle le décide, "
                "l'adresser à l'association qui tient son dossier.")
    pool.partners = ["ASSOCIATION"]
    return pool


# --- 2. binôme IS / CMP --------------------------------------------------------------------

def cmp_binome() -> Diagram:
    nodes = [
        Node("debut", "start", "Personne orientée vers le binôme", "IS", 1),
        Node("orientation", "user", "Enregistrer l'orientation", "IS", 2,
             form="cmp_orientation.json"),
        Node("urgence", "xor", "Urgence psychiatrique ?", "IS", 3, default="f_cmp_non_urgent"),
        Node("urgences", "manual", "Orienter vers les urgences psychiatriques", "IS", 4, 1),
        Node("fin_urgences", "end", "Orientée vers les urgences", "IS", 5, 1),
        Node("rendez_vous", "user", "Fixer le rendez-vous du binôme", "IS", 4,
             form="cmp_rendez_vous.json"),
        Node("heure_rdv", "timer", "Heure du rendez-vous", "IS", 5,
             timer=("timeDate", "rdv_date + 'T' + rdv_heure + ':00'")),
        *consent("accord_binome", "Accord de la personne pour l'entretien en binôme", "IS", 6,
                 purposes="['cmp_sharing']", recipients="[organisation_CMP]",
                 categories="['HEALTH', 'ID', 'SOC']", question="Entretien en binôme ?"),
        Node("fin_sans_binome", "end", "Entretien sans le binôme", "IS", 8, 1),
        Node("entretien", "and", "Entretien commun", "IS", 9),
        Node("volet_social", "user", "Volet social", "IS", 10, form="cmp_volet_social.json"),
        Node("volet_psy", "user", "Volet psychiatrique", "CMP", 10,
             form="cmp_volet_psychiatrique.json"),
        Node("volets", "and", "Deux volets remplis", "IS", 11),
        transmit("sceller", "Chiffrer et signer le volet psychiatrique pour le CMP", "IS", 12,
                 template="cmp_volet_psychiatrique.docx", recipient="organisation_CMP",
                 purpose="cmp_sharing", categories="['HEALTH', 'ID', 'SOC']", role="'CMP'",
                 result="volet_scelle"),
        Node("proposer", "user", "Proposer l'orientation", "IS", 13,
             form="cmp_orientation_proposee.json"),
        Node("signer_cmp", "user", "Signer l'orientation (infirmier·e)", "CMP", 14,
             form="cmp_signature_cmp.json", prefill={"orientation": "orientation"}),
        Node("signer_is", "user", "Signer l'orientation (intervenant social)", "IS", 15,
             form="cmp_signature_is.json", prefill={"orientation": "orientation"}),
        Node("accord", "xor", "Signée par les deux ?", "IS", 16, default="f_cmp_desaccord"),
        Node("vers_social", "xor", "Vers le service social ?", "IS", 17,
             default="f_cmp_sans_partage"),
        Node("fin_orientation", "end", "Orientation finalisée", "IS", 18, 1),
        *consent("accord_partage", "Accord pour partager la fiche d'orientation", "IS", 18,
                 purposes="['fiche_liaison']", recipients="[organisation_CG_SOCIAL]",
                 categories="['ID', 'SOC']", question="Partage accepté ?"),
        transmit("transmettre", "Transmettre la fiche d'orientation", "IS", 21,
                 template="cmp_fiche_orientation.docx", recipient="organisation_CG_SOCIAL",
                 purpose="fiche_liaison", categories="['ID', 'SOC']", role="'CG_SOCIAL'"),
        Node("fin_transmise", "end", "Orientation transmise", "IS", 22),
        Node("fin_remise", "end", "Orientation remise à la personne", "IS", 21, 1),
    ]
    flows = [
        *chain("cmp", "debut", "orientation", "urgence"),
        Flow("f_cmp_urgent", "urgence", "urgences", "Oui", "urgence_psychiatrique == True"),
        Flow("f_cmp_urgences", "urgences", "fin_urgences"),
        Flow("f_cmp_non_urgent", "urgence", "rendez_vous", "Non"),
        Flow("f_cmp_rdv", "rendez_vous", "heure_rdv"),
        Flow("f_cmp_heure", "heure_rdv", "accord_binome"),
        Flow("f_cmp_accord", "accord_binome", "accord_binome_enregistre"),
        Flow("f_cmp_accord_enregistre", "accord_binome_enregistre", "accord_binome_decision"),
        Flow("f_accord_binome_accord", "accord_binome_decision", "entretien", "Oui", GRANTED),
        Flow("f_accord_binome_refus", "accord_binome_decision", "fin_sans_binome", "Non"),
        Flow("f_cmp_social", "entretien", "volet_social"),
        Flow("f_cmp_psy", "entretien", "volet_psy"),
        Flow("f_cmp_social_fait", "volet_social", "volets"),
        Flow("f_cmp_psy_fait", "volet_psy", "volets"),
        Flow("f_cmp_volets", "volets", "sceller"),
        Flow("f_cmp_scelle", "sceller", "proposer"),
        Flow("f_cmp_propose", "proposer", "signer_cmp"),
        Flow("f_cmp_signe_cmp", "signer_cmp", "signer_is"),
        Flow("f_cmp_signe_is", "signer_is", "accord"),
        Flow("f_cmp_accord_deux", "accord", "vers_social", "Oui",
             "accord_is == 'accord' and accord_cmp == 'accord'"),
        Flow("f_cmp_desaccord", "accord", "proposer", "Non, à reprendre"),
        Flow("f_cmp_social_oui", "vers_social", "accord_partage", "Oui",
             "orientation == 'services_sociaux'"),
        Flow("f_cmp_sans_partage", "vers_social", "fin_orientation", "Non"),
        Flow("f_cmp_partage", "accord_partage", "accord_partage_enregistre"),
        Flow("f_cmp_partage_enregistre", "accord_partage_enregistre", "accord_partage_decision"),
        Flow("f_accord_partage_accord", "accord_partage_decision", "transmettre", "Oui",
             GRANTED),
        Flow("f_accord_partage_refus", "accord_partage_decision", "fin_remise", "Non"),
        Flow("f_cmp_transmise", "transmettre", "fin_transmise"),
    ]
    notes = [Note("note_sante", "Données de santé : saisies par l'infirmier·e, elles ne "
                  "sortent de la situation que chiffrées et signées pour le CMP. "
                  "L'intervenant social voit "
                  "l'orientation, pas l'évaluation.", "volet_psy", dx=400, dy=0, width=240,
                  height=60)]
    pool = Pool("cmp_binome", "Binôme intervenant social / infirmier de CMP",
                [("IS", "Intervenant social (point de contact unique du binôme)"),
                 ("CMP", "Infirmier·e psychiatrique du CMP")], nodes, flows, notes,
                doc="Modèle de Nancy : chaque entretien se tient à deux ; volet social et volet "
                "psychiatrique en parallèle ; l'orientation est signée par les deux (l'infirmier·e "
                "puis l'intervenant social), reprise ensemble si l'un ne la signe pas.")
    merge_before(pool, "proposer", "proposition", "Proposition ou reprise")
    pool.partners = ["CMP", "CG_SOCIAL"]
    return Diagram("cmp_binome", [pool], {})


# --- 3. ITP --------------------------------------------------------------------------------

ITP_CATEGORIES = "['ID', 'MINOR', 'SOC']"
ITP_LEGAL = "record_base_legale if information_personne == 'non_informee_interet_enfant' else None"
# Several partners can be invited, each by its own choice on the request (routed booleans).
INVITED_PARTNERS = ("[{'CMP': organisation_CMP, 'ASSOCIATION': organisation_ASSOCIATION}[role] "
                    "for role, invite in [('CMP', inviter_cmp), "
                    "('ASSOCIATION', inviter_association)] if invite]")
A_COMPLETER = ("', '.join([texte for manque, texte in [(manque_chronologie, 'la chronologie'), "
               "(manque_actions, 'les actions déjà menées'), (manque_question, 'la question "
               "posée à l\\'ITP')] if manque]) or 'voir avec le secrétariat'")


def itp_synthese() -> Diagram:
    nodes = [
        Node("debut", "start", "Besoin d'une stratégie pluridisciplinaire", "IS", 1),
        Node("demande", "user", "Préparer la demande", "IS", 2, form="itp_demande.json"),
        Node("information", "user", "Information de la personne", "IS", 3,
             form="itp_information.json"),
        Node("informee", "xor", "Personne informée ?", "IS", 4, default="f_itp_informee"),
        *consent("accord_itp", "Recueillir l'accord de la personne", "IS", 5,
                 purposes="['itp_presentation']",
                 recipients=f"[organisation_CG_ITP] + {INVITED_PARTNERS}",
                 categories=ITP_CATEGORIES, question="Accord ?"),
        Node("fin_refus", "end", "Pas de présentation à l'ITP", "IS", 7, 1),
        *legal_basis("base_enfance", "Motiver le partage sans information", "IS", 5,
                     "secret_partage_enfance", row=2,
                     information="not_informed_contrary_to_interest"),
        Node("fondement", "xor", "Sur consentement ou sur base légale", "IS", 8,
             default="f_itp_fondement"),
        transmit("transmettre", "Transmettre la demande au secrétariat de l'ITP", "IS", 9,
                 template="itp_demande.docx", recipient="organisation_CG_ITP",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'CG_ITP'",
                 legal=ITP_LEGAL, result="demande_transmise"),
        Node("completude", "user", "Vérifier la complétude", "CG_ITP", 10,
             form="itp_completude.json"),
        Node("complete", "xor", "Demande complète ?", "CG_ITP", 11, default="f_itp_complete"),
        Node("completer", "user", "Compléter la demande", "IS", 11, 1,
             form="itp_complement.json", prefill={"a_completer": A_COMPLETER}),
        Node("inscription", "user", "Inscrire en séance", "CG_ITP", 12,
             form="itp_inscription.json"),
        Node("reserver", "service", "Réserver une place à la séance", "CG_ITP", 13,
             operator="relais/schedule_itp",
             params=[("organisation", "str", "organisation_CG_ITP"),
                     ("not_before", "str", "a_partir_du")], result="seance"),
        Node("confirmer", "user", "Confirmer la séance et les participants", "CG_ITP", 14,
             form="itp_seance.json", prefill={"seance": "seance['label']"}),
        Node("convoquer", "and", "Convoquer l'intervenant social et inviter", "CG_ITP", 15),
        Node("convocation_is", "user", "Prendre connaissance de la date et du lieu de la séance",
             "IS", 16, 1, form="itp_convocation.json",
             prefill={"seance": "seance['label']", "lieu": "seance['place']"}),
        Node("fin_convocation", "end", "Convocation notée", "IS", 17, 1),
        transmit("inviter_equipe", "Inviter l'équipe territoriale", "CG_ITP", 16,
                 template="itp_invitation.docx", recipient="organisation_CG_SOCIAL",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'CG_SOCIAL'",
                 legal=ITP_LEGAL, result="invitation_equipe"),
        Node("cmp_invite", "xor", "CMP invité ?", "CG_ITP", 17, default="f_itp_sans_cmp"),
        transmit("inviter_cmp", "Inviter le CMP", "CG_ITP", 18, row=1,
                 template="itp_invitation.docx", recipient="organisation_CMP",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'CMP'",
                 legal=ITP_LEGAL, result="invitation_cmp"),
        Node("apres_cmp", "xor", "Invitation du CMP faite ou non", "CG_ITP", 19,
             default="f_itp_apres_cmp"),
        Node("association_invitee", "xor", "Association invitée ?", "CG_ITP", 20,
             default="f_itp_sans_association"),
        transmit("inviter_association", "Inviter l'association", "CG_ITP", 21, row=1,
                 template="itp_invitation.docx", recipient="organisation_ASSOCIATION",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'ASSOCIATION'",
                 legal=ITP_LEGAL, result="invitation_association"),
        Node("invitations", "xor", "Invitations envoyées", "CG_ITP", 22,
             default="f_itp_invitations"),
        Node("jour_seance", "timer", "Jour de la séance", "CG_ITP", 23,
             timer=("timeDate", "seance['starts_at']")),
        Node("decision", "user", "Enregistrer le relevé de décisions", "CG_ITP", 24,
             form="itp_decision.json"),
        Node("examinee", "xor", "Situation examinée ?", "CG_ITP", 25,
             default="f_itp_examinee"),
        transmit("diffuser_equipe", "Diffuser le relevé à l'équipe", "CG_ITP", 26,
                 template="itp_releve_decisions.docx", recipient="organisation_CG_SOCIAL",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'CG_SOCIAL'",
                 legal=ITP_LEGAL, result="releve_equipe"),
        Node("releve_cmp", "xor", "CMP invité ?", "CG_ITP", 27,
             default="f_itp_releve_sans_cmp"),
        transmit("diffuser_cmp", "Diffuser le relevé au CMP", "CG_ITP", 28, row=1,
                 template="itp_releve_decisions.docx", recipient="organisation_CMP",
                 purpose="itp_presentation", categories=ITP_CATEGORIES, role="'CMP'",
                 legal=ITP_LEGAL, result="releve_cmp_envoye"),
        Node("releve_apres_cmp", "xor", "Relevé au CMP envoyé ou non", "CG_ITP", 29,
             default="f_itp_releve_apres_cmp"),
        Node("releve_association", "xor", "Association invitée ?", "CG_ITP", 30,
             default="f_itp_releve_sans_association"),
        transmit("diffuser_association", "Diffuser le relevé à l'association", "CG_ITP", 31,
                 row=1, template="itp_releve_decisions.docx",
                 recipient="organisation_ASSOCIATION", purpose="itp_presentation",
                 categories=ITP_CATEGORIES, role="'ASSOCIATION'", legal=ITP_LEGAL,
                 result="releve_association_envoye"),
        Node("releves", "xor", "Relevés diffusés", "CG_ITP", 32, default="f_itp_releves"),
        render("releve_is", "Relevé pour l'intervenant social", "IS", 33,
               "itp_releve_decisions.docx"),
        render("courrier_personne", "Courrier des décisions à la personne", "IS", 34,
               "itp_courrier_decisions.docx", row=1),
        Node("revision", "timer", "Date de révision", "IS", 35,
             timer=("timeDate", "date_revision + 'T09:00:00'")),
        Node("suivi", "user", "Proposer un point de suivi", "IS", 36, form="itp_suivi.json"),
        Node("nouvelle", "xor", "Nouvelle présentation ?", "IS", 37, default="f_itp_cloture"),
        Node("fin", "end", "Suivi ITP clos", "IS", 38),
    ]
    flows = [
        *chain("itp", "debut", "demande", "information", "informee"),
        Flow("f_itp_informee", "informee", "accord_itp", "Oui"),
        Flow("f_itp_non_informee", "informee", "base_legale", "Non (intérêt de l'enfant)",
             "information_personne == 'non_informee_interet_enfant'"),
        Flow("f_itp_accord", "accord_itp", "accord_itp_enregistre"),
        Flow("f_itp_accord_enregistre", "accord_itp_enregistre", "accord_itp_decision"),
        Flow("f_accord_itp_accord", "accord_itp_decision", "fondement", "Oui", GRANTED),
        Flow("f_accord_itp_refus", "accord_itp_decision", "fin_refus", "Non"),
        Flow("f_itp_base", "base_legale", "base_enfance_verifiee"),
        Flow("f_itp_base_verifiee", "base_enfance_verifiee", "fondement"),
        Flow("f_itp_fondement", "fondement", "transmettre"),
        Flow("f_itp_transmise", "transmettre", "completude"),
        Flow("f_itp_completude", "completude", "complete"),
        Flow("f_itp_complete", "complete", "inscription", "Oui"),
        Flow("f_itp_incomplete", "complete", "completer", "Non",
             "completude == 'a_completer'"),
        Flow("f_itp_complement", "completer", "transmettre"),
        Flow("f_itp_inscription", "inscription", "reserver"),
        Flow("f_itp_reserver", "reserver", "confirmer"),
        Flow("f_itp_confirmer", "confirmer", "convoquer"),
        Flow("f_itp_convoquer_is", "convoquer", "convocation_is"),
        Flow("f_itp_convocation_notee", "convocation_is", "fin_convocation"),
        Flow("f_itp_convoquer_equipe", "convoquer", "inviter_equipe"),
        Flow("f_itp_equipe", "inviter_equipe", "cmp_invite"),
        Flow("f_itp_avec_cmp", "cmp_invite", "inviter_cmp", "Oui", "inviter_cmp"),
        Flow("f_itp_sans_cmp", "cmp_invite", "apres_cmp", "Non"),
        Flow("f_itp_cmp_invite", "inviter_cmp", "apres_cmp"),
        Flow("f_itp_apres_cmp", "apres_cmp", "association_invitee"),
        Flow("f_itp_avec_association", "association_invitee", "inviter_association", "Oui",
             "inviter_association"),
        Flow("f_itp_sans_association", "association_invitee", "invitations", "Non"),
        Flow("f_itp_association_invitee", "inviter_association", "invitations"),
        Flow("f_itp_invitations", "invitations", "jour_seance"),
        Flow("f_itp_seance", "jour_seance", "decision"),
        Flow("f_itp_decision", "decision", "examinee"),
        Flow("f_itp_examinee", "examinee", "diffuser_equipe", "Oui"),
        Flow("f_itp_reportee", "examinee", "inscription", "Reportée",
             "examen == 'reportee'"),
        Flow("f_itp_diffuse", "diffuser_equipe", "releve_cmp"),
        Flow("f_itp_releve_avec_cmp", "releve_cmp", "diffuser_cmp", "Oui", "inviter_cmp"),
        Flow("f_itp_releve_sans_cmp", "releve_cmp", "releve_apres_cmp", "Non"),
        Flow("f_itp_releve_cmp", "diffuser_cmp", "releve_apres_cmp"),
        Flow("f_itp_releve_apres_cmp", "releve_apres_cmp", "releve_association"),
        Flow("f_itp_releve_avec_association", "releve_association", "diffuser_association",
             "Oui", "inviter_association"),
        Flow("f_itp_releve_sans_association", "releve_association", "releves", "Non"),
        Flow("f_itp_releve_association", "diffuser_association", "releves"),
        Flow("f_itp_releves", "releves", "releve_is"),
        Flow("f_itp_releve_is", "releve_is", "courrier_personne"),
        Flow("f_itp_courrier", "courrier_personne", "revision"),
        Flow("f_itp_revision", "revision", "suivi"),
        Flow("f_itp_suivi", "suivi", "nouvelle"),
        Flow("f_itp_nouvelle", "nouvelle", "demande", "Oui",
             "suite_revision == 'nouvelle_demande'", channel=1),
        Flow("f_itp_cloture", "nouvelle", "fin", "Non"),
    ]
    notes = [Note("note_capacite", "Séances hebdomadaires à capacité limitée : une séance "
                  "complète renvoie à la semaine suivante (calendrier du secrétariat).",
                  "reserver", dx=60, dy=110, width=250, height=56)]
    pool = Pool("itp_synthese", "Demande de synthèse en Instance de Travail Partenarial",
                [("IS", "Intervenant social qui présente la situation"),
                 ("CG_ITP", "Secrétariat de l'ITP (conseil départemental)")], nodes, flows,
                notes, doc="Modèle des Yvelines : une instance hebdomadaire de l'équipe "
                "territoriale d'action sociale ; la situation y est présentée de manière "
                "claire, chronologique et synthétique.")
    merge_before(pool, "inscription", "inscription_ou_report", "Inscription ou report")
    merge_before(pool, "transmettre", "envoi_ou_complement", "Demande initiale ou complétée")
    merge_before(pool, "demande", "premiere_ou_suivi", "Première demande ou suivi")
    pool.partners = ["CG_ITP", "CG_SOCIAL", "CMP", "ASSOCIATION"]
    return Diagram("itp_synthese", [pool], {})


# --- 4. convocation des mineurs ------------------------------------------------------------

def convocation_mineurs() -> Diagram:
    nodes = [
        Node("debut", "start", "Mineur auteur d'une infraction sans suite judiciaire", "IS", 0),
        Node("territoire", "script", "Première convocation", "IS", 1,
             script="convocation_rang = 1\norganisation_DPP = organisation_POLICE\n"
             "organisation_PSYCHOLOGUE = organisation_POLICE",
             doc="Le commissariat du délégué police-population, la commune dont le CDDF "
             "peut recevoir la photographie sociale, l'en-tête et le signataire de la lettre "
             "viennent des paramètres du territoire (partenaires POLICE et CDDF)."),
        Node("identification", "user", "Identifier le mineur et les faits", "IS", 2,
             form="cm_identification.json"),
        Node("eligibilite", "user", "Vérifier l'éligibilité", "DPP", 3,
             form="cm_eligibilite.json"),
        Node("eligible", "xor", "Éligible ?", "DPP", 4, default="f_cm_non_eligible"),
        Node("fin_non_eligible", "end", "Hors du dispositif", "DPP", 4, 1),
        Node("rendez_vous", "user", "Fixer le rendez-vous", "IS", 5, form="cm_rendez_vous.json",
             prefill={"commissariat_nom": "territoire['POLICE']['nom']",
                      "commissariat_adresse": "territoire['POLICE']['adresse']",
                      "commissariat_telephone": "territoire['POLICE']['telephone']",
                      "signataire": "territoire['POLICE']['signataire']"}),
        render("lettre", "Produire la lettre de convocation", "IS", 6, "cm_convocation.docx"),
        Node("envoyer", "manual", "Envoyer la convocation au mineur et à ses responsables légaux",
             "IS", 7),
        Node("heure_rdv", "timer", "Heure du rendez-vous", "IS", 8,
             timer=("timeDate", "rdv_date + 'T' + rdv_heure + ':00'")),
        Node("presence", "user", "Constater la présence", "DPP", 9, form="cm_presence.json"),
        Node("presents", "xor", "Présents ?", "DPP", 10, default="f_cm_presents"),
        Node("premiere", "xor", "Première convocation ?", "DPP", 11, 1,
             default="f_cm_cloture"),
        Node("seconde", "script", "Seconde convocation", "DPP", 12, 1,
             script="convocation_rang = 2"),
        Node("fin_absents", "end", "Clos après deux absences", "DPP", 12, 2),
        Node("rencontre", "and", "Rencontre", "DPP", 11),
        Node("rappel", "user", "Procéder au rappel à l'ordre", "DPP", 12,
             form="cm_rappel_ordre.json"),
        Node("accompagnement", "user", "Proposer un accompagnement aux parents", "IS", 12,
             form="cm_accompagnement.json"),
        Node("accepte", "xor", "Accepté ?", "IS", 13, default="f_cm_refuse"),
        Node("engager", "manual", "Engager l'accompagnement psychosocial", "PSYCHOLOGUE", 14,
             1),
        Node("suite_offre", "xor", "Offre traitée", "IS", 15, default="f_cm_offre"),
        Node("photographie", "user", "Établir la photographie sociale", "IS", 16,
             form="cm_photographie_sociale.json"),
        Node("fin_rencontre", "and", "Rencontre terminée", "IS", 17),
        Node("cddf", "user", "Décider d'une présentation au CDDF", "IS", 18,
             form="cm_cddf.json"),
        Node("presenter", "xor", "Présenter au CDDF ?", "IS", 19, default="f_cm_sans_cddf"),
        Node("fin_sans_cddf", "end", "Rencontre close", "IS", 20, 1),
        *legal_basis("base_cddf", "Base légale : information du CDDF, parents informés", "IS",
                     20, "cddf_information", information="informed"),
        transmit("transmettre", "Transmettre la photographie sociale au CDDF", "IS", 22,
                 template="cm_photographie_sociale.docx", recipient="organisation_CDDF",
                 purpose="cddf_snapshot", categories="['ID', 'MINOR', 'SOC']", role="'CDDF'",
                 legal="record_base_legale"),
        Node("fin_cddf", "end", "Photographie sociale transmise au CDDF", "IS", 23),
    ]
    flows = [
        *chain("cm", "debut", "territoire", "identification", "eligibilite", "eligible"),
        Flow("f_cm_eligible", "eligible", "rendez_vous", "Oui",
             "mineur_aux_faits == True and suivi_judiciaire == False and deja_convoque == False"),
        Flow("f_cm_non_eligible", "eligible", "fin_non_eligible", "Non"),
        *chain("cm_conv", "rendez_vous", "lettre", "envoyer", "heure_rdv", "presence",
               "presents"),
        Flow("f_cm_presents", "presents", "rencontre", "Oui"),
        Flow("f_cm_absents", "presents", "premiere", "Non", "presence == 'absents'"),
        Flow("f_cm_premiere", "premiere", "seconde", "Oui", "convocation_rang == 1"),
        Flow("f_cm_seconde", "seconde", "rendez_vous"),
        Flow("f_cm_cloture", "premiere", "fin_absents", "Non"),
        Flow("f_cm_rappel", "rencontre", "rappel"),
        Flow("f_cm_offre_faite", "rencontre", "accompagnement"),
        Flow("f_cm_accompagnement", "accompagnement", "accepte"),
        Flow("f_cm_accepte", "accepte", "engager", "Oui", "reponse_parents == 'accepte'"),
        Flow("f_cm_refuse", "accepte", "suite_offre", "Non"),
        Flow("f_cm_engage", "engager", "suite_offre"),
        Flow("f_cm_offre", "suite_offre", "photographie"),
        Flow("f_cm_photo", "photographie", "fin_rencontre"),
        Flow("f_cm_rappel_fait", "rappel", "fin_rencontre"),
        Flow("f_cm_cddf", "fin_rencontre", "cddf"),
        Flow("f_cm_decide", "cddf", "presenter"),
        Flow("f_cm_avec_cddf", "presenter", "base_legale", "Oui", "presenter_cddf == 'oui'"),
        Flow("f_cm_sans_cddf", "presenter", "fin_sans_cddf", "Non"),
        Flow("f_cm_base", "base_legale", "base_cddf_verifiee"),
        Flow("f_cm_verifiee", "base_cddf_verifiee", "transmettre"),
        Flow("f_cm_transmise", "transmettre", "fin_cddf"),
    ]
    notes = [Note("note_absence", "Une absence : seconde convocation, une seule ; après deux "
                  "absences, la situation est close.", "premiere", dx=-250, dy=125, width=230,
                  height=46)]
    pool = Pool("convocation_mineurs", "Convocation des mineurs au pôle psychosocial",
                [("IS", "Intervenant social du pôle psychosocial"),
                 ("DPP", "Délégué police-population"),
                 ("PSYCHOLOGUE", "Psychologue du pôle psychosocial, qui accompagne les "
                  "parents qui l'acceptent")], nodes, flows, notes,
                doc="Modèle de Trappes : les mineurs auteurs d'une infraction sans suite "
                "judiciaire sont convoqués systématiquement avec leurs responsables légaux.")
    merge_before(pool, "rendez_vous", "rang_convocation", "Première ou seconde convocation")
    pool.partners = ["POLICE", "CDDF"]
    return Diagram("convocation_mineurs", [pool], {})


# --- 5. fiche de liaison -------------------------------------------------------------------

def fiche_liaison() -> Diagram:
    nodes = [
        Node("debut", "start", "Orientation vers le service social envisagée", "IS", 1),
        Node("fiche", "user", "Rédiger la fiche avec la personne", "IS", 2,
             form="fl_fiche.json"),
        Node("danger", "xor", "Enfant en danger ?", "IS", 3, default="f_fl_pas_de_danger"),
        Node("information_preoccupante", "user", "Rédiger l'information préoccupante", "IS",
             4, 2, form="fl_information_preoccupante.json"),
        Node("grave", "xor", "Danger grave et immédiat ?", "IS", 5, 2, default="f_fl_pas_grave"),
        Node("base_parquet", "user", "Base légale : signalement au procureur", "IS", 6, 3,
             form="base_legale.json", prefill={"legal_basis": "'maltraitance_226_14'"}),
        Node("parquet_verifiee", "service", "Vérifier la base légale", "IS", 7, 3,
             operator="relais/invoke_legal_basis",
             params=[("record", "int", "record_base_parquet")], result="parquet_verifiee"),
        transmit("transmettre_parquet", "Signaler au procureur de la République", "IS", 8,
                 row=3, template="fl_signalement_procureur.docx",
                 recipient="organisation_PARQUET", purpose="signalement_procureur",
                 categories="['ID', 'MINOR', 'SOC', 'THIRD']", role="'PARQUET'",
                 legal="record_base_parquet", result="signalement"),
        *legal_basis("base_crip", "Base légale : information préoccupante", "IS", 9, "ip_crip",
                     row=2),
        transmit("transmettre_crip", "Transmettre à la CRIP", "IS", 11, row=2,
                 template="fl_information_preoccupante.docx", recipient="organisation_CRIP",
                 purpose="information_preoccupante",
                 categories="['ID', 'MINOR', 'SOC', 'THIRD']", role="'CG_SOCIAL'",
                 legal="record_base_legale"),
        Node("accuse_crip", "message", "Réception accusée par la CRIP", "IS", 12, 2,
             message=RECEIPT),
        Node("couloir_crip", "script", "La CRIP répond aux suites", "IS", 13, 2,
             script="organisation_CG_SOCIAL = organisation_CRIP",
             doc="Dans cette branche, c'est la CRIP qui tient le couloir du service social : "
             "elle informe le professionnel qui a transmis des suites données (CASF L.226-5)."),
        Node("retour_crip", "user", "Informer l'intervenant social des suites (CASF L.226-5)",
             "CG_SOCIAL", 14, 2, form="fl_retour_crip.json"),
        Node("retour_crip_lu", "user", "Prendre connaissance des suites données par la CRIP",
             "IS", 15, 2, form="fl_retour_crip_lu.json",
             prefill={"suites_crip": "suites_crip"}),
        Node("fin_crip", "end", "Information préoccupante transmise et suivie", "IS", 16, 2),
        Node("relecture", "user", "Relire la fiche avec la personne", "IS", 4,
             form="fl_relecture.json"),
        Node("validee", "xor", "Contenu validé ?", "IS", 5, default="f_fl_validee"),
        *consent("accord_envoi", "Accord de la personne pour l'envoi et le retour du service",
                 "IS", 6,
                 purposes="['fiche_liaison']", recipients="[organisation_CG_SOCIAL]",
                 categories="['ID', 'MINOR', 'SOC']", question="Envoi accepté ?"),
        Node("fin_non_transmise", "end", "Fiche remise à la personne", "IS", 9, 1),
        transmit("transmettre", "Transmettre la fiche au service social", "IS", 9,
                 template="fl_fiche_liaison.docx", recipient="organisation_CG_SOCIAL",
                 purpose="fiche_liaison", categories="['ID', 'MINOR', 'SOC']",
                 role="'CG_SOCIAL'"),
        Node("accuse", "message", "Réception accusée par le service", "IS", 10,
             message=RECEIPT),
        Node("retour", "user", "Faire un retour sur l'orientation", "CG_SOCIAL", 11,
             form="fl_retour.json"),
        Node("sans_retour", "boundary_timer", "30 jours sans retour", "CG_SOCIAL", 11,
             attached_to="retour", timer=("timeDuration", '"P30D"')),
        Node("fin_sans_retour", "end", "Clos sans retour du service", "CG_SOCIAL", 12, 1),
        Node("retour_lu", "user", "Prendre connaissance du retour", "IS", 12,
             form="fl_retour_lu.json",
             prefill={"suite_donnee": "suite_donnee", "situation_connue": "situation_connue"}),
        Node("fin", "end", "Orientation suivie", "IS", 13),
    ]
    flows = [
        *chain("fl", "debut", "fiche", "danger"),
        Flow("f_fl_danger", "danger", "information_preoccupante", "Oui",
             "enfant_en_danger == True"),
        Flow("f_fl_ip", "information_preoccupante", "grave"),
        Flow("f_fl_grave", "grave", "base_parquet", "Oui", "danger_grave == True"),
        Flow("f_fl_pas_grave", "grave", "base_legale", "Non"),
        *chain("fl_parquet", "base_parquet", "parquet_verifiee", "transmettre_parquet",
               "base_legale"),
        Flow("f_fl_base", "base_legale", "base_crip_verifiee"),
        Flow("f_fl_base_verifiee", "base_crip_verifiee", "transmettre_crip"),
        Flow("f_fl_crip", "transmettre_crip", "accuse_crip"),
        *chain("fl_crip", "accuse_crip", "couloir_crip", "retour_crip", "retour_crip_lu",
               "fin_crip"),
        Flow("f_fl_pas_de_danger", "danger", "relecture", "Non"),
        Flow("f_fl_relecture", "relecture", "validee"),
        Flow("f_fl_a_corriger", "validee", "fiche", "À corriger", "relecture == 'a_corriger'"),
        Flow("f_fl_validee", "validee", "accord_envoi", "Oui"),
        Flow("f_fl_accord", "accord_envoi", "accord_envoi_enregistre"),
        Flow("f_fl_accord_enregistre", "accord_envoi_enregistre", "accord_envoi_decision"),
        Flow("f_accord_envoi_accord", "accord_envoi_decision", "transmettre", "Oui", GRANTED),
        Flow("f_accord_envoi_refus", "accord_envoi_decision", "fin_non_transmise", "Non"),
        Flow("f_fl_transmise", "transmettre", "accuse"),
        Flow("f_fl_accuse", "accuse", "retour"),
        Flow("f_fl_retour", "retour", "retour_lu"),
        Flow("f_fl_sans_retour", "sans_retour", "fin_sans_retour"),
        Flow("f_fl_lu", "retour_lu", "fin"),
    ]
    notes = [Note("note_crip", "Un enfant peut-être en danger : pas de fiche de liaison, une "
                  "information préoccupante à la CRIP, sur sa base légale.",
                  "information_preoccupante", dx=-340, dy=-90, width=260, height=46)]
    pool = Pool("fiche_liaison", "Fiche de liaison vers le service social départemental",
                [("IS", "Intervenant social"),
                 ("CG_SOCIAL", "Circonscription d'action sociale du conseil départemental")],
                nodes, flows, notes, doc="Modèle des Alpes-Maritimes : la fiche est rédigée avec "
                "la personne, qui en valide le contenu ; le service dit ce qu'il est advenu de "
                "l'orientation.")
    merge_before(pool, "fiche", "redaction", "Rédaction ou correction")
    merge_before(pool, "base_legale", "information_crip", "Information de la CRIP (copie du "
                 "signalement, CASF L.226-4 II)")
    pool.partners = ["CG_SOCIAL", "CRIP", "PARQUET"]
    return Diagram("fiche_liaison", [pool], dict(MESSAGES))


DIAGRAMS = {
    "violence_conjugale": violence_conjugale,
    "cmp_binome": cmp_binome,
    "itp_synthese": itp_synthese,
    "convocation_mineurs": convocation_mineurs,
    "fiche_liaison": fiche_liaison,
}


def main() -> None:
    for process_id, describe in DIAGRAMS.items():
        write(describe(), WORKFLOWS / process_id / f"{process_id}.bpmn")


if __name__ == "__main__":
    main()
