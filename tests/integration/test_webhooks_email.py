"""Email notices: a person chooses on their page; a document addressed to them is announced
by a real SMTP server on loopback (aiosmtpd) — a link and nothing else — at once or in the
daily digest; the outbox-like relay retries when the server is down; without
RELAIS_SMTP_URL nothing is kept and the page says so."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from helpers import csrf_from, login
from routing_support import TEMPLATES, sent
from sqlalchemy import select

from engine.db import transaction
from engine.documents.render import TEMPLATE_DIRS_ENV
from webhooks import notices
from webhooks.models import EmailNotification

PAGE = "/preferences/courriels"
PUBLIC = "https://relais.example"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _templates(monkeypatch):
    monkeypatch.setenv(TEMPLATE_DIRS_ENV, str(TEMPLATES))
    monkeypatch.setenv(notices.PUBLIC_URL_ENV, PUBLIC)


@pytest.fixture
def mailbox(monkeypatch) -> Iterator[tuple[Mailbox, Controller]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setenv(notices.SMTP_ENV, f"smtp://127.0.0.1:{controller.port}")
    try:
        yield box, controller
    finally:
        controller.stop()


def choose(client, address: str, document: str, task: str = "off"):
    token = csrf_from(client.get(PAGE).get_data(as_text=True))
    return client.post(PAGE, data={"csrf_token": token, "address": address,
                                   "mode_document": document, "mode_task": task})


def relay(db) -> list[str]:
    with transaction(db) as uow:
        due = notices.claim_due(uow)
    return [notices.send(db, notification_id) for notification_id in due]


def test_a_document_is_announced_at_once_with_a_link_and_nothing_else(client, db, mailbox):
    box, _server = mailbox
    login(client, "demo-asso")
    assert choose(client, "nadia@asso.example", "immediate").status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert 'value="nadia@asso.example"' in page and "non-configure" not in page
    sent(db)  # a sheet addressed to the association (role ASSOCIATION)
    assert relay(db) == ["sent"]
    [(to, mail)] = box.messages
    assert to == ["nadia@asso.example"]
    assert mail["Subject"] == "Un document vous attend dans Relais"
    assert mail.get_content().strip() == f"Un document vous attend dans Relais : {PUBLIC}/recus"
    assert relay(db) == []


def test_the_daily_digest_waits_for_the_morning_and_gathers_notices(client, db, clock,
                                                                     mailbox):
    box, _server = mailbox
    clock.set(datetime.fromisoformat("2026-12-01T09:00:00+00:00"))
    login(client, "demo-asso")
    choose(client, "nadia@asso.example", "digest")
    sent(db)
    assert relay(db) == []  # not before tomorrow morning
    clock.advance(hours=22)
    assert relay(db) == ["sent"]
    [(_to, mail)] = box.messages
    assert mail["Subject"] == "Relais : votre récapitulatif du jour"
    assert mail.get_content().strip() == f"Un document vous attend dans Relais : {PUBLIC}/recus"


def test_a_server_outage_is_retried_and_nothing_is_lost(client, db, clock, monkeypatch):
    port = _free_port()  # nothing listens there yet: the server is down
    monkeypatch.setenv(notices.SMTP_ENV, f"smtp://127.0.0.1:{port}")
    login(client, "demo-asso")
    choose(client, "nadia@asso.example", "immediate")
    sent(db)
    assert relay(db) == ["retry"]
    box = Mailbox()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    try:
        assert relay(db) == []  # not before its delay
        clock.advance(seconds=6)
        assert relay(db) == ["sent"]
    finally:
        server.stop()
    assert len(box.messages) == 1


def test_bad_choices_are_refused_in_french_and_nothing_is_saved(client, db, mailbox):
    login(client, "demo-asso")
    bad = choose(client, "pas-une-adresse", "immediate")
    assert bad.status_code == 422
    assert "Adresse électronique invalide" in bad.get_data(as_text=True)
    missing = choose(client, "", "digest")
    assert missing.status_code == 422 and "Indiquez l" in missing.get_data(as_text=True)
    assert choose(client, "a@b.example", "toujours").status_code == 422
    page = client.get(PAGE).get_data(as_text=True)
    assert 'value=""' in page
    sent(db)
    assert relay(db) == []


def test_without_smtp_nothing_is_kept_and_the_page_says_so(client, db, monkeypatch):
    monkeypatch.delenv(notices.SMTP_ENV, raising=False)
    assert client.get(PAGE).status_code == 302  # people only
    login(client, "demo-asso")
    choose(client, "nadia@asso.example", "immediate")
    assert "n'est\npas configuré" in client.get(PAGE).get_data(as_text=True)
    sent(db)
    with db.unit_of_work() as uow:
        assert uow.session.scalars(select(EmailNotification)).all() == []


def test_other_people_and_other_organisations_are_not_notified(client, db, mailbox):
    box, _server = mailbox
    login(client, "demo-is")  # the sender's side
    choose(client, "camille@iscg.example", "immediate", "immediate")
    sent(db)
    relay(db)
    subjects = [mail["Subject"] for _to, mail in box.messages]
    assert subjects and set(subjects) == {"Une tâche vous est attribuée"}  # her own tasks
    assert all(to == ["camille@iscg.example"] for to, _mail in box.messages)
