"""French pages: login (with TOTP for administrators), logout, home."""

from engine.web.ui.views import bp

__all__ = ["bp"]
