"""Notices jobs whose worker died (no heartbeat), and jobs no worker serves, and says so in their thread.

RQ alone would leave such a job "started" until another worker's maintenance pass (every 10 minutes),
and never tell anyone if no other worker serves the queue. The reaper runs in the bot process, which is
always up, and claims each lost job atomically so several bots never report it twice. Its notices go
through the Slack outbox like every other report on a job.
"""

from __future__ import annotations

import logging
import time

from rq import Queue

from bot import messages
from bot.liveness import live_workers
from dockbolt.core.audit import AuditEvent, AuditLog
from dockbolt.core.contract import DEFAULT_QUEUE, JobStatus
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.outbox import Outbox
from dockbolt.core.periodic import Periodic

log = logging.getLogger(__name__)

STALE_AFTER = 20.0  # 4 missed heartbeats (workers beat every 5 s)
CHECK_EVERY = 5.0
UNSERVED_AFTER = 5.0  # seconds a job may wait with no live worker before its thread is told


class Reaper:
    """Periodically reports running jobs whose heartbeat stopped."""

    def __init__(self, store: JobStore, outbox: Outbox, *, audit: AuditLog | None = None,
                 stale_after: float = STALE_AFTER, every: float = CHECK_EVERY,
                 queue: str = DEFAULT_QUEUE) -> None:
        self.store, self.outbox, self.audit, self.queue = store, outbox, audit, queue
        self.stale_after = stale_after
        self._told: set[str] = set()  # queued jobs already told (or too old to tell): not looked up again
        self._loop = Periodic(self.run_once, every, "dockbolt-reaper")

    def run_once(self) -> list[str]:
        """Report every stale job once, and queued jobs nobody serves; return the ids reported."""
        return self._lost() + self._unserved()

    def _unserved(self) -> list[str]:
        """Tell each job waiting with no live worker on its queue, once (it still runs when one starts)."""
        if live_workers(self.store.redis, self.queue) > 0:
            return []
        told = []
        now = time.time()
        queued = Queue(self.queue, connection=self.store.redis).get_job_ids()
        self._told &= set(queued)  # forget jobs that left the queue
        for raw in queued:
            if raw in self._told:
                continue
            rec = self.store.get(raw)
            waiting = rec is not None and rec.status is JobStatus.QUEUED
            if rec is not None and waiting and now - rec.request.queued_at < UNSERVED_AFTER:
                continue  # not yet: looked at again next time
            self._told.add(raw)
            if rec is None or not waiting or not self.store.first_time(rec.request.job_id, "unserved"):
                continue
            self.outbox.post(rec.request.job_id, messages.no_worker(rec.request.job_id, self.queue))
            log.warning("job %s waits: no worker serves queue %s", rec.request.job_id, self.queue)
            told.append(rec.request.job_id)
        return told

    def _lost(self) -> list[str]:
        reported = []
        for job_id in self.store.stale(self.stale_after):
            if not self.store.claim_lost(job_id):
                continue  # another reaper got it, or the job just finished
            rec = self.store.get(job_id)
            if rec is None or rec.status.final:
                continue
            self.store.set_status(job_id, JobStatus.LOST, "worker died")
            elapsed = (None if rec.started_at is None
                       else max(0.0, redis_time(self.store.redis) - rec.started_at))
            self.outbox.post(job_id, messages.worker_lost(job_id, self.stale_after))
            self.outbox.card(job_id, JobStatus.LOST, elapsed=elapsed, detail="worker died")
            if rec.request.announce_in:  # a deploy: its announcement must not keep saying "started"
                self.outbox.announce(job_id, rec.request.announce_in, messages.deploy_lost(rec.request))
            log.warning("job %s lost: worker heartbeat stopped", job_id)
            if self.audit is not None:
                self.audit.record(AuditEvent.for_job(rec.request, JobStatus.LOST, elapsed, "worker died"))
            reported.append(job_id)
        return reported

    def start(self) -> Reaper:
        """Check in a daemon thread every few seconds."""
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop checking."""
        self._loop.stop()
