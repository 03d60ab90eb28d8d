"""Administration pages (ADMIN role): deployed protocols, their versions, the BPMN modeler."""

from engine.web.admin import lifecycle  # noqa: F401  (registers its routes on bp)
from engine.web.admin.views import bp

__all__ = ["bp"]
