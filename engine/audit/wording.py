"""Each action of the audit log in French words, for the administration console's journal.

One sentence per action name; an action missing here is shown by its raw name (a new action
is never hidden). The sentence says what happened; the row's actor, subject and details are
shown beside it.
"""

from __future__ import annotations

ACTION_SENTENCES: dict[str, str] = {
    # administration console
    "admin.keys.directory_exported": "Annuaire signé des clés exporté",
    "admin.journal.verified": "Journal d'audit vérifié depuis la console",
    "admin.journal.checkpoint_exported": "Point de contrôle du journal exporté",
    "admin.ops.retention_swept": "Destruction des situations échues lancée depuis la console",
    # audit
    "audit.checkpoint": "Point de contrôle du journal signé",
    # identity
    "identity.account_locked": "Compte verrouillé après des échecs de connexion",
    "identity.account_unlocked": "Compte déverrouillé",
    "identity.login": "Connexion",
    "identity.login_failed": "Échec de connexion",
    "identity.login_refused": "Connexion refusée",
    "identity.logout": "Déconnexion",
    "identity.organisation_created": "Organisation créée",
    "identity.organisation_flag_changed": "Habilitation d'une organisation modifiée",
    "identity.organisation_letterhead_changed": "En-tête d'une organisation modifié",
    "identity.password_changed": "Mot de passe changé",
    "identity.role_granted": "Rôle attribué",
    "identity.session_expired": "Session expirée",
    "identity.token_created": "Jeton d'API créé",
    "identity.token_revoked": "Jeton d'API révoqué",
    "identity.token_used": "Jeton d'API utilisé",
    "identity.totp_enrolled": "Second facteur activé",
    "identity.user_created": "Utilisateur créé",
    "identity.user_disabled": "Utilisateur désactivé",
    # keys
    "keys.organisation_keys_created": "Clés d'une organisation créées",
    "keys.recovery_key_registered": "Clé de recouvrement enregistrée",
    "keys.rotated": "Clés d'une organisation renouvelées (rotation)",
    # runtime
    "runtime.access_refused": "Accès refusé à une instance ou une tâche",
    "runtime.connector_refused": "Connecteur refusé",
    "runtime.deployed": "Protocole déployé",
    "runtime.deployment_refused": "Déploiement refusé",
    "runtime.incident_opened": "Incident ouvert",
    "runtime.incident_retried": "Incident relancé",
    "runtime.instance_completed": "Instance terminée normalement",
    "runtime.instance_migrated": "Instance migrée vers une nouvelle version",
    "runtime.instance_running": "Instance reprise",
    "runtime.instance_started": "Instance lancée",
    "runtime.instance_suspended": "Instance suspendue",
    "runtime.instance_terminated": "Instance arrêtée",
    "runtime.message_delivered": "Message remis à une instance",
    "runtime.message_received": "Message reçu",
    "runtime.service_task_completed": "Tâche de service terminée",
    "runtime.service_task_queued": "Tâche de service mise en file",
    "runtime.task_completed": "Tâche complétée",
    "runtime.timers_fired": "Minuteries déclenchées",
    # cases, consent, dossiers
    "case.key_destroyed": "Clé d'une situation détruite (effacement)",
    "case.opened": "Situation ouverte",
    "case.record_read": "Saisie consultée",
    "case.record_stored": "Saisie enregistrée",
    "consent.access_exported": "Droit d'accès : export remis à la personne",
    "consent.destruction_requested": "Destruction demandée par la personne",
    "consent.evidence_attached": "Preuve du consentement jointe",
    "consent.holders_notified": "Détenteurs prévenus",
    "consent.legal_basis_invoked": "Base légale invoquée",
    "consent.legal_review_answered": "Vérification juridique rendue",
    "consent.legal_review_opened": "Vérification juridique demandée",
    "consent.receipt_printed": "Récépissé de consentement imprimé",
    "consent.recorded": "Consentement recueilli",
    "consent.retention_reviewed": "Échéances de conservation consultées (sans destruction)",
    "consent.retention_swept": "Situations échues détruites (conservation)",
    "consent.transmission_cancelled": "Transmission annulée",
    "consent.withdrawn": "Consentement retiré",
    "dossiers.destroyed": "Dossier détruit",
    "dossiers.piece_read": "Pièce d'un dossier consultée",
    # routing
    "routing.access_refused": "Accès refusé à un document",
    "routing.acknowledged": "Réception d'un document accusée",
    "routing.delivery_opened": "Document ouvert par son destinataire",
    "routing.document_read": "Document lu",
    "routing.envelope_exported": "Enveloppe scellée exportée",
    "routing.transmission_refused": "Transmission refusée",
    "routing.transmitted": "Document transmis",
    # itp, situations
    "itp.session_cancelled": "Séance ITP annulée",
    "itp.session_opened": "Séance ITP ouverte",
    "itp.session_resized": "Capacité d'une séance ITP modifiée",
    "itp.situation_booked": "Situation inscrite à une séance ITP",
    "situations.person_added": "Personne ajoutée à une situation",
    "situations.person_received": "Personne reçue",
    "situations.viewed": "Situation consultée",
    # webhooks
    "webhooks.endpoint_created": "Point de réception webhook ajouté",
    "webhooks.endpoint_deleted": "Point de réception webhook supprimé",
    "webhooks.endpoint_disabled": "Point de réception webhook désactivé",
    "webhooks.inbound_refused": "Webhook entrant refusé",
    "webhooks.message_replayed": "Message webhook rejoué",
    "webhooks.secret_rotated": "Secret d'un point de réception webhook changé",
}


def sentence(action: str) -> str | None:
    """The action in French words, or None when unknown (the page shows the raw name)."""
    return ACTION_SENTENCES.get(action)
