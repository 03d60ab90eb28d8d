from engine.errors import NotFound, RelaisError


class CaseNotFound(NotFound):
    code = "case_not_found"


class CaseKeyDestroyed(RelaisError):
    """The case key was destroyed: its records and documents are unreadable for everyone."""

    code = "case_key_destroyed"
    status = 410


class DisclosureNotFound(NotFound):
    code = "disclosure_not_found"


class DisclosureRefused(RelaisError):
    """A disclosure asked or answered by someone who may not (French message)."""

    code = "disclosure_refused"
    status = 403


class DisclosureAlreadyAnswered(RelaisError):
    code = "disclosure_already_answered"
    status = 409
