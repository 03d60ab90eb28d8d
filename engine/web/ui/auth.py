"""Page authentication: the signed cookie carries only a random session id."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for

from engine.identity import service as identity
from engine.identity.errors import SessionExpired
from engine.web.context import uow


def load_principal() -> None:
    """Before each page: resume the session, or forget it if it ended."""
    sid = session.get("sid")
    if not sid:
        return
    try:
        g.principal = identity.resume_session(uow(), sid)
        uow().commit()
    except SessionExpired as exc:
        uow().commit()  # the expiry itself is recorded
        session.clear()
        flash(exc.message, "warning")


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("principal") is None:
            return redirect(url_for("ui.login", next=safe_next(request.full_path)))
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None) -> str | None:
    """Only local paths: never redirect a user to another site after login."""
    if not target:
        return None
    # Browsers read "\" as "/" and drop tabs and newlines: "/\evil.example" is another site.
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?") or None


def start_session(user_id: int, sid: str, next_url: str | None) -> Any:
    """A fresh cookie for a fresh session id: nothing of the anonymous session survives."""
    session.clear()
    session.permanent = True
    session["sid"] = sid
    session["uid"] = user_id
    return redirect(safe_next(next_url) or url_for("ui.home"))
