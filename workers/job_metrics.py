"""The worker's job metrics, observed in the parent process once a work horse has ended.

RQ runs each job in a forked work horse; whatever the horse counts dies with it. So the parent reads the
job's record (one Redis read per job) and observes ``dockbolt_job_duration_seconds{verb, status}`` from
the times the job itself wrote (started → ended). When the record has no end (the horse was killed, or
could not reach Redis) the parent's own measure of the horse's life stands in.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.exceptions import RedisError

from dockbolt.core.jobstore import JobStore
from dockbolt.core.metrics import JOB_DURATION
from workers.handlers import HANDLERS

log = logging.getLogger(__name__)


def observe_job(redis: Redis, job_id: str, horse_seconds: float) -> bool:
    """Observe the job's duration under its verb and status; False when there is nothing to observe (no
    record: a job refused before it was recorded, or expired) or Redis is unreachable."""
    try:
        rec = JobStore(redis).get(job_id)
    except (RedisError, ValueError) as exc:  # ValueError: a record that does not parse
        log.debug("job %s: duration not observed (%s)", job_id, exc)
        return False
    if rec is None:
        return False
    verb = rec.request.verb if rec.request.verb in HANDLERS else "unknown"
    if rec.started_at is not None and rec.ended_at is not None:
        seconds = max(0.0, rec.ended_at - rec.started_at)
    else:
        seconds = max(0.0, horse_seconds)
    JOB_DURATION.labels(verb=verb, status=str(rec.status)).observe(seconds)
    return True
