"""Order per channel: one user's commands in one channel run one after another, in the order they were acked.

RQ hands jobs to whichever worker is free, so with several workers `run X` and a `rm -f X` acked right
after it could start together and the `rm` could find nothing to remove. Each (channel, user) has a
lane — a Redis list of its job ids in ack order, appended in the same MULTI/EXEC that queues the job — and
a worker starts a job only once it is at the head of its lane: the jobs before it have finished (each
leaves its lane when it ends) or are known gone (a final or missing record, or an RQ job that failed or
vanished without its worker saying so). Different channels, and different users, run in parallel.

- ``dockbolt:lane:<channel>:<user>``  list of job ids, oldest first
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis
from redis.client import Pipeline

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore

KEEP_SECONDS = 24 * 3600
POLL_EVERY = 0.1
# RQ's own word that a job will never run (or has run): its lane place can be given up.
_RQ_OVER = frozenset({b"finished", b"failed", b"stopped", b"canceled"})


def lane_key(channel_id: str, user_id: str) -> str:
    """The lane of one user's commands in one channel."""
    return f"dockbolt:lane:{channel_id}:{user_id}"


class Lanes:
    """Joins jobs to their lane (bot), waits for a job's turn and leaves the lane (worker)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.store = JobStore(redis)

    def join(self, job: JobRequest, pipe: Pipeline) -> None:
        """Queue the job's place behind the user's earlier jobs in this channel (on the accept's MULTI)."""
        key = lane_key(job.channel_id, job.user_id)
        pipe.rpush(key, job.job_id)
        pipe.expire(key, KEEP_SECONDS)

    def wait_turn(self, job: JobRequest, waiting: Callable[[str], None] = lambda _: None,
                  poll: float = POLL_EVERY) -> None:
        """Return once ``job`` is first in its lane (at once when it has no lane place: queued by other
        means). ``waiting`` is told the id of each earlier job it waits for, once each."""
        key = lane_key(job.channel_id, job.user_id)
        if self.redis.lpos(key, job.job_id) is None:
            return
        told: set[str] = set()
        while True:
            head = self.redis.lindex(key, 0)
            if head is None:
                return
            first = head.decode() if isinstance(head, bytes) else str(head)
            if first == job.job_id:
                return
            if not self._alive(first):
                self.redis.lrem(key, 1, first)
                continue
            if first not in told:
                told.add(first)
                waiting(first)
            time.sleep(poll)

    def _alive(self, job_id: str) -> bool:
        """Whether an earlier job may still run or be running (so later ones must wait for it)."""
        rec = self.store.get(job_id)
        if rec is None or rec.status.final:
            return False
        if rec.status is JobStatus.QUEUED:
            return self.redis.hget(f"rq:job:{job_id}", "status") not in (None, *_RQ_OVER)
        return True

    def leave(self, job: JobRequest) -> None:
        """Give up the job's place: the next job in the lane may start."""
        self.redis.lrem(lane_key(job.channel_id, job.user_id), 1, job.job_id)
