"""Write the document templates of the bundled protocols (run again after changing them):

    .venv/bin/python workflows/_tools/make_templates.py

Each template lands in `workflows/<protocol>/templates/`. Placeholders `{{ name }}` name form
fields of the protocol (see `forms/`) or the values every document gets: `reference`,
`date_document`, `organisation_expediteur`, `organisation_destinataire`, `finalite`,
`consentement_du`, `fondement` (what the transmission rests on, in French). The core property
*title* is the kind label inboxes show: a constant, never personal data. A template used both
for a transmission and for a copy kept by the professional says nothing about a recipient.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import docx
from docx.shared import Pt

from engine.documents.build import label_table, set_language

WORKFLOWS = Path(__file__).resolve().parents[1]
FIXED_DATE = datetime(2026, 11, 1, 9, 0)  # stable metadata: regenerating changes nothing


def _document(title: str, heading: str, header: str, footer: str) -> docx.Document:
    document = docx.Document()
    props = document.core_properties
    props.title = title
    props.author = props.last_modified_by = "Relais"
    props.comments = props.subject = props.keywords = ""
    props.created = props.modified = FIXED_DATE
    props.revision = 1
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)
    set_language(document)  # French spell-checking in Word
    section = document.sections[0]
    section.header.paragraphs[0].text = header
    section.footer.paragraphs[0].text = footer
    document.add_heading(heading, level=1)
    return document


def _section(document: docx.Document, title: str, rows: list[tuple[str, str]]) -> None:
    document.add_heading(title, level=2)
    label_table(document, rows, bold_labels=True)


def _save(document: docx.Document, protocol: str, name: str) -> None:
    folder = WORKFLOWS / protocol / "templates"
    folder.mkdir(parents=True, exist_ok=True)
    document.save(folder / name)


CONFIDENTIAL = "Relais — situation {{ reference }} — document confidentiel"
SENT = "Transmise à {{ organisation_destinataire }} le {{ date_document }} — {{ fondement }}."


# --- violences conjugales ------------------------------------------------------------------

VC_ROWS = {
    "Victime": [("Nom", "{{ victime_nom }}"), ("Prénom", "{{ victime_prenom }}"),
                ("Né(e) le", "{{ victime_naissance }}"),
                ("Téléphone sûr", "{{ victime_telephone }}")],
    "Les faits": [("Date", "{{ date_faits }}"), ("Lieu", "{{ lieu_faits }}"),
                  ("Commune", "{{ commune_faits }}"), ("Formes de violences", "{{ violences }}"),
                  ("Lien avec l'auteur", "{{ auteur_lien }}")],
    "Enfants": [("Enfants présents", "{{ enfants_presents }}"),
                ("Nombre", "{{ enfants_nombre }}")],
    "Constatations": [("Blessures", "{{ blessures }}"),
                      ("Certificat médical", "{{ certificat_medical }}"),
                      ("ITT (jours)", "{{ itt_jours }}")],
    "Antécédents et suites": [("Faits antérieurs", "{{ faits_anterieurs }}"),
                              ("Récit des faits antérieurs", "{{ faits_anterieurs_recit }}"),
                              ("Plainte ou main courante", "{{ suite_judiciaire }}"),
                              ("Observations", "{{ observations }}")],
}


def violence_conjugale() -> None:
    sent = _document("Fiche protocole violences conjugales",
                     "Fiche protocole violences conjugales", CONFIDENTIAL,
                     SENT)
    sent.add_paragraph("Fiche établie par {{ organisation_expediteur }} avec la victime, qui a "
                       "demandé sa transmission pour qu'elle rejoigne son dossier.")
    for title, rows in VC_ROWS.items():
        _section(sent, title, rows)
    _save(sent, "violence_conjugale", "vc_fiche_protocole.docx")

    kept = _document("Fiche protocole violences conjugales (exemplaire conservé)",
                     "Fiche protocole violences conjugales", CONFIDENTIAL,
                     "Exemplaire conservé par {{ organisation_expediteur }}, établi le "
                     "{{ date_document }} : il n'a pas été transmis.")
    kept.add_paragraph("La victime n'a pas souhaité que cette fiche soit transmise à "
                       "l'association : elle reste dans la situation suivie par "
                       "{{ organisation_expediteur }}, comme trame de l'entretien.")
    for title, rows in VC_ROWS.items():
        _section(kept, title, rows)
    _save(kept, "violence_conjugale", "vc_fiche_conservee.docx")

    cover = _document("Dossier protocole violences conjugales",
                      "Dossier protocole violences conjugales", CONFIDENTIAL,
                      "Remis à {{ organisation_destinataire }} le {{ date_document }} — "
                      "{{ fondement }}.")
    cover.add_paragraph("À la demande de la victime, {{ organisation_expediteur }} remet à "
                        "{{ organisation_destinataire }} l'ensemble de son dossier : "
                        "{{ nombre_fiches }} fiche(s), du {{ premiere_fiche }} au "
                        "{{ derniere_fiche }}, dans l'ordre chronologique.")
    label_table(cover, [("Dossier", "{{ reference }}"), ("Plainte du", "{{ date_plainte }}")])
    cover.add_heading("Sommaire", level=2)
    cover.add_paragraph("{{ sommaire }}")
    _save(cover, "violence_conjugale", "vc_dossier_export.docx")

    handed = _document("Dossier protocole violences conjugales — remis à la victime",
                       "Dossier protocole violences conjugales", CONFIDENTIAL,
                       "Remis à {{ beneficiaire }} le {{ date_document }}, à la demande écrite "
                       "de la victime.")
    handed.add_paragraph("À la demande écrite de la victime du {{ date_demande }}, "
                         "{{ organisation_expediteur }} remet à {{ beneficiaire }} l'ensemble "
                         "de son dossier : {{ nombre_fiches }} fiche(s), du {{ premiere_fiche }} "
                         "au {{ derniere_fiche }}, dans l'ordre chronologique.")
    label_table(handed, [("Dossier", "{{ reference }}"), ("Avocat désigné", "{{ avocat_nom }}")])
    handed.add_paragraph("Ce dossier appartient à la victime : elle en dispose librement "
                         "(par exemple pour le joindre à une plainte). L'association en garde "
                         "une copie tant qu'elle ne lui a pas demandé de le détruire.")
    handed.add_heading("Sommaire", level=2)
    handed.add_paragraph("{{ sommaire }}")
    _save(handed, "violence_conjugale", "vc_dossier_remise.docx")


# --- binôme IS / CMP -----------------------------------------------------------------------

def cmp_binome() -> None:
    psy = _document("Volet psychiatrique (binôme IS / CMP)",
                    "Volet psychiatrique — entretien du binôme IS / CMP",
                    "Relais — situation {{ reference }} — données de santé, réservé au CMP",
                    "Chiffré et signé pour {{ organisation_destinataire }} le "
                    "{{ date_document }} — {{ fondement }}.")
    psy.add_paragraph("Entretien commun du {{ rdv_date }} (intervenant social et infirmier·e "
                      "du CMP).")
    _section(psy, "Personne", [("Nom", "{{ personne_nom }}"), ("Prénom", "{{ personne_prenom }}"),
                               ("Né(e) le", "{{ personne_naissance }}")])
    _section(psy, "Évaluation", [("État psychique", "{{ etat_psychique }}"),
                                 ("Suivi psychiatrique", "{{ suivi_psychiatrique }}"),
                                 ("Risque évalué", "{{ risque }}"),
                                 ("Traitement connu", "{{ traitement }}"),
                                 ("Préconisation de soins", "{{ preconisation_soins }}")])
    _save(psy, "cmp_binome", "cmp_volet_psychiatrique.docx")

    orientation = _document("Fiche d'orientation du binôme IS / CMP",
                            "Fiche d'orientation — binôme intervenant social / CMP",
                            CONFIDENTIAL, SENT)
    orientation.add_paragraph("Orientation signée par les deux membres du binôme de "
                              "{{ organisation_expediteur }}. Elle ne contient aucune donnée "
                              "de santé.")
    _section(orientation, "Personne", [("Nom", "{{ personne_nom }}"),
                                       ("Prénom", "{{ personne_prenom }}"),
                                       ("Né(e) le", "{{ personne_naissance }}"),
                                       ("Téléphone", "{{ personne_telephone }}")])
    _section(orientation, "Situation sociale", [("Logement", "{{ logement }}"),
                                                ("Ressources", "{{ ressources }}"),
                                                ("Entourage", "{{ entourage }}"),
                                                ("Besoins repérés", "{{ besoins }}")])
    _section(orientation, "Orientation", [("Vers", "{{ orientation }}"),
                                          ("Attente de la personne", "{{ motif_orientation }}")])
    _save(orientation, "cmp_binome", "cmp_fiche_orientation.docx")


# --- ITP -----------------------------------------------------------------------------------

def itp_synthese() -> None:
    request = _document("Demande d'examen en ITP",
                        "Demande d'examen en Instance de Travail Partenarial", CONFIDENTIAL,
                        SENT)
    request.add_paragraph("Demande présentée par {{ organisation_expediteur }}.")
    _section(request, "Personne", [("Nom", "{{ personne_nom }}"),
                                   ("Prénom", "{{ personne_prenom }}"),
                                   ("Né(e) le", "{{ personne_naissance }}"),
                                   ("Foyer", "{{ foyer }}"),
                                   ("Mineurs concernés", "{{ mineurs_concernes }}")])
    _section(request, "Situation", [("Résumé", "{{ resume }}"),
                                    ("Chronologie", "{{ chronologie }}"),
                                    ("Problématiques", "{{ problematiques }}"),
                                    ("Déjà tenté", "{{ actions_menees }}")])
    _section(request, "Pour l'ITP", [("Question posée", "{{ question }}"),
                                     ("Inviter le CMP", "{{ inviter_cmp }}"),
                                     ("Inviter l'association", "{{ inviter_association }}")])
    _save(request, "itp_synthese", "itp_demande.docx")

    invitation = _document("Invitation à l'Instance de Travail Partenarial",
                           "Invitation à l'Instance de Travail Partenarial", CONFIDENTIAL,
                           SENT)
    invitation.add_paragraph("Vous êtes invité·e à la séance de l'ITP du {{ seance }} pour "
                             "l'examen de la situation présentée par "
                             "{{ organisation_expediteur }}.")
    label_table(invitation, [("Participants du conseil départemental", "{{ participants_cd }}"),
                        ("Personne", "{{ personne_prenom }} {{ personne_nom }}"),
                        ("Résumé", "{{ resume }}"), ("Question posée", "{{ question }}")])
    _save(invitation, "itp_synthese", "itp_invitation.docx")

    minutes = _document("Relevé de décisions de l'ITP",
                        "Relevé de décisions de l'Instance de Travail Partenarial",
                        CONFIDENTIAL, "Relevé du {{ date_document }} — situation "
                        "{{ reference }}.")
    minutes.add_paragraph("Séance du {{ seance }}. Situation présentée par "
                          "{{ organisation_expediteur }}.")
    label_table(minutes, [("Personne", "{{ personne_prenom }} {{ personne_nom }}"),
                     ("Question posée", "{{ question }}"),
                     ("Stratégie et projet d'accompagnement", "{{ strategie }}"),
                     ("Référent désigné", "{{ referent }}"),
                     ("Date de révision", "{{ date_revision }}")])
    _save(minutes, "itp_synthese", "itp_releve_decisions.docx")

    # The decisions fed back to the person: a letter the IS hands or sends her (kept in the
    # IS's situation; stamped like every issued document).
    letter = _document("Courrier des décisions de l'ITP",
                       "Les suites données à l'examen de votre situation", "",
                       "Courrier du {{ date_document }} — situation {{ reference }}.")
    letter.add_paragraph("Objet : les suites de l'examen de votre situation "
                         "({{ personne_prenom }} {{ personne_nom }}).")
    letter.add_paragraph("Madame, Monsieur,")
    letter.add_paragraph("Avec votre accord, l'intervenant social de {{ organisation_expediteur }} "
                         "a présenté votre situation à l'Instance de Travail Partenarial du "
                         "conseil départemental, le {{ seance }}. Voici ce qui a été décidé.")
    label_table(letter, [("Ce qui vous est proposé", "{{ strategie }}"),
                         ("Votre interlocuteur", "{{ referent }}"),
                         ("Nous referons le point avec vous le", "{{ date_revision }}")])
    letter.add_paragraph("Vous pouvez en parler avec l'intervenant social qui vous a reçu(e), "
                         "refuser ce qui vous est proposé, et retirer à tout moment votre "
                         "accord au partage de vos informations.")
    letter.add_paragraph("Veuillez agréer, Madame, Monsieur, nos salutations distinguées.")
    _save(letter, "itp_synthese", "itp_courrier_decisions.docx")


# --- convocation des mineurs ---------------------------------------------------------------

def convocation_mineurs() -> None:
    letter = _document("Convocation au pôle psychosocial", "Invitation à un rendez-vous",
                       "{{ commissariat_nom }} — {{ commissariat_adresse }} — "
                       "tél. {{ commissariat_telephone }}",
                       "Référence {{ reference }} — courrier du {{ date_document }}.")
    letter.add_paragraph("{{ commissariat_nom }}")
    letter.add_paragraph("{{ commissariat_adresse }} — tél. {{ commissariat_telephone }}")
    letter.add_paragraph("À l'attention de {{ responsables_legaux }}")
    letter.add_paragraph("{{ adresse }}")
    letter.add_paragraph("Madame, Monsieur,")
    letter.add_paragraph("Nous vous proposons de venir, avec {{ mineur_prenom }} {{ mineur_nom }}, "
                         "au pôle psychosocial du commissariat le {{ rdv_date }} à "
                         "{{ rdv_heure }}. Le délégué police-population, l'intervenant social "
                         "et la psychologue du commissariat vous recevront.")
    letter.add_paragraph("Votre venue est libre : ce rendez-vous n'est ni une convocation "
                         "judiciaire ni une audition. Il est l'occasion d'un rappel à l'ordre "
                         "et d'un échange sur l'aide que nous pouvons vous apporter, si vous le "
                         "souhaitez.")
    letter.add_paragraph("Si vous ne pouvez pas venir, merci de nous appeler au "
                         "{{ commissariat_telephone }} pour convenir d'une autre date.")
    letter.add_paragraph("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos "
                         "salutations distinguées.")
    letter.add_paragraph("{{ signataire }}")
    _save(letter, "convocation_mineurs", "cm_convocation.docx")

    snapshot = _document("Photographie sociale (CDDF)",
                         "Photographie sociale — conseil pour les droits et devoirs des "
                         "familles",
                         CONFIDENTIAL, SENT)
    snapshot.add_paragraph("Établie par le pôle psychosocial ({{ organisation_expediteur }}) ; "
                           "les parents ont été informés de sa présentation au CDDF.")
    _section(snapshot, "Mineur", [("Nom", "{{ mineur_nom }}"), ("Prénom", "{{ mineur_prenom }}"),
                                  ("Né(e) le", "{{ mineur_naissance }}")])
    _section(snapshot, "Situation", [("Foyer", "{{ foyer }}"), ("Scolarité", "{{ scolarite }}"),
                                     ("Suivi social", "{{ suivi_social }}"),
                                     ("Accompagnement proposé aux parents",
                                      "{{ reponse_parents }}"),
                                     ("Observations", "{{ observations_sociales }}")])
    _save(snapshot, "convocation_mineurs", "cm_photographie_sociale.docx")


# --- fiche de liaison ----------------------------------------------------------------------

def fiche_liaison() -> None:
    sheet = _document("Fiche de liaison", "Fiche de liaison vers le service social", CONFIDENTIAL,
                      SENT)
    sheet.add_paragraph("Rédigée avec la personne, qui en a validé le contenu.")
    _section(sheet, "Professionnel à l'origine de l'envoi",
             [("Service", "{{ organisation_expediteur }}"),
              ("Contact", "{{ contact_professionnel }}")])
    _section(sheet, "Personne", [("Nom", "{{ personne_nom }}"), ("Prénom", "{{ personne_prenom }}"),
                                 ("Né(e) le", "{{ personne_naissance }}"),
                                 ("Adresse", "{{ personne_adresse }}"),
                                 ("Téléphone", "{{ personne_telephone }}")])
    _section(sheet, "Orientation", [("Motif", "{{ motif }}"), ("Précisions", "{{ precisions }}"),
                                    ("Connue des services sociaux",
                                     "{{ connue_services_sociaux }}"),
                                    ("Enfants mineurs au foyer", "{{ enfants_au_foyer }}")])
    _save(sheet, "fiche_liaison", "fl_fiche_liaison.docx")

    report = _document("Information préoccupante", "Information préoccupante", CONFIDENTIAL,
                       SENT)
    report.add_paragraph("Transmise par {{ organisation_expediteur }} "
                         "({{ contact_professionnel }}).")
    _section(report, "Foyer", [("Personne reçue", "{{ personne_nom }}"),
                               ("Adresse", "{{ personne_adresse }}"),
                               ("Parents ou responsables légaux", "{{ responsables_legaux }}")])
    _section(report, "Enfant", [("Nom", "{{ enfant_nom }}"), ("Prénom", "{{ enfant_prenom }}"),
                                ("Né(e) le", "{{ enfant_naissance }}"),
                                ("Autres enfants du foyer", "{{ enfants }}")])
    _section(report, "Information", [("Recueillie le", "{{ date_information }}"),
                                     ("Source", "{{ source_information }}"),
                                     ("Éléments de danger", "{{ elements_danger }}")])
    _section(report, "Cadre", [("Justification", "{{ justification }}"),
                               ("Information des parents", "{{ information }}"),
                               ("Motif d'une absence d'information", "{{ information_reason }}")])
    _save(report, "fiche_liaison", "fl_information_preoccupante.docx")

    direct = _document("Signalement au procureur de la République",
                       "Signalement au procureur de la République", CONFIDENTIAL,
                       "Transmis à {{ organisation_destinataire }} le {{ date_document }} — "
                       "{{ fondement }}.")
    direct.add_paragraph("Signalement direct par {{ organisation_expediteur }} "
                         "({{ contact_professionnel }}), en raison d'un danger grave et "
                         "immédiat ; le président du conseil départemental (CRIP) en reçoit "
                         "l'information (CASF L.226-4 II).")
    _section(direct, "Enfant", [("Nom", "{{ enfant_nom }}"), ("Prénom", "{{ enfant_prenom }}"),
                                ("Né(e) le", "{{ enfant_naissance }}"),
                                ("Adresse du foyer", "{{ personne_adresse }}"),
                                ("Parents ou responsables légaux", "{{ responsables_legaux }}")])
    _section(direct, "Faits", [("Recueillis le", "{{ date_information }}"),
                               ("Source", "{{ source_information }}"),
                               ("Éléments de danger", "{{ elements_danger }}"),
                               ("Justification", "{{ justification }}")])
    _save(direct, "fiche_liaison", "fl_signalement_procureur.docx")


# --- orientation vers l'intervenant social, réquisition judiciaire --------------------------

def police_protocols() -> None:
    sheet = _document("Fiche d'orientation vers l'intervenant social",
                      "Fiche d'orientation vers l'intervenant social", CONFIDENTIAL,
                      SENT)
    sheet.add_paragraph("Orientation par {{ organisation_expediteur }} : la personne a accepté "
                        "d'être contactée par l'intervenant social.")
    _section(sheet, "Personne", [("Nom", "{{ personne_nom }}"),
                                 ("Prénom", "{{ personne_prenom }}"),
                                 ("Date de naissance", "{{ personne_naissance }}"),
                                 ("Téléphone", "{{ telephone }}"),
                                 ("Moment préféré", "{{ moment_contact }}")])
    _section(sheet, "Orientation", [("Motif", "{{ motif }}"),
                                    ("Circonstances", "{{ circonstances }}"),
                                    ("Agent qui oriente", "{{ orienteur }}")])
    _save(sheet, "orientation_is", "oi_fiche_orientation.docx")

    requisition = _document("Réquisition judiciaire", "Réquisition judiciaire", CONFIDENTIAL,
                            "Adressée à {{ organisation_destinataire }} le {{ date_document }} "
                            "— {{ fondement }}.")
    requisition.add_paragraph("{{ organisation_expediteur }} requiert la communication des "
                              "informations ci-dessous, pour les besoins de la procédure.")
    _section(requisition, "Procédure", [("Référence", "{{ reference_procedure }}"),
                                        ("Magistrat ou OPJ requérant", "{{ magistrat }}"),
                                        ("Cadre", "{{ cadre }}"),
                                        ("Réponse attendue avant le", "{{ delai_reponse }}")])
    _section(requisition, "Demande", [("Personne concernée",
                                       "{{ personne_prenom }} {{ personne_nom }}"),
                                      ("Date de naissance", "{{ personne_naissance }}"),
                                      ("Informations demandées", "{{ objet }}")])
    _save(requisition, "requisition_judiciaire", "rq_requisition.docx")

    answer = _document("Réponse à une réquisition judiciaire",
                       "Réponse à une réquisition judiciaire", CONFIDENTIAL,
                       SENT)
    answer.add_paragraph("{{ organisation_expediteur }} répond à la réquisition ci-dessous ; "
                         "la réponse a été contrôlée par un second professionnel et se limite "
                         "à ce qui est demandé.")
    label_table(answer, [("Référence de la procédure", "{{ reference_procedure }}"),
                         ("Informations transmises", "{{ elements_transmis }}")])
    _save(answer, "requisition_judiciaire", "rq_reponse.docx")


if __name__ == "__main__":
    police_protocols()
    violence_conjugale()
    cmp_binome()
    itp_synthese()
    convocation_mineurs()
    fiche_liaison()
