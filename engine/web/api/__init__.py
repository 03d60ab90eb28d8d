"""The REST API under /api/v1: bearer tokens, JSON, RFC 9457 problems."""

from engine.web.api import consent as _consent_endpoints  # noqa: F401 - registers routes
from engine.web.api import disclosures as _disclosure_endpoints  # noqa: F401 - registers routes
from engine.web.api import dossiers as _dossiers_endpoints  # noqa: F401 - registers routes
from engine.web.api import itp as _itp_endpoints  # noqa: F401 - registers routes
from engine.web.api import routing as _routing_endpoints  # noqa: F401 - registers routes
from engine.web.api import runtime as _runtime_endpoints  # noqa: F401 - registers routes
from engine.web.api.views import bp

__all__ = ["bp"]
