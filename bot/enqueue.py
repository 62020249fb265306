"""Accepting a job: record it and put it on the queue *before* the ack says so; the card comes after.

"Accepted as job X" is a promise kept by Redis, not by this process's memory: ``accept`` records and
enqueues within the ack (a short Redis bound; if Redis cannot take it, the ack says so and nothing is
promised). The card is posted after the ack by whoever gets there first, the bot's lazy listener or the
worker starting the job (``JobStore.claim_card``), so a slow or failing Slack delays the card, never the
work.

What is queued is the signed envelope of the job (``dockbolt.core.jobsign``), the one argument of
``JOB_FUNC``; RQ's description names only the verb and the job id, never the command text (it may hold
secrets, e.g. `run -e PASSWORD=…`).
"""

from __future__ import annotations

import dataclasses
import logging

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from dockbolt.core.contract import DEFAULT_QUEUE, JOB_FUNC, JobRequest, JobStatus
from dockbolt.core.jobsign import sign
from dockbolt.core.jobstore import JobStore
from dockbolt.core.jobthread import post_card, respond
from dockbolt.core.settings import Secret

log = logging.getLogger(__name__)

RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


class Dispatcher:
    """Accepts jobs (in the ack) and posts their cards (after it)."""

    def __init__(self, client: WebClient, redis: Redis, job_secret: Secret,
                 queue_name: str = DEFAULT_QUEUE) -> None:
        if not job_secret:
            raise ValueError("the dispatcher needs DOCKBOLT_JOB_SECRET to sign jobs")
        self.client = client
        self.job_secret = job_secret
        self.store = JobStore(redis)
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)

    def accept(self, job: JobRequest, timeout: int) -> None:
        """Record the job and put it on the queue (raises RedisError: then nothing was promised)."""
        try:
            # One round trip (MULTI/EXEC): the record and the queued job exist together or not at all.
            pipe = self.queue.connection.pipeline()
            self.queue.enqueue_call(JOB_FUNC, args=(sign(job.to_dict(), self.job_secret),), job_id=job.job_id,
                                    timeout=timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                                    description=f"{job.command} {job.verb} (job {job.job_id})", pipeline=pipe)
            self.store.record_queued(job, pipe)
            pipe.execute()
        except RedisError:
            log.exception("could not queue job %s", job.job_id)
            raise

    def post_card(self, job: JobRequest) -> JobRequest:
        """After the ack: post the queued card unless the worker got there first; the job with its thread."""
        if not self.store.claim_card(job.job_id):
            return dataclasses.replace(job, thread_ts=self.store.thread_of(job.job_id) or None)
        try:
            ts = post_card(self.client, job, JobStatus.QUEUED)
        except (SlackApiError, OSError) as exc:
            # Slack is failing: the job is queued all the same; the worker posts the card when it starts.
            log.warning("card for job %s not posted (%s); the worker will post it", job.job_id, exc)
            self.store.release_card(job.job_id)
            return job
        self.store.set_thread(job.job_id, ts or "")
        if ts is None:
            respond(job, messages.not_in_channel(job.command))
        return dataclasses.replace(job, thread_ts=ts)

    def dispatch(self, job: JobRequest, timeout: int) -> JobRequest:
        """``accept`` then ``post_card``, in one call (for callers that are not a slash command)."""
        self.accept(job, timeout)
        return self.post_card(job)
