"""Wiring: actors bound to a broker, the relay/scheduler loop, the in-process worker.

`Jobs` holds everything for one process: the database, the broker, the actor. `serve` in
embedded mode starts an in-process worker and the scheduler thread; production runs
`relais worker` and `relais scheduler` as separate processes sharing a Redis/RabbitMQ broker.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from dramatiq import Worker

from engine.audit import service as audit
from engine.db import Database, transaction
from engine.jobs import outbox
from engine.jobs.broker import make_broker
from engine.runtime import service as runtime
from webhooks.jobs import WebhookJobs

log = logging.getLogger("relais.jobs")

CHECKPOINT_EVERY = 500
CHECKPOINT_INTERVAL = timedelta(minutes=1)
RETENTION_EVERY = timedelta(hours=24)
OUTBOX_PURGE_EVERY = timedelta(hours=1)


class Jobs:
    def __init__(self, db: Database, broker_url: str | None):
        self.db = db
        self.broker = make_broker(broker_url)
        self.run_outbox = dramatiq.actor(self._run_outbox, broker=self.broker,
                                         actor_name="relais_run_outbox", max_retries=0,
                                         queue_name="relais")
        self.webhooks = WebhookJobs(db, self.broker)
        self._stop = threading.Event()
        self._last_retention: datetime | None = None
        self._last_outbox_purge: datetime | None = None

    def _run_outbox(self, item_id: int) -> None:
        """At least once per message; `outbox.run_item` makes the effect happen once."""
        outcome = outbox.run_item(self.db, item_id)
        log.info("outbox item %s: %s", item_id, outcome)

    def tick(self) -> dict[str, Any]:
        """One scheduler round: fire due timers, relay due outbox rows, checkpoint the log."""
        fired = 0
        with transaction(self.db) as uow:
            due = runtime.due_timers(uow)
        for instance_id in due:
            try:
                with transaction(self.db) as uow:
                    runtime.fire_timers(uow, instance_id)
                fired += 1
            except Exception:  # one broken instance must not stop the others
                log.exception("timer firing failed for instance %s", instance_id)
        with transaction(self.db) as uow:
            claimed = outbox.claim_due(uow)
        for item_id in claimed:
            self.run_outbox.send(item_id)
        self.webhooks.tick()
        self._maybe_checkpoint()
        self._maybe_sweep_retention()
        purged = self._maybe_purge_outbox()
        return {"timers": fired, "outbox": len(claimed), "outbox_purged": purged}

    def _maybe_purge_outbox(self) -> int:
        """Once an hour (database clock): delete outbox rows done for longer than the
        retention (`outbox.purge_finished`), in short batches; a failure is retried next round."""
        now = self.db.clock.now()
        if self._last_outbox_purge is not None \
                and now - self._last_outbox_purge < OUTBOX_PURGE_EVERY:
            return 0
        purged = 0
        try:
            while True:
                with transaction(self.db) as uow:
                    batch = outbox.purge_finished(uow)
                purged += batch
                if batch < 5000:
                    break
        except Exception:
            log.exception("outbox purge failed")
            return purged
        self._last_outbox_purge = now
        if purged:
            log.info("outbox: %s finished row(s) purged", purged)
        return purged

    def _maybe_sweep_retention(self) -> None:
        """Once a day (on the database clock): crypto-shred the cases whose retention ran
        out (`dossiers.rights.sweep_retention`); a failure is logged and retried next round."""
        from engine.audit.service import SYSTEM
        from engine.dossiers import rights

        now = self.db.clock.now()
        if self._last_retention is not None and now - self._last_retention < RETENTION_EVERY:
            return
        try:
            with transaction(self.db) as uow:
                sweep = rights.sweep_retention(uow, SYSTEM, dry_run=False)
        except Exception:
            log.exception("retention sweep failed")
            return
        self._last_retention = now
        if sweep.shredded:
            log.info("retention: %s case(s) crypto-shredded", len(sweep.shredded))

    def _maybe_checkpoint(self) -> None:
        """Bound the unsigned tail of the audit log in time and in rows (issue: a tail cut
        or rewritten after the last checkpoint goes unnoticed)."""
        with transaction(self.db) as uow:
            audit.checkpoint_if_due(uow, CHECKPOINT_INTERVAL, CHECKPOINT_EVERY)

    def run_scheduler(self, interval: float = 1.0) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler round failed")
            self._stop.wait(interval)

    def start_in_process(self, threads: int = 2) -> Worker:
        """Embedded mode: a worker and the scheduler in this process's threads."""
        worker = Worker(self.broker, worker_threads=threads, worker_timeout=200)
        worker.start()
        threading.Thread(target=self.run_scheduler, name="relais-scheduler", daemon=True).start()
        return worker

    def stop(self) -> None:
        self._stop.set()
