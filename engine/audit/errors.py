from engine.errors import RelaisError


class AuditError(RelaisError):
    code = "audit_error"
    status = 500


class NoTrustAnchor(AuditError):
    """No fingerprint of the checkpoint key was given from outside the database."""

    code = "audit_no_trust_anchor"
    status = 400


class AuditOwnershipRefused(AuditError):
    """The audit tables cannot be given to that PostgreSQL role safely."""

    code = "audit_ownership_refused"
    status = 400
