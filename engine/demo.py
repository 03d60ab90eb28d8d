"""The demo territory of docs/api.md: organisations, users and roles, keys, the ITP calendar, the
five protocols deployed, and a few situations at various stages — all created idempotently
(running `relais demo` twice creates nothing the second time).

Every name in the demo situations is fictitious.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.audit import service as audit
from engine.audit.service import SYSTEM
from engine.db import Database, UnitOfWork, transaction
from engine.figures import demo_activity
from engine.figures import service as figures
from engine.identity import organisations
from engine.identity import service as identity
from engine.identity.models import OrganisationKind as K
from engine.identity.roles import Role
from engine.territory import service as territory

# The demo password exists only here and only for the demo accounts.
DEMO_PASSWORD = "demo-relais-2026"  # noqa: S105

ORGANISATIONS = (
    ("asso-iscg-demo", "Association ISCG (démo) — intervenants sociaux", K.ASSOCIATION),
    ("asso-victimes-demo", "France Victimes (démo) — aide aux victimes", K.ASSOCIATION),
    ("cd-demo", "Conseil départemental (démo) — action sociale territoriale",
     K.DEPARTMENTAL_COUNCIL),
    ("cmp-demo", "Centre médico-psychologique (démo)", K.CMP),
    ("commissariat-demo", "Commissariat de police (démo)", K.POLICE),
    ("plateforme-demo", "Administration de la plateforme (démo)", K.PLATFORM),
    ("gendarmerie-demo", "Brigade de gendarmerie (démo)", K.GENDARMERIE),
    ("crip-demo", "CRIP — cellule de recueil des informations préoccupantes (démo)", K.CRIP),
    ("mairie-demo", "Mairie (démo) — conseil pour les droits et devoirs des familles",
     K.COMMUNE),
    ("parquet-demo", "Parquet du tribunal judiciaire (démo) — procureur de la République",
     K.PARQUET),
    ("urgences-demo", "Centre hospitalier (démo) — service des urgences", K.HOSPITAL),
    ("comite-demo", "Comité de suivi ISCG (démo)", K.COMMITTEE),
    ("employeur-demo", "Association employeuse des IS (démo) — direction", K.ASSOCIATION),
)

# The comité de suivi sees the figures of the IS post and of the association (never a case).
FIGURES_SCOPE = {"comite-demo": ("asso-iscg-demo", "asso-victimes-demo"),
                 # The IS's employer sees the figures of the post it staffs.
                 "employeur-demo": ("asso-iscg-demo",)}

# Beyond what each kind gets by default: the victim-support association (it keeps the
# victims' dossiers) and the IS's employer (the IS works in the police station under a
# convention with the State) are authorised to keep offence data (loi Informatique et
# libertés art. 46); both are bound by professional secrecy (shared-secrecy legal bases).
# The hospital's emergency service signed the departmental protocol and fills the sheet
# (which records offence data) with victims: the administrator authorises it too.
OFFENCE_DATA_AUTHORISED = ("asso-victimes-demo", "asso-iscg-demo", "urgences-demo")
BOUND_BY_SECRECY = ("asso-iscg-demo", "asso-victimes-demo")


# Letterheads (address, phone) and data-protection officers' contacts: all fictitious.
LETTERHEADS = {
    "asso-iscg-demo": ("12 rue de la Démonstration, 78000 Versailles", "01 00 00 00 10",
                       "dpo@asso-iscg.demo.invalid"),
    "asso-victimes-demo": ("3 place de l'Aide, 78000 Versailles", "01 00 00 00 20",
                           "dpo@france-victimes.demo.invalid"),
    "cd-demo": ("2 place André-Mignot, 78000 Versailles (démo)", "01 00 00 00 30",
                "dpo@departement.demo.invalid"),
    "cmp-demo": ("5 rue du Soin, 78190 Trappes (démo)", "01 00 00 00 40",
                 "dpo@hopital.demo.invalid"),
    "commissariat-demo": ("1 place de la République, 78190 Trappes (démo)", "01 00 00 00 00",
                          "dpo@interieur.demo.invalid"),
    "gendarmerie-demo": ("4 route de la Brigade, 78320 Le Mesnil (démo)", "01 00 00 00 50",
                         "dpo@gendarmerie.demo.invalid"),
    "crip-demo": ("2 place André-Mignot, 78000 Versailles (démo)", "01 00 00 00 60",
                  "dpo@departement.demo.invalid"),
    "mairie-demo": ("Place de l'Hôtel-de-Ville, 78190 Trappes (démo)", "01 00 00 00 70",
                    "dpo@mairie.demo.invalid"),
    "parquet-demo": ("5 place André-Mignot, 78000 Versailles (démo)", "01 00 00 00 80",
                     "dpo@justice.demo.invalid"),
    "urgences-demo": ("177 rue de Versailles, 78150 Le Chesnay (démo)", "01 00 00 00 90",
                      "dpo@hopital.demo.invalid"),
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    organisation: str
    role: Role


USERS = (
    DemoUser("demo-is", "Camille Martin (IS, démo)", "asso-iscg-demo", Role.IS),
    DemoUser("demo-is2", "Karim Haddad (IS, démo)", "asso-iscg-demo", Role.IS),
    DemoUser("demo-asso", "Nadia Benali (association, démo)", "asso-victimes-demo",
             Role.ASSOCIATION),
    DemoUser("demo-itp", "Julien Petit (secrétariat ITP, démo)", "cd-demo", Role.CG_ITP),
    DemoUser("demo-cmp", "Sophie Laurent (infirmière CMP, démo)", "cmp-demo", Role.CMP),
    DemoUser("demo-police", "Brigadier Thomas Roux (démo)", "commissariat-demo", Role.POLICE),
    DemoUser("demo-dpp", "Gérard Moreau (délégué police-population, démo)",
             "commissariat-demo", Role.DPP),
    DemoUser("demo-admin", "Administratrice (démo)", "plateforme-demo", Role.ADMIN),
    DemoUser("demo-social", "Claire Dubois (circonscription d'action sociale, démo)", "cd-demo",
             Role.CG_SOCIAL),
    DemoUser("demo-crip", "Marc Lefort (CRIP, démo)", "crip-demo", Role.CG_SOCIAL),
    DemoUser("demo-gendarme", "Adjudante Léa Simon (démo)", "gendarmerie-demo",
             Role.GENDARMERIE),
    DemoUser("demo-cddf", "Inès Garcia (coordinatrice du CDDF, démo)", "mairie-demo",
             Role.CDDF),
    DemoUser("demo-comite", "Hélène Morel (comité de suivi, démo)", "comite-demo", Role.COMITE),
    DemoUser("demo-direction", "Paul Lambert (direction de l'employeur, démo)", "employeur-demo",
             Role.EMPLOYEUR),
    DemoUser("demo-psy", "Lucie Bernard (psychologue du commissariat, démo)",
             "commissariat-demo", Role.PSYCHOLOGUE),
    DemoUser("demo-parquet", "Hélène Vidal (substitute du procureur, démo)", "parquet-demo",
             Role.PARQUET),
    DemoUser("demo-urgences", "Dr Paul Girard (urgences hospitalières, démo)", "urgences-demo",
             Role.URGENCES),
)

# The demo territory: one organisation per partner slot (engine/territory/slots.py); the
# IS's employer is both the IS slot and a member. Its protocols read these partners.
TERRITORY = "Territoire de démonstration (Yvelines)"
PARTNERS = {"ASSOCIATION": "asso-victimes-demo", "IS": "asso-iscg-demo", "CG_ITP": "cd-demo",
            "CG_SOCIAL": "cd-demo", "CMP": "cmp-demo", "CRIP": "crip-demo",
            "CDDF": "mairie-demo", "POLICE": "commissariat-demo",
            "GENDARMERIE": "gendarmerie-demo", "PARQUET": "parquet-demo"}
# Members beyond the partner slots: the hospital's emergency service, a signatory partner of
# the departmental protocol (it starts the partner's sheet and reads the territory's association).
MEMBERS = ("urgences-demo",)
SIGNATORIES = {"commissariat-demo": "Le commissaire de police, chef de circonscription (démo)"}

# The ITP of the demo council meets every Tuesday at 14:00 (Paris), four situations a session.
ITP_COUNCIL = "cd-demo"
ITP_WEEKDAY, ITP_HOUR, ITP_CAPACITY, ITP_WEEKS = 1, 14, 4, 12
ITP_PLACE = "Salle de réunion de la direction territoriale d'action sociale (démo)"


def create_demo(db: Database) -> list[str]:
    """Create what is missing of the demo territory; returns what was created."""
    created: list[str] = []
    with transaction(db) as uow:
        for slug, name, kind in ORGANISATIONS:
            if identity.find_organisation(uow, slug) is None:
                identity.create_organisation(uow, SYSTEM, slug=slug, name=name, kind=kind)
                created.append(slug)
        for spec in USERS:
            user = identity.find_user(uow, spec.username)
            if user is None:
                user = identity.create_user(uow, SYSTEM, username=spec.username,
                                            display_name=spec.display_name,
                                            password=DEMO_PASSWORD)
                created.append(spec.username)
            org = identity.get_organisation(uow, spec.organisation)
            identity.grant_role(uow, SYSTEM, user, org, spec.role)
        _capabilities(uow)
        if territory.set_up_territory(uow, SYSTEM, name=TERRITORY, partners=PARTNERS,
                                     members=MEMBERS):
            created.append(TERRITORY)
        _keys(uow)
        _itp_calendar(uow)
        _figures_scope(uow)
        if created:
            audit.append(uow, SYSTEM, "platform.demo_created", created=len(created))
            audit.checkpoint(uow)
    return created


def _capabilities(uow: UnitOfWork) -> None:
    for slug in OFFENCE_DATA_AUTHORISED:
        identity.set_offence_data_authorised(uow, SYSTEM, identity.get_organisation(uow, slug),
                                             True)
    for slug in BOUND_BY_SECRECY:
        identity.set_bound_by_secrecy(uow, SYSTEM, identity.get_organisation(uow, slug), True)
    for slug, (address, phone, dpo) in LETTERHEADS.items():
        identity.set_letterhead(uow, SYSTEM, identity.get_organisation(uow, slug),
                                address=address, phone=phone, dpo_contact=dpo)
    for slug, signatory in SIGNATORIES.items():
        organisations.set_signatory(uow, SYSTEM, identity.get_organisation(uow, slug), signatory)


def _figures_scope(uow: UnitOfWork) -> None:
    for viewer, observed in FIGURES_SCOPE.items():
        for slug in observed:
            figures.observe(uow, identity.get_organisation(uow, viewer),
                            identity.get_organisation(uow, slug))


def _keys(uow: UnitOfWork) -> None:
    from engine.keys import service as keys

    for slug, _name, kind in ORGANISATIONS:
        if kind not in (K.PLATFORM, K.COMMITTEE) and slug != "employeur-demo":
            keys.ensure_organisation_keys(uow, identity.get_organisation(uow, slug))


def _itp_calendar(uow: UnitOfWork) -> None:
    """Twelve weekly sessions from the next Tuesday (existing sessions are kept)."""
    from engine.itp import service as itp

    paris = ZoneInfo("Europe/Paris")
    today = uow.now().astimezone(paris).date()
    first = today + timedelta(days=(ITP_WEEKDAY - today.weekday()) % 7 or 7)
    start = datetime(first.year, first.month, first.day, ITP_HOUR, tzinfo=paris)
    council = identity.get_organisation(uow, ITP_COUNCIL)
    itp.plan(uow, SYSTEM, council.id, start, ITP_WEEKS, ITP_CAPACITY, ITP_PLACE)


def demo_password_in_use(db: Database) -> list[str]:
    """Demo accounts that still accept the demo password (`serve` warns about them)."""
    with db.unit_of_work() as uow:
        return [spec.username for spec in USERS
                if (user := identity.find_user(uow, spec.username)) is not None
                and user.active and identity.password_matches(user, DEMO_PASSWORD)]


# --- a living territory: situations at various stages -------------------------------------

class _Driver:
    """Plays the demo personas through the services, as the web pages and the API would."""

    def __init__(self, db: Database):
        self.db = db

    def start(self, username: str, process_id: str, case_id: int | None = None) -> int:
        from engine.runtime import service as runtime

        with transaction(self.db) as uow:
            who = identity.principal_for(identity.get_user(uow, username))
            return runtime.start_instance(uow, who, process_id, case_id).id

    def complete(self, username: str, instance_id: int, data: dict[str, Any]) -> None:
        from engine.runtime import service as runtime

        with transaction(self.db) as uow:
            who = identity.principal_for(identity.get_user(uow, username))
            task = next(t for t in runtime.ready_tasks(uow, who) if t.instance_id == instance_id)
            runtime.complete_task(uow, who, task.id, data)
        self.relay()

    def relay(self) -> None:
        """Run what the worker would: every pending connector, until none is left."""
        from engine.jobs import outbox
        from engine.runtime.models import OutboxItem

        for _round in range(20):
            with self.db.unit_of_work() as uow:
                pending = list(uow.session.scalars(select(OutboxItem.id).where(
                    OutboxItem.status == "pending").order_by(OutboxItem.id)))
            if not pending:
                return
            for item_id in pending:
                outbox.run_item(self.db, item_id)

    def case_of(self, instance_id: int) -> int:
        from engine.runtime.models import Instance

        with self.db.unit_of_work() as uow:
            instance = uow.session.get(Instance, instance_id)
            assert instance is not None
            return instance.case_id

    def last_delivery(self, instance_id: int) -> int:
        from engine.routing.models import Delivery

        with self.db.unit_of_work() as uow:
            found = uow.session.scalars(select(Delivery.id).where(
                Delivery.instance_id == instance_id).order_by(Delivery.id.desc())).first()
            assert found is not None
            return found

    def acknowledge(self, username: str, delivery_id: int) -> None:
        from engine.routing import service as routing

        with transaction(self.db) as uow:
            routing.acknowledge(uow, identity.principal_for(identity.get_user(uow, username)),
                                delivery_id)
        self.relay()

    def itp_session(self, instance_id: int) -> str:
        """The session label the secretary confirms (what `relais/schedule_itp` booked, as
        her task's form shows it)."""
        from engine.runtime import service as runtime

        with self.db.unit_of_work() as uow:
            who = identity.principal_for(identity.get_user(uow, "demo-itp"))
            task = next(t for t in runtime.ready_tasks(uow, who) if t.instance_id == instance_id)
            form = runtime.task_form(uow, task)
            assert form is not None
            return str(form["schema"]["properties"]["seance"]["const"])

    def day(self, days: int) -> str:
        with self.db.unit_of_work() as uow:
            return (uow.now() + timedelta(days=days)).date().isoformat()


GRANTED = {"presented": True, "decision": "granted", "channel": "oral"}
REFUSED = {"presented": True, "decision": "refused", "channel": "oral"}


def _vc_sheet(first_name: str, day: str) -> dict[str, Any]:
    return {"victime_nom": "Exemple", "victime_prenom": first_name, "date_faits": day,
            "lieu_faits": "domicile_commun", "violences": ["psychologiques", "verbales"],
            "enfants_presents": False, "blessures": "aucune", "certificat_medical": "non",
            "faits_anterieurs": True, "suite_judiciaire": "main_courante",
            "auteur_lien": "conjoint", "observations": "Situation fictive de démonstration."}


def _violence_conjugale(d: _Driver) -> None:
    saisine = {"mode_saisine": "orientation_police", "danger_immediat": False}
    # Filed: the association has a dossier holding one sheet.
    filed = d.start("demo-is", "violence_conjugale")
    d.complete("demo-is", filed, saisine)
    d.complete("demo-is", filed, _vc_sheet("Alice", d.day(-40)))
    d.complete("demo-is", filed, GRANTED)
    dossier = d.start("demo-asso", "violence_conjugale_dossier")
    d.complete("demo-asso", dossier, {"action": "classer"})
    d.complete("demo-asso", dossier, {"envoi": d.last_delivery(filed)})
    # Sent, waiting for the association to file it (and for its receipt).
    waiting = d.start("demo-is", "violence_conjugale")
    d.complete("demo-is", waiting, {**saisine, "mode_saisine": "main_courante"})
    d.complete("demo-is", waiting, _vc_sheet("Béatrice", d.day(-2)))
    d.complete("demo-is", waiting, GRANTED)
    # The victim did not want it sent: the IS keeps her copy.
    kept = d.start("demo-is", "violence_conjugale")
    d.complete("demo-is", kept, {**saisine, "mode_saisine": "personne"})
    d.complete("demo-is", kept, _vc_sheet("Chloé", d.day(-1)))
    d.complete("demo-is", kept, REFUSED)


def _cmp_binome(d: _Driver) -> None:
    pair = d.start("demo-is", "cmp_binome")
    d.complete("demo-is", pair, {"mode_saisine": "police", "motif": "souffrance_psychique",
                                 "urgence_psychiatrique": False, "personne_nom": "Exemple",
                                 "personne_prenom": "Denis"})
    d.complete("demo-is", pair, {"rdv_date": d.day(3), "rdv_heure": "10:00",
                                 "lieu_rendez_vous": "commissariat"})


def _itp_synthese(d: _Driver) -> None:
    request = d.start("demo-is", "itp_synthese")
    d.complete("demo-is", request, {
        "personne_nom": "Exemple", "personne_prenom": "Émilie", "foyer": "famille_monoparentale",
        "mineurs_concernes": False, "resume": "Situation fictive de démonstration : impayés "
        "de loyer, isolement, plusieurs passages au commissariat.",
        "chronologie": "03/09/2026 : première venue au commissariat\n"
                       "15/10/2026 : commandement de payer\n02/11/2026 : nouvelle venue",
        "problematiques": ["logement", "isolement"],
        "actions_menees": "Orientation vers le CCAS, dossier FSL déposé.",
        "question": "Quelle stratégie commune pour éviter l'expulsion ?",
        "inviter_cmp": False, "inviter_association": False})
    d.complete("demo-is", request, {"information_personne": "informee"})
    d.complete("demo-is", request, GRANTED)
    # Another one scheduled: the CMP and the association invited, the IS told the date and
    # place of the session in her tasks.
    scheduled = d.start("demo-is", "itp_synthese")
    d.complete("demo-is", scheduled, {
        "personne_nom": "Exemple", "personne_prenom": "Iris", "foyer": "personne_seule",
        "mineurs_concernes": False, "resume": "Situation fictive de démonstration : violences "
        "au sein du couple, suivi psychique interrompu.",
        "chronologie": "12/10/2026 : main courante\n04/11/2026 : venue au commissariat",
        "problematiques": ["violences", "sante_psychique"],
        "actions_menees": "Orientation vers l'association d'aide aux victimes.",
        "question": "Comment coordonner le soin et l'accompagnement ?",
        "inviter_cmp": True, "inviter_association": True})
    d.complete("demo-is", scheduled, {"information_personne": "informee"})
    d.complete("demo-is", scheduled, GRANTED)
    d.complete("demo-itp", scheduled, {"completude": "complete"})
    d.complete("demo-itp", scheduled, {"a_partir_du": d.day(0)})
    d.complete("demo-itp", scheduled, {"seance": d.itp_session(scheduled),
                                       "participants_cd": ["responsable_secteur",
                                                           "ts_polyvalent"]})


def _fiche_liaison(d: _Driver) -> None:
    sheet = d.start("demo-is", "fiche_liaison")
    d.complete("demo-is", sheet, {
        "contact_professionnel": "Camille Martin, intervenante sociale (démo)",
        "personne_nom": "Exemple", "personne_prenom": "Farid",
        "personne_adresse": "1 rue de la Démonstration", "motif": "ressources",
        "precisions": "Situation fictive : demande d'aide pour un dossier de surendettement.",
        "connue_services_sociaux": "non", "enfants_au_foyer": False,
        "enfant_en_danger": False})
    d.complete("demo-is", sheet, {"relecture": "validee"})
    d.complete("demo-is", sheet, GRANTED)
    d.acknowledge("demo-social", d.last_delivery(sheet))


def _convocation_mineurs(d: _Driver) -> None:
    minor = d.start("demo-is", "convocation_mineurs")
    d.complete("demo-is", minor, {
        "source": "main_courante", "mineur_nom": "Exemple", "mineur_prenom": "Gabriel",
        "mineur_naissance": "2011-05-04", "responsables_legaux": "M. et Mme Exemple",
        "adresse": "2 rue de la Démonstration", "date_faits": d.day(-10),
        "nature_faits": "degradation"})
    d.complete("demo-dpp", minor, {"mineur_aux_faits": True, "suivi_judiciaire": False,
                                   "deja_convoque": False})
    d.complete("demo-is", minor, {"rdv_date": d.day(8), "rdv_heure": "17:00"})


def _orientation_is(d: _Driver) -> None:
    # Oriented by the police with her agreement: waiting in the IS's tasks for a first call.
    orientation = d.start("demo-police", "orientation_is")
    d.complete("demo-police", orientation, {
        "personne_nom": "Exemple", "personne_prenom": "Hugo", "telephone": "06 00 00 00 00",
        "motif": "detresse_sociale", "moment_contact": "apres_midi",
        "circonstances": "Situation fictive de démonstration : venu au commissariat après "
                         "une expulsion.",
        "orienteur": "Brigadier Thomas Roux (démo)"})
    d.complete("demo-police", orientation, GRANTED)


def _requisition_judiciaire(d: _Driver) -> None:
    # A requisition received, filed and answered by one IS, waiting for a colleague's check.
    sent = d.start("demo-police", "requisition_judiciaire")
    d.complete("demo-police", sent, {
        "reference_procedure": "PV 2026/000001 (démo)", "magistrat": "Substitute du "
        "procureur (démo)", "cadre": "preliminaire", "objet": "Dates des entretiens avec la "
        "personne depuis le début de l'année.", "personne_nom": "Exemple",
        "personne_prenom": "Inès", "delai_reponse": d.day(15)})
    d.complete("demo-police", sent, {"legal_basis": "requisition_adressee",
                                     "information": "not_applicable",
                                     "justification": "Enquête préliminaire (démo)."})
    answer = d.start("demo-is", "requisition_reponse")
    d.complete("demo-is", answer, {"envoi": d.last_delivery(sent),
                                   "service_requerant": "police"})
    d.complete("demo-is", answer, {"reference_procedure": "PV 2026/000001 (démo)",
                                   "elements_transmis": "Entretiens fictifs de démonstration."})
    d.complete("demo-is", answer, {"legal_basis": "requisition_60_1",
                                   "information": "not_applicable",
                                   "justification": "Réquisition régulière, limitée aux dates."})


LIVING: dict[str, Callable[[_Driver], None]] = {
    "violence_conjugale": _violence_conjugale,
    "cmp_binome": _cmp_binome,
    "itp_synthese": _itp_synthese,
    "fiche_liaison": _fiche_liaison,
    "convocation_mineurs": _convocation_mineurs,
    "orientation_is": _orientation_is,
    "requisition_judiciaire": _requisition_judiciaire,
}


def populate_demo(db: Database) -> list[str]:
    """Leave some situations at various stages, for each protocol that has none yet; returns
    the protocols populated. Needs the demo territory and the protocols deployed."""
    from engine.platform import deploy_bundled
    from engine.runtime.models import Instance

    deploy_bundled(db)
    driver = _Driver(db)
    populated = []
    for process_id, play in LIVING.items():
        with db.unit_of_work() as uow:
            started = uow.session.scalar(select(func.count(Instance.id))
                                         .where(Instance.process_id == process_id))
        if not started:
            play(driver)
            populated.append(process_id)
    people = demo_activity.populate(db, year=db.clock.now().year - 1, username="demo-is",
                                    per_month=28)
    if populated or people:
        with transaction(db) as uow:
            audit.append(uow, SYSTEM, "platform.demo_populated", protocols=populated,
                         people=people)
            audit.checkpoint(uow)
    return populated
