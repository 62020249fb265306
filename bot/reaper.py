"""Notices jobs whose worker died (no heartbeat), and jobs no worker serves, and says so in their thread.

Each Docker host has its own queue; a job still queued after its host's workers vanished is told so, and
failed on its card after ``UNSERVED_FAIL_AFTER`` (the bot refuses new commands for such a host at once).

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
from dockbolt.core.contract import DEFAULT_QUEUE, JobStatus, host_queue
from dockbolt.core.fanout import FanOut, Part
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.jobstore import JobRecord, JobStore, redis_time
from dockbolt.core.outbox import Outbox
from dockbolt.core.periodic import Periodic

log = logging.getLogger(__name__)

STALE_AFTER = 20.0  # 4 missed heartbeats (workers beat every 5 s)
CHECK_EVERY = 5.0
UNSERVED_AFTER = 5.0  # seconds a job may wait with no live worker before its thread is told
UNSERVED_FAIL_AFTER = 300.0  # ... and before it is taken off the queue and failed


class Reaper:
    """Periodically reports running jobs whose heartbeat stopped, and queued jobs no worker serves."""

    def __init__(self, store: JobStore, outbox: Outbox, *, audit: AuditLog | None = None,
                 stale_after: float = STALE_AFTER, every: float = CHECK_EVERY,
                 fail_after: float = UNSERVED_FAIL_AFTER) -> None:
        self.store, self.outbox, self.audit = store, outbox, audit
        self.stale_after, self.fail_after = stale_after, fail_after
        self.hosts = HostRegistry(store.redis)
        self._loop = Periodic(self.run_once, every, "dockbolt-reaper")

    def run_once(self) -> list[str]:
        """Report every stale job once, and queued jobs nobody serves; return the ids reported."""
        return self._lost() + self._unserved()

    def _unserved(self) -> list[str]:
        """Each job waiting on a queue no live worker serves: told once after ``UNSERVED_AFTER`` s (it
        still runs if a worker starts), failed and taken off the queue after ``fail_after`` s."""
        told = []
        now = time.time()
        redis = self.store.redis
        queues = [(h.info.name, host_queue(h.info.name)) for h in self.hosts.all()] + [("", DEFAULT_QUEUE)]
        for host, name in queues:
            queue = Queue(name, connection=redis)
            if not queue.count or live_workers(redis, name) > 0:
                continue
            for job_id in queue.get_job_ids():
                rec = self.store.get(job_id)
                if rec is None or rec.status is not JobStatus.QUEUED:
                    continue
                waited = now - rec.request.queued_at
                if waited >= self.fail_after:
                    if self._fail(rec, queue, host or name, waited):
                        told.append(job_id)
                elif (waited >= UNSERVED_AFTER and not rec.request.parent
                      and self.store.first_time(job_id, "unserved")):
                    self.outbox.post(job_id, messages.no_worker(job_id, host or name, self.fail_after))
                    log.warning("job %s waits: no worker serves %s", job_id, name)
                    told.append(job_id)
        return told

    def _fail(self, rec: JobRecord, queue: Queue, host: str, waited: float) -> bool:
        """Take a job no worker took off its queue and fail it in its thread (once, whichever bot)."""
        job = rec.request
        if not self.store.first_time(job.job_id, "unserved-failed"):
            return False
        queue.remove(job.job_id)
        detail = f"no worker served {host}"
        self.store.set_status(job.job_id, JobStatus.FAILED, detail)
        if job.parent:
            FanOut(self.store.redis).finish(job, Part(host=host, ok=False, text=detail))
        else:
            self.outbox.post(job.job_id, messages.unserved_failed(job.job_id, host, waited))
            self.outbox.card(job.job_id, JobStatus.FAILED, detail=detail)
        log.warning("job %s failed: %s for %.0f s", job.job_id, detail, waited)
        if self.audit is not None:
            self.audit.record(AuditEvent.for_job(job, JobStatus.FAILED, None, detail))
        return True

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
            if rec.request.parent:  # one host's part of a fan-out: the merged reply says it
                FanOut(self.store.redis).finish(rec.request, Part(host=rec.request.host, ok=False,
                                                                  text="its worker died"))
            else:
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
