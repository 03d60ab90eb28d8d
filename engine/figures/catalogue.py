"""The indicators of the « bilan chiffré » (docs/figures.md gives each definition).

`kind` says how an indicator is counted:
- `partition`: each counted subject has one value (its latest in the period); rows add up to
  the total, so suppressed rows need secondary suppression;
- `multiple`: a subject may count under several values (problems raised): no total row;
- `events`: each fact is one event (a document sent, a protocol completed);
- `duration`: each fact is one delay, its value the number of whole hours; shown as bands
  that add up to the total, and the median (shown only when the total reaches the threshold).

Forms mark counted fields with `x-relais-stat: "<indicator>"`; `ALIASES` maps the codes the
forms use to the indicator's values, so that every protocol counts in the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.situations.communes import CHOICES as COMMUNES
from engine.situations.vocabulary import SEXES

PARTITION, MULTIPLE, EVENTS = "partition", "multiple", "events"
DURATION = "duration"  # each fact is one delay in whole hours: bands, plus the median


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    definition: str
    kind: str
    values: dict[str, str] = field(default_factory=dict)

    def label_of(self, code: str) -> str:
        return self.values.get(code, code.replace("_", " ").capitalize())


YES_NO = {"oui": "Oui", "non": "Non"}
YES_NO_UNKNOWN = {**YES_NO, "ne_sait_pas": "Ne sait pas"}

INDICATORS: tuple[Indicator, ...] = (
    Indicator("personne_type", "Personnes reçues, selon leur place dans la situation",
              "Personnes inscrites au registre des personnes reçues, selon qu'elles sont "
              "victimes, auteurs, témoins ou autres.", PARTITION,
              {"victime": "Victime", "auteur": "Auteur", "temoin": "Témoin", "autre": "Autre"}),
    Indicator("sexe", "Personnes reçues, selon le sexe",
              "Sexe indiqué au registre des personnes reçues (facultatif : « non renseigné » "
              "sinon).", PARTITION, dict(SEXES)),
    Indicator("commune", "Personnes reçues, selon la commune de résidence",
              "Commune de résidence choisie dans la liste des communes du territoire, « hors du "
              "territoire », ou non renseignée.", PARTITION,
              {**COMMUNES, "non_renseignee": "Non renseignée"}),
    Indicator("tranche_age", "Personnes reçues, selon l'âge",
              "Tranche d'âge à la date de l'accueil.", PARTITION,
              {"moins_18": "Moins de 18 ans", "18_25": "18 à 25 ans", "26_40": "26 à 40 ans",
               "41_60": "41 à 60 ans", "plus_60": "Plus de 60 ans"}),
    Indicator("mineurs_concernes", "Situations où des mineurs sont concernés",
              "Situations dont une fiche indique que des enfants sont concernés ou présents.",
              PARTITION, YES_NO),
    Indicator("arrivee", "Comment les personnes sont arrivées",
              "Origine de la prise de contact : orientation par la police ou la gendarmerie, "
              "main courante, partenaire, démarche personnelle.", PARTITION,
              {"police": "Orientation par la police", "gendarmerie": "Orientation par la "
               "gendarmerie", "main_courante": "Main courante", "partenaire": "Partenaire",
               "personne": "Démarche personnelle", "autre": "Autre"}),
    Indicator("problematiques", "Problématiques repérées",
              "Problématiques relevées lors de l'accueil ou dans une fiche (une situation peut "
              "en présenter plusieurs).", MULTIPLE,
              {"logement": "Logement", "ressources": "Ressources", "acces_droits": "Accès aux "
               "droits", "parentalite": "Parentalité", "isolement": "Isolement",
               "violences": "Violences", "sante_psychique": "Santé psychique",
               "addictions": "Addictions", "sante": "Santé, accès aux soins",
               "enfance_en_danger": "Enfance en danger", "conflit_familial": "Conflit familial "
               "ou de voisinage", "autre": "Autre"}),
    Indicator("connu_services_sociaux", "Déjà connues des services sociaux",
              "La situation était-elle déjà connue des services sociaux ?", PARTITION,
              YES_NO_UNKNOWN),
    Indicator("orientations", "Orientations proposées",
              "Orientations données, par type de partenaire (une situation peut en recevoir "
              "plusieurs).", MULTIPLE,
              {"cmp": "Centre médico-psychologique", "medecin": "Médecin",
               "services_sociaux": "Services sociaux", "association": "Association",
               "police_justice": "Police ou justice", "hebergement": "Hébergement",
               "commune": "Commune ou CCAS", "aucune": "Aucune"}),
    Indicator("protocoles_demarres", "Protocoles engagés",
              "Instances de protocole démarrées dans la période, par protocole (qu'elles soient "
              "terminées ou non).", EVENTS),
    Indicator("protocoles_termines", "Protocoles menés à leur terme",
              "Instances de protocole terminées dans la période, par protocole.", EVENTS),
    Indicator("documents_finalite", "Documents transmis, selon la finalité",
              "Documents chiffrés et signés envoyés à un partenaire, par finalité.", EVENTS),
    Indicator("documents_destinataire", "Documents transmis, selon le destinataire",
              "Documents envoyés, par type d'organisation destinataire.", EVENTS),
    Indicator("consentements", "Décisions de consentement recueillies",
              "Décisions enregistrées sur les formulaires de consentement.", EVENTS,
              {"granted": "Accordé", "refused": "Refusé"}),
    Indicator("delai_accuse", "Délai d'accusé de réception des documents transmis",
              "Temps écoulé entre l'envoi d'un document et l'accusé de réception signé par son "
              "destinataire, compté au mois de l'accusé ; le délai médian n'est donné que si "
              "assez de documents sont comptés.", DURATION,
              {"moins_24h": "Moins de 24 heures", "1_3j": "De 1 à 3 jours",
               "3_7j": "De 3 à 7 jours", "plus_7j": "Plus de 7 jours"}),
    Indicator("binome_cmp", "Activité du binôme intervenant social / infirmier de CMP",
              "Situations, par étape du protocole du binôme : orientées vers le binôme, "
              "orientées d'emblée vers les urgences psychiatriques, reçues en entretien commun, "
              "orientées vers un suivi au CMP ou vers un autre partenaire.", MULTIPLE,
              {"orientation_recue": "Situations orientées vers le binôme",
               "urgence_psychiatrique": "Orientées vers les urgences psychiatriques",
               "entretien_commun": "Reçues en entretien commun",
               "orientation_cmp": "Orientées vers un suivi au CMP",
               "orientation_autre": "Orientées vers un autre partenaire",
               "sans_orientation": "Sans orientation"}),
)

# Delay bands of a `duration` indicator: (code, first hour after the band).
DELAY_BANDS = (("moins_24h", 24), ("1_3j", 72), ("3_7j", 168), ("plus_7j", None))


def delay_band(hours: int) -> str:
    return next(code for code, below in DELAY_BANDS if below is None or hours < below)


# The CMP binôme's forms (workflows/cmp_binome): the activity each one stored shows. Their
# answers counted for the binôme are marked `x-relais-stat: "binome_cmp"`.
BINOME_FORMS = {"cmp_orientation": "orientation_recue", "cmp_volet_social": "entretien_commun"}


def binome_activity(form: str | None, stats: list[tuple[str, str]]) -> list[str]:
    """The binôme's activity codes a stored form shows (the convention's shared report):
    an orientation received (urgent or not), a joint interview held, and the orientation
    once the IS signs it — the last signature, so a proposal taken up again counts once."""
    form = (form or "").removesuffix(".json")  # tasks name their form's file
    answers = {code for indicator, code in stats if indicator == "binome_cmp"}
    codes = [BINOME_FORMS[form]] if form in BINOME_FORMS else []
    if form == "cmp_orientation" and "oui" in answers:
        codes.append("urgence_psychiatrique")
    if form == "cmp_signature_is" and "accord" in answers:
        chosen = {canonical("orientations", code) for code in answers - {"accord"}}
        codes.append("orientation_cmp" if "cmp" in chosen else
                     "sans_orientation" if chosen <= {"aucune"} else "orientation_autre")
    return codes

BY_ID = {i.id: i for i in INDICATORS}

# Codes used by the protocols' forms → the indicator's values.
ALIASES: dict[str, dict[str, str]] = {
    "arrivee": {"spontanee": "personne", "orientation_police": "police",
                "signalement_police": "police",
                "fiche_liaison_gendarmerie": "gendarmerie", "synthese_corg": "gendarmerie",
                "saisie": "autre"},
    "problematiques": {"violences_conjugales": "violences",
                       "difficultes_economiques": "ressources",
                       "violences_intrafamiliales": "violences",
                       "souffrance_psychique": "sante_psychique", "crise": "sante_psychique",
                       "isolement_incurie": "isolement", "conflits_voisinage": "autre",
                       "budget": "ressources", "lien_social": "isolement",
                       "protection": "violences", "aucun": "autre"},
    "orientations": {"association_victimes": "association",
                     "service_social": "services_sociaux", "justice": "police_justice",
                     "soins": "medecin", "suivi_cmp": "cmp", "consultation_cmp": "cmp",
                     "medecin_traitant": "medecin", "intervention_police": "police_justice",
                     "plainte_immediate": "police_justice",
                     "hebergement_urgence": "hebergement",
                     "telephone_grave_danger": "police_justice",
                     "urgences_medicales": "medecin"},
    "mineurs_concernes": {},
    "connu_services_sociaux": {"inconnu": "ne_sait_pas"},
}


def canonical(indicator: str, code: str) -> str:
    return ALIASES.get(indicator, {}).get(code, code)
