"""French pages: login (TOTP for administrators), home, protocols, tasks, documents."""

from engine.web.ui import figures as _figures_pages  # noqa: F401 - registers « Chiffres »
from engine.web.ui import filing as _filing_pages  # noqa: F401 - « Classer dans un dossier »
from engine.web.ui import itp as _itp_pages  # noqa: F401 - registers the ITP calendar
from engine.web.ui import rights as _rights_pages  # noqa: F401 - registers the rights' pages
from engine.web.ui import situations as _situation_pages  # noqa: F401 - registers them
from engine.web.ui import work as _work_pages  # noqa: F401 - registers the work pages
from engine.web.ui.views import bp

__all__ = ["bp"]
