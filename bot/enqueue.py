"""After the ack: post the job card, record the job, put it on the queue (RQ, JSON, by import string).

What is queued is the signed envelope of the job (``dockbolt.core.jobsign``), the one argument of
``JOB_FUNC``; RQ's description names only the verb and the job id, never the command text (it may hold
secrets, e.g. `run -e PASSWORD=…`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import messages
from dockbolt.core.card import build_card
from dockbolt.core.contract import DEFAULT_QUEUE, JOB_FUNC, JobRequest, JobStatus
from dockbolt.core.jobsign import sign
from dockbolt.core.jobstore import JobStore
from dockbolt.core.jobthread import FALLBACK_ERRORS, post_in_thread, respond, update_card
from dockbolt.core.settings import Secret

log = logging.getLogger(__name__)

RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600


class Dispatcher:
    """Posts the card and enqueues; runs in Bolt's lazy listener, after Slack got its ack."""

    def __init__(self, client: WebClient, redis: Redis, job_secret: Secret,
                 queue_name: str = DEFAULT_QUEUE) -> None:
        if not job_secret:
            raise ValueError("the dispatcher needs DOCKBOLT_JOB_SECRET to sign jobs")
        self.client = client
        self.job_secret = job_secret
        self.store = JobStore(redis)
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)

    def post_card(self, job: JobRequest) -> str | None:
        """Post the queued card; return its ts, or None when the channel is closed to the bot."""
        c = build_card(job_id=job.job_id, user_id=job.user_id, command=job.command,
                       command_text=job.command_text, status=JobStatus.QUEUED)
        try:
            resp = self.client.chat_postMessage(channel=job.channel_id, text=c.text, blocks=c.blocks,
                                                metadata=c.metadata, unfurl_links=False)
        except SlackApiError as exc:
            if exc.response.get("error") not in FALLBACK_ERRORS:
                raise
            log.info("card for job %s not posted (%s); falling back to response_url",
                     job.job_id, exc.response.get("error"))
            respond(job, messages.not_in_channel(job.command))
            return None
        ts = resp.get("ts")
        return str(ts) if ts else None

    def dispatch(self, job: JobRequest, timeout: int) -> JobRequest:
        """Post the card, record and enqueue the job; returns the job with its thread."""
        job = dataclasses.replace(job, thread_ts=self.post_card(job))
        try:
            self.store.record_queued(job)
            self.queue.enqueue(JOB_FUNC, sign(job.to_dict(), self.job_secret), job_id=job.job_id,
                               job_timeout=timeout, result_ttl=RESULT_TTL, failure_ttl=FAILURE_TTL,
                               description=f"{job.command} {job.verb} (job {job.job_id})")
        except RedisError:
            log.exception("could not queue job %s", job.job_id)
            post_in_thread(self.client, job, messages.queue_unavailable(job.job_id))
            update_card(self.client, job, JobStatus.FAILED, detail="queue unreachable")
            with contextlib.suppress(RedisError):  # recorded but not queued: end it (frees the queue share)
                self.store.set_status(job.job_id, JobStatus.FAILED, "queue unreachable")
        return job
