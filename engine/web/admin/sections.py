"""The sections of the administration console, in the order the landing page lists them.

Each entry names the Flask endpoint of the section's first page; the landing page shows
only the sections whose endpoint is registered, so a section is added here once, with its
blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    endpoint: str
    title: str
    summary: str


SECTIONS: tuple[Section, ...] = (
    Section("admin.protocols", "Protocoles",
            "Modeler, brouillons, publication et retrait des protocoles."),
    Section("admin_territory.territories", "Territoires",
            "Les partenaires de chaque territoire lus par les protocoles."),
    Section("admin_territory.organisations", "Organisations",
            "Coordonnées, nature et habilitations des organisations."),
    Section("admin_people.users", "Utilisateurs",
            "Comptes, rôles dans les organisations, mots de passe et second facteur."),
    Section("admin_people.tokens", "Jetons d'API",
            "Jetons des logiciels partenaires, dernière utilisation, révocation."),
    Section("admin_keys.keys", "Clés",
            "Annuaire des clés, rotation, export signé, clé de secours."),
    Section("admin_audit.journal", "Journal d'audit",
            "Consulter le journal, le vérifier, exporter les points de contrôle."),
    Section("admin_ops.incidents", "Incidents",
            "Incidents ouverts, leur explication et leur relance."),
    Section("admin_ops.instances", "Instances",
            "Protocoles en cours : recherche, suspension, reprise, arrêt."),
    Section("admin_ops.retention", "Conservation",
            "Dossiers arrivés à échéance et revues juridiques en attente."),
    Section("webhooks_admin.endpoints", "Webhooks",
            "Points de terminaison des logiciels partenaires et leurs tentatives."),
)
