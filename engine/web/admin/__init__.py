"""Administration pages (ADMIN role): deployed protocols, their versions, the BPMN modeler."""

from engine.web.admin.views import bp

__all__ = ["bp"]
