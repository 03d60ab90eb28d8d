"""Webhook and email work on the broker: the actors, and the relay round the scheduler runs.

`WebhookJobs` is built by `engine.jobs.runner.Jobs` on the same broker, so `relais worker`
runs these actors and `relais scheduler` (or the embedded scheduler) relays due rows.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq import Broker

from engine.db import Database, transaction
from webhooks import delivery, notices

log = logging.getLogger("relais.webhooks")


class WebhookJobs:
    def __init__(self, db: Database, broker: Broker):
        self.db = db
        self.send_webhook = dramatiq.actor(self._send_webhook, broker=broker,
                                           actor_name="relais_send_webhook", max_retries=0,
                                           queue_name="relais")
        self.send_notice = dramatiq.actor(self._send_notice, broker=broker,
                                          actor_name="relais_send_notice", max_retries=0,
                                          queue_name="relais")

    def _send_webhook(self, message_id: int) -> None:
        """At least once per broker message; `delivery.send` skips a live or finished one."""
        log.info("webhook message %s: %s", message_id, delivery.send(self.db, message_id))

    def _send_notice(self, notification_id: int) -> None:
        log.info("email notice %s: %s", notification_id, notices.send(self.db, notification_id))

    def tick(self) -> dict[str, Any]:
        """Relay due webhook messages and email notices to their actors."""
        with transaction(self.db) as uow:
            messages = delivery.claim_due(uow)
            due_notices = notices.claim_due(uow)
        for message_id in messages:
            self.send_webhook.send(message_id)
        for notification_id in due_notices:
            self.send_notice.send(notification_id)
        return {"webhooks": len(messages), "notices": len(due_notices)}
