from engine.errors import NotFound, RelaisError


class CaseNotFound(NotFound):
    code = "case_not_found"


class CaseKeyDestroyed(RelaisError):
    """The case key was destroyed: its records and documents are unreadable for everyone."""

    code = "case_key_destroyed"
    status = 410
