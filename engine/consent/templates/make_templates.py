"""Write the consent domain's document templates (run again after changing them):

    .venv/bin/python engine/consent/templates/make_templates.py

- `recu_consentement.docx` — « Reçu de consentement »: what the person agreed to (or
  refused), to whom, for what, which data, until when, and how to withdraw;
- `export_acces.docx` — « Export des données de la personne » (right of access): the
  opening page; `engine.consent.rights.access_export` appends the records, consents, legal
  bases and documents after it.

Placeholders are filled by `engine.documents.render.render_docx`; the core property *title*
of each template is its kind label.
"""

from __future__ import annotations

from pathlib import Path

from engine.documents.build import label_table, new_document

HERE = Path(__file__).parent


def recu_consentement() -> None:
    document = new_document("Reçu de consentement")
    section = document.sections[0]
    section.header.paragraphs[0].text = "{{ organisation }} — situation {{ reference }}"
    section.footer.paragraphs[0].text = ("Reçu établi le {{ date_document }} — identifiant "
                                         "{{ identifiant }} (version {{ version }}).")
    document.add_heading("Reçu de votre décision sur le partage de vos informations", level=1)
    document.add_paragraph("Le {{ date_recueil }}, {{ recueilli_par }} ({{ organisation }}) "
                           "a recueilli votre décision : {{ decision }}.")
    label_table(document, (
        ("Personne concernée", "{{ personne }}"),
        ("Accord donné par", "{{ accord_donne_par }}"),
        ("Finalités", "{{ finalites }}"),
        ("Destinataires", "{{ destinataires }}"),
        ("Données concernées", "{{ categories }}"),
        ("Forme du consentement", "{{ canal }}"),
        ("Valable jusqu'au", "{{ expiration }}"),
        ("État à la date du reçu", "{{ etat }}"),
    ))
    document.add_heading("Vos droits", level=2)
    document.add_paragraph(
        "Vous pouvez retirer votre consentement à tout moment, sans avoir à vous justifier, "
        "auprès de {{ organisation }}. Les transmissions qui n'ont pas encore eu lieu sont "
        "alors annulées et les destinataires qui ont reçu une copie en sont avertis.")
    document.add_paragraph(
        "Vous pouvez aussi demander à consulter les informations vous concernant (une copie "
        "vous est remise, sans les informations relatives à d'autres personnes) ou leur "
        "destruction : elles deviennent alors illisibles pour tous, y compris pour les "
        "destinataires.")
    document.add_paragraph("Ce reçu vous appartient ; conservez-le.")
    document.save(HERE / "recu_consentement.docx")


def export_acces() -> None:
    document = new_document("Export des données de la personne")
    section = document.sections[0]
    section.header.paragraphs[0].text = ("Relais — situation {{ reference }} — document "
                                         "confidentiel")
    section.footer.paragraphs[0].text = "Export établi le {{ date_document }}."
    document.add_heading("Les informations vous concernant", level=1)
    document.add_paragraph(
        "{{ organisation }} a établi cet export le {{ date_document }}, à la demande de la "
        "personne concernée ({{ personne }}), au titre de son droit d'accès (article 15 du "
        "règlement général sur la protection des données).")
    document.add_paragraph(
        "Il reprend les informations enregistrées dans la situation {{ reference }} : les "
        "saisies des professionnels, les consentements, les bases légales invoquées et les "
        "documents transmis. Les informations concernant d'autres personnes (tiers) ont été "
        "retirées.")
    document.save(HERE / "export_acces.docx")


if __name__ == "__main__":
    recu_consentement()
    export_acces()
