"""Email notices for people: « Un document vous attend dans Relais », « Une tâche vous est
attribuée » — a link and nothing else, never a name or a situation detail.

Each person chooses per kind: off (default), at once, or in a daily digest, and gives the
address to write to. Notices are rows written in the transaction of the event, sent later by
an actor through the relay (leased like outbox rows, retried); nothing is sent from a request.
SMTP comes from RELAIS_SMTP_URL (`smtp://` or `smtps://`, credentials in the URL); unset, no
notice is kept or sent and the preference page says so.
"""

from __future__ import annotations

import os
import re
import smtplib
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from engine.db import Database, UnitOfWork, transaction
from engine.errors import ConfigurationError, Invalid
from engine.identity.models import Membership, User
from engine.identity.service import Principal
from engine.jobs.outbox import lease
from webhooks import leases
from webhooks.models import EmailContact, EmailNotification, EmailPreference

SMTP_ENV, FROM_ENV, PUBLIC_URL_ENV = "RELAIS_SMTP_URL", "RELAIS_SMTP_FROM", "RELAIS_PUBLIC_URL"
KINDS = {"document": ("Un document vous attend dans Relais", "/recus"),
         "task": ("Une tâche vous est attribuée", "/taches")}
MODES = {"off": "Ne pas me prévenir", "immediate": "Un courriel à chaque fois",
         "digest": "Un récapitulatif par jour"}
DIGEST_SUBJECT = "Relais : votre récapitulatif du jour"
DIGEST_AT = time(6, 0)  # UTC: before the working day in France
MAX_ATTEMPTS = 5
_ADDRESS = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,}$")


def smtp_configured() -> bool:
    return bool(os.environ.get(SMTP_ENV))


# --- preferences ---------------------------------------------------------------------------

def preferences(uow: UnitOfWork, principal: Principal) -> dict[str, Any]:
    contact = uow.session.get(EmailContact, principal.user_id)
    modes = {p.kind: p.mode for p in uow.session.scalars(
        select(EmailPreference).where(EmailPreference.user_id == principal.user_id))}
    return {"address": contact.address if contact else "",
            "modes": {kind: modes.get(kind, "off") for kind in KINDS}}


def set_preferences(uow: UnitOfWork, principal: Principal, address: str,
                    modes: dict[str, str]) -> None:
    """Save the person's own address and choices (French errors on bad input)."""
    address = address.strip()
    errors = [{"field": f"mode_{k}", "message": "Choix inconnu."}
              for k in KINDS if modes.get(k, "off") not in MODES]
    if address and not _ADDRESS.match(address):
        errors.append({"field": "address", "message": "Adresse électronique invalide."})
    if not address and any(modes.get(k, "off") != "off" for k in KINDS):
        errors.append({"field": "address", "message": "Indiquez l'adresse où vous écrire."})
    if errors:
        raise Invalid("Préférences non enregistrées : " + " ".join(e["message"] for e in errors),
                      errors)
    contact = uow.session.get(EmailContact, principal.user_id)
    if address:
        contact = contact or EmailContact(user_id=principal.user_id, address=address)
        contact.address = address
        uow.session.add(contact)
    elif contact is not None:
        uow.session.delete(contact)
    for kind in KINDS:
        row = uow.session.get(EmailPreference, (principal.user_id, kind))
        row = row or EmailPreference(user_id=principal.user_id, kind=kind)
        row.mode = modes.get(kind, "off")
        uow.session.add(row)


# --- notices owed --------------------------------------------------------------------------

def _next_digest(now: datetime) -> datetime:
    today = datetime.combine(now.date(), DIGEST_AT, tzinfo=now.tzinfo)
    return today if now < today else today + timedelta(days=1)


def notify(uow: UnitOfWork, kind: str, organisation_id: int | None, role: str | None) -> int:
    """Queue a notice for each person of the organisation (with that role, if given) who
    asked for this kind; returns how many."""
    if organisation_id is None or not smtp_configured():
        return 0
    stmt = (select(EmailPreference.user_id, EmailPreference.mode).distinct()
            .join(Membership, Membership.user_id == EmailPreference.user_id)
            .join(User, User.id == EmailPreference.user_id)
            .join(EmailContact, EmailContact.user_id == EmailPreference.user_id)
            .where(EmailPreference.kind == kind, EmailPreference.mode != "off",
                   Membership.organisation_id == organisation_id, User.active.is_(True)))
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    now = uow.now()
    rows = [EmailNotification(user_id=user_id, kind=kind, link=KINDS[kind][1],
                              digest=mode == "digest", status="pending", attempts=0,
                              next_attempt_at=_next_digest(now) if mode == "digest" else now,
                              created_at=now)
            for user_id, mode in uow.session.execute(stmt)]
    uow.session.add_all(rows)
    return len(rows)


def claim_due(uow: UnitOfWork, limit: int = 100) -> list[int]:
    return leases.release(uow, leases.claim(uow, EmailNotification,
                                            select(EmailNotification), limit))


# --- sending -------------------------------------------------------------------------------

def _start(db: Database, notification_id: int) -> tuple[list[int], EmailMessage] | None:
    """Lease the notice (and, for a digest, the person's other due digest notices)."""
    with transaction(db) as uow:
        row = leases.lock(uow, EmailNotification, notification_id)
        if row is None or row.status in ("sent", "failed") or leases.held(uow, row):
            return None
        batch = [row]
        if row.digest:
            batch += [n for n in uow.session.scalars(select(EmailNotification).where(
                EmailNotification.user_id == row.user_id, EmailNotification.digest.is_(True),
                EmailNotification.status == "pending", EmailNotification.id != row.id,
                EmailNotification.next_attempt_at <= uow.now() + lease()))]
        contact = uow.session.get(EmailContact, row.user_id)
        if contact is None:  # the person removed their address meanwhile
            for n in batch:
                n.status, n.last_error = "failed", "Plus d'adresse."
            return None
        for n in batch:
            n.status, n.attempts, n.next_attempt_at = "running", n.attempts + 1, \
                uow.now() + lease()
        return [n.id for n in batch], _compose(contact.address, sorted({n.kind for n in batch}),
                                               row.digest)


def _compose(address: str, kinds: list[str], digest: bool) -> EmailMessage:
    base = os.environ.get(PUBLIC_URL_ENV, "http://localhost:8000").rstrip("/")
    message = EmailMessage()
    message["To"] = address
    message["From"] = os.environ.get(FROM_ENV) or "relais@localhost"
    message["Subject"] = DIGEST_SUBJECT if digest else KINDS[kinds[0]][0]
    message.set_content("\n".join(f"{KINDS[k][0]} : {base}{KINDS[k][1]}" for k in kinds) + "\n")
    return message


def _smtp_send(message: EmailMessage) -> None:
    url = urlsplit(os.environ.get(SMTP_ENV, ""))
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigurationError(f"{SMTP_ENV} doit commencer par smtp:// ou smtps://.")
    kind = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with kind(url.hostname, url.port or (465 if url.scheme == "smtps" else 25),
              timeout=15) as smtp:
        if url.username:
            smtp.login(unquote(url.username), unquote(url.password or ""))
        smtp.send_message(message)


def send(db: Database, notification_id: int) -> str:
    """Send one notice (or one person's digest); returns what happened."""
    started = _start(db, notification_id)
    if started is None:
        return "skipped"
    ids, message = started
    try:
        _smtp_send(message)
        error = None
    except (OSError, smtplib.SMTPException, ConfigurationError) as exc:
        error = type(exc).__name__
    with transaction(db) as uow:
        outcome = "sent"
        for row in uow.session.scalars(select(EmailNotification).where(
                EmailNotification.id.in_(ids))):
            outcome = _finish(uow, row, error)
    return outcome


def _finish(uow: UnitOfWork, row: EmailNotification, error: str | None) -> str:
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", uow.now(), None
        return "sent"
    row.last_error = error
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        return "failed"
    row.status = "pending"
    row.next_attempt_at = uow.now() + timedelta(seconds=5 * 4 ** (row.attempts - 1))
    return "retry"
