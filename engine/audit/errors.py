from engine.errors import RelaisError


class AuditError(RelaisError):
    code = "audit_error"
    status = 500
