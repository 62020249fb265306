"""Accepting a job: record it, queue it and queue its card *before* the ack says so; Slack comes after.

"Accepted as job X" is a promise kept by Redis, not by this process's memory: ``accept`` records the job,
enqueues it and writes its card to the job's outbox in one MULTI/EXEC within the ack (a short Redis
bound; if Redis cannot take it, the ack says so and nothing is promised). The card is delivered after the
ack — right away by the lazy listener (``deliver``), or by any deliverer once Slack takes it — so a slow
or failing Slack delays the card, never the work, and a bot killed after the ack loses nothing.

What is queued is the signed envelope of the job (``dockbolt.core.jobsign``), the one argument of
``JOB_FUNC``; RQ's description names only the verb and the job id, never the command text (it may hold
secrets, e.g. `run -e PASSWORD=…`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk import WebClient

from bot import messages
from dockbolt.core.contract import JOB_FUNC, JobRequest, JobStatus
from dockbolt.core.fanout import FanOut
from dockbolt.core.incidents import note
from dockbolt.core.jobsign import sign
from dockbolt.core.jobstore import JobStore
from dockbolt.core.lanes import Lanes
from dockbolt.core.outbox import Outbox
from dockbolt.core.settings import Secret

log = logging.getLogger(__name__)

POLL = 0.05  # seconds between looks at whether a card is in the channel
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


class Dispatcher:
    """Accepts jobs (in the ack) and hands their cards to a deliverer (after it)."""

    def __init__(self, client: WebClient, redis: Redis, job_secret: Secret,
                 deliver: Callable[[str], object] | None = None) -> None:
        if not job_secret:
            raise ValueError("the dispatcher needs DOCKBOLT_JOB_SECRET to sign jobs")
        self.client = client
        self.redis = redis
        self.job_secret = job_secret
        self.store = JobStore(redis)
        self.outbox = Outbox(redis)
        self.lanes = Lanes(redis)
        self.fanout = FanOut(redis)
        self._deliver = deliver

    def accept(self, job: JobRequest, timeout: int, parts: Sequence[JobRequest] = ()) -> None:
        """Record the job, queue it on its host's queue and queue its card (raises RedisError: then nothing
        was promised). With ``parts`` (a fan-out), ``job`` only has the card: each part is queued on its
        own host's queue and the last one to finish posts the merged table (``dockbolt.core.fanout``)."""
        try:
            # One round trip (MULTI/EXEC): record, queued job(s), lane place and card exist together or not
            # at all.
            pipe = self.redis.pipeline()
            pipe.multi()  # explicit, so that RQ's enqueue joins it (it only calls multi() on a fresh one)
            self.store.record_queued(job, pipe)
            if parts:
                self.fanout.open(job.job_id, [p.host for p in parts], pipe)
                for part in parts:
                    self._enqueue(part, timeout, pipe)
                    self.store.record_queued(part, pipe)
            else:
                self._enqueue(job, timeout, pipe)
                self.lanes.join(job, pipe)
            self.outbox.card(job.job_id, JobStatus.QUEUED, closed_text=messages.not_in_channel(job.command),
                             pipe=pipe)
            pipe.execute()
        except RedisError:
            log.exception("could not queue job %s", job.job_id)
            raise

    def _enqueue(self, job: JobRequest, timeout: int, pipe: Pipeline) -> None:
        Queue(job.queue, connection=self.redis, serializer=JSONSerializer).enqueue_call(
            JOB_FUNC, args=(sign(job.to_dict(), self.job_secret),), job_id=job.job_id, timeout=timeout,
            result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
            description=f"{job.command} {job.verb} (job {job.job_id})", pipeline=pipe)

    def note(self, job: JobRequest, text: str, status: JobStatus) -> None:
        """Post ``text`` in ``job.announce_in`` as the one message of a job that is over already (a lock, a
        deploy CI announced, a webhook refused): recorded for a deliverer to send it, never queued."""
        note(self.redis, job, text, status)

    def deliver(self, job: JobRequest) -> None:
        """After the ack: send the job's card now if Slack takes it (otherwise a deliverer retries)."""
        if self._deliver is not None:
            self._deliver(job.job_id)

    def card_shown(self, job: JobRequest, within: float) -> bool:
        """``deliver`` the job's card (in a thread of its own: a slow Slack holds only that thread); True
        once the card is in the channel, False when it is not ``within`` seconds later (Slack slow or
        refusing, the bot not in the channel, Redis unreachable)."""
        sender = threading.Thread(target=self._deliver_logged, args=(job,), daemon=True,
                                  name=f"card-{job.job_id}")
        sender.start()
        deadline = time.monotonic() + within
        while True:
            try:
                ts = self.store.thread_of(job.job_id)
            except RedisError:
                return False
            if ts is not None or (left := deadline - time.monotonic()) <= 0:
                return bool(ts)  # "": it could not be posted
            if sender.is_alive():
                sender.join(min(POLL, left))
            else:  # another deliverer may hold the job's lock, or retry shortly
                time.sleep(min(POLL, left))

    def _deliver_logged(self, job: JobRequest) -> None:
        try:
            self.deliver(job)
        except RedisError as exc:  # the card waits in Redis for the next deliverer
            log.warning("card of job %s not delivered now: %s", job.job_id, exc)
        except Exception:
            log.exception("card of job %s not delivered now", job.job_id)

    def dispatch(self, job: JobRequest, timeout: int) -> None:
        """``accept`` then ``deliver``, in one call (for callers that are not a slash command)."""
        self.accept(job, timeout)
        self.deliver(job)
