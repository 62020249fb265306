"""Our own record of jobs in Redis: request, status, timestamps, heartbeats.

RQ forgets a finished job after ``result_ttl`` (500 s by default), but users ask about old jobs (`jobs`)
and the reaper must find jobs whose worker died, so both sides keep this small record:

- ``dockbolt:job:<id>``           hash: request JSON (its thread_ts is the card), status, timestamps, detail
- ``dockbolt:user:<uid>:jobs``    sorted set of the user's job ids by queue time (last 50 kept)
- ``dockbolt:heartbeats``         sorted set job id → last heartbeat (Redis server time) while a job runs
- ``dockbolt:user:<uid>:inflight`` sorted set of what counts against the user's share of the queue, scored
  by when the entry goes stale: job ids from queued until final (stale INFLIGHT_STALE_SECONDS after it was
  queued or started), and admissions — a command the bot acked as queued whose job is not recorded yet
  (stale after ADMISSION_SECONDS; ``settle`` turns one into its job). Stale entries (a bot or worker that
  died mid-way) are pruned whenever the set is counted, so a leak never locks a user out for long.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.typing import EncodableT, FieldT

from dockbolt.core.contract import JobRequest, JobStatus

KEEP_SECONDS = 7 * 24 * 3600
KEEP_PER_USER = 50
HEARTBEATS = "dockbolt:heartbeats"
INFLIGHT_STALE_SECONDS = 3 * 300  # a few times the longest job timeout (`run`, 300 s)
ADMISSION_SECONDS = 60  # an ack's admission is settled by the lazy listener within seconds
ADMISSION_PREFIX = "admission:"

# Prune, count, and add an admission when the count is under the limit: one atomic step, so concurrent
# acks for one user cannot all see room for one more. Returns {admitted 0/1, count before}.
_ADMIT_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {1, n}
"""


# ``thread_ts`` when the card could not be posted (not in the channel): replies go to the response_url.
NO_THREAD = "-"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _job_key(job_id: str) -> str:
    return f"dockbolt:job:{job_id}"


def _user_key(user_id: str) -> str:
    return f"dockbolt:user:{user_id}:jobs"


def _inflight_key(user_id: str) -> str:
    return f"dockbolt:user:{user_id}:inflight"


# One clock for every host: a beat is stamped with the server's TIME ("seconds.micro", exact as a score).
_HEARTBEAT_LUA = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], t[1] .. '.' .. string.format('%06d', tonumber(t[2])), ARGV[1])
"""


def redis_time(redis: Redis) -> float:
    """The Redis server's clock (``TIME``) in unix seconds: what heartbeats and staleness are measured on."""
    seconds, micros = redis.time()
    return float(f"{seconds}.{micros:06d}")  # parsed like Redis parses the beat's score


@dataclass(frozen=True)
class JobRecord:
    """What we know about one job."""

    request: JobRequest
    status: JobStatus
    started_at: float | None
    ended_at: float | None
    detail: str

    def summary(self) -> dict[str, Any]:
        """Return the dict the `jobs` verb formats."""
        return {
            "job_id": self.request.job_id,
            "command_text": self.request.command_text,
            "verb": self.request.verb,
            "status": self.status,
            "queued_at": self.request.queued_at,
            "ended_at": self.ended_at,
            "channel_id": self.request.channel_id,
        }


def _record(raw: dict[Any, Any]) -> JobRecord | None:
    """A job's record from its hash (HGETALL), or None when unknown, expired, or only a status written
    for a job never recorded."""
    d = {_text(k): _text(v) for k, v in raw.items()}
    if "request" not in d:
        return None
    request = JobRequest.from_dict(json.loads(d["request"]))
    if d.get("thread_ts", NO_THREAD) != NO_THREAD:  # the card, posted after the job was queued
        request = dataclasses.replace(request, thread_ts=d["thread_ts"])
    return JobRecord(
        request=request,
        status=JobStatus(d.get("status", JobStatus.QUEUED)),
        started_at=float(d["started_at"]) if d.get("started_at") else None,
        ended_at=float(d["ended_at"]) if d.get("ended_at") else None,
        detail=d.get("detail", ""),
    )


class JobStore:
    """Reads and writes job records; every method is one or two Redis round trips."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._admit = redis.register_script(_ADMIT_LUA)

    def record_queued(self, req: JobRequest, pipe: Pipeline | None = None) -> None:
        """Record a freshly accepted job and index it under its user (on ``pipe``, sent by the caller, when
        given: the bot records and enqueues in one round trip)."""
        key = _job_key(req.job_id)
        own = pipe is None
        pipe = self.redis.pipeline() if pipe is None else pipe
        # The record keeps everything but the args: they may hold `-e` values, which live only in the
        # signed job (the card, the job list and the reaper need none of them).
        kept = dataclasses.replace(req, args={})
        fields: dict[FieldT, EncodableT] = {"request": json.dumps(kept.to_dict()),
                                            "status": JobStatus.QUEUED.value, "detail": ""}
        pipe.hset(key, mapping=fields)
        pipe.expire(key, KEEP_SECONDS)
        ukey = _user_key(req.user_id)
        pipe.zadd(ukey, {req.job_id: req.queued_at})
        pipe.zremrangebyrank(ukey, 0, -KEEP_PER_USER - 1)
        pipe.expire(ukey, KEEP_SECONDS)
        ikey = _inflight_key(req.user_id)
        pipe.zadd(ikey, {req.job_id: req.queued_at + INFLIGHT_STALE_SECONDS})
        pipe.expire(ikey, INFLIGHT_STALE_SECONDS)
        if own:
            pipe.execute()

    def set_status(self, job_id: str, status: JobStatus, detail: str = "",
                   request: JobRequest | None = None) -> None:
        """Set a job's status; a final status also stamps the end time and stops heartbeat tracking.

        With ``request`` (the worker starting a job), a job no bot recorded (queued by other means) gets
        its record too: the outbox's deliverer finds the channel and the card's text there.

        Running restarts the job's in-flight entry's clock; a final status removes it (the record names
        the user; a record already expired has no entry left to remove).
        """
        now = redis_time(self.redis)  # one clock for start and end, whichever host writes them
        fields: dict[FieldT, EncodableT] = {"status": status.value, "detail": detail}
        if status is JobStatus.RUNNING:
            fields["started_at"] = now
        if status.final:
            fields["ended_at"] = now
        user_id = self._user_of(job_id)
        pipe = self.redis.pipeline()
        if request is not None:
            kept = dataclasses.replace(request, args={}, thread_ts=None)
            pipe.hsetnx(_job_key(job_id), "request", json.dumps(kept.to_dict()))
            pipe.expire(_job_key(job_id), KEEP_SECONDS)
        pipe.hset(_job_key(job_id), mapping=fields)
        if status.final:
            pipe.zrem(HEARTBEATS, job_id)
        if user_id and status.final:
            pipe.zrem(_inflight_key(user_id), job_id)
        elif user_id and status is JobStatus.RUNNING:
            pipe.zadd(_inflight_key(user_id), {job_id: now + INFLIGHT_STALE_SECONDS}, xx=True)
            pipe.expire(_inflight_key(user_id), INFLIGHT_STALE_SECONDS)
        pipe.execute()

    def _user_of(self, job_id: str) -> str | None:
        raw = self.redis.hget(_job_key(job_id), "request")
        if raw is None:
            return None
        user_id = json.loads(_text(raw)).get("user_id")
        return str(user_id) if user_id else None

    def in_flight(self, user_id: str) -> int:
        """How many of the user's jobs are queued or running (plus admissions not yet settled)."""
        key = _inflight_key(user_id)
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", time.time())
        pipe.zcard(key)
        return int(pipe.execute()[1])

    def admit(self, user_id: str, limit: int) -> tuple[str | None, int]:
        """Hold a place for one more of the user's jobs unless ``limit`` are in flight.

        Returns (the admission to ``settle``, or None when refused; how many were in flight before).
        """
        admission = ADMISSION_PREFIX + secrets.token_hex(8)
        now = time.time()
        admitted, count = self.admission_reply(self._admit(
            keys=[_inflight_key(user_id)], args=[now, limit, now + ADMISSION_SECONDS, admission,
                                                 INFLIGHT_STALE_SECONDS]))
        return (admission if admitted else None), count

    def admit_on(self, pipe: Pipeline, user_id: str, limit: int) -> str:
        """``admit`` as one command of ``pipe`` (sent with other checks in one round trip); returns the
        admission, whose fate ``admission_reply`` reads from that command's reply."""
        admission = ADMISSION_PREFIX + secrets.token_hex(8)
        now = time.time()
        # EVALSHA straight away (a Script on a pipeline would ask SCRIPT EXISTS first, a round trip);
        # the caller loads the script (``load_scripts``) and retries after a NOSCRIPT.
        pipe.evalsha(self._admit.sha, 1, _inflight_key(user_id), now, limit, now + ADMISSION_SECONDS,
                     admission, INFLIGHT_STALE_SECONDS)
        return admission

    def load_scripts(self) -> None:
        """Load the store's Lua scripts into Redis (for callers that run them on a pipeline)."""
        self.redis.script_load(_ADMIT_LUA)

    @staticmethod
    def admission_reply(reply: Any) -> tuple[bool, int]:
        """(admitted, how many were in flight before) from the reply of an ``admit_on`` command."""
        admitted, count = reply
        return bool(admitted), int(count)

    def settle(self, user_id: str, held: str, job: JobRequest | None = None) -> None:
        """Replace what ``held`` (an admission, or a job that was never queued) by ``job``, or drop it."""
        key = _inflight_key(user_id)
        pipe = self.redis.pipeline()  # MULTI/EXEC: the place is never counted twice or not at all
        pipe.zrem(key, held)
        if job is not None:
            pipe.zadd(key, {job.job_id: job.queued_at + INFLIGHT_STALE_SECONDS})
            pipe.expire(key, INFLIGHT_STALE_SECONDS)
        pipe.execute()

    def heartbeat(self, job_id: str) -> None:
        """Mark a running job as alive now, on the Redis server's clock (the worker's host may drift)."""
        self.redis.eval(_HEARTBEAT_LUA, 1, HEARTBEATS, job_id)

    def stale(self, older_than: float) -> list[str]:
        """Return ids of running jobs whose last heartbeat is older than ``older_than`` seconds, measured
        on the Redis server's clock like the beats themselves (the reaper's host clock plays no part)."""
        cutoff = redis_time(self.redis) - older_than
        return [_text(m) for m in self.redis.zrangebyscore(HEARTBEATS, 0, cutoff)]

    def claim_lost(self, job_id: str) -> bool:
        """Atomically claim a stale job for reporting; only one reaper wins."""
        return bool(self.redis.zrem(HEARTBEATS, job_id))

    def get(self, job_id: str) -> JobRecord | None:
        """Return the record of a job, or None when unknown or expired."""
        return _record(self.redis.hgetall(_job_key(job_id)))

    def first_time(self, job_id: str, what: str) -> bool:
        """True once per job and ``what`` (a notice posted once, whichever bot process gets there)."""
        return bool(self.redis.set(f"dockbolt:once:{what}:{job_id}", "1", nx=True, ex=KEEP_SECONDS))

    def set_thread(self, job_id: str, thread_ts: str) -> None:
        """Record where the job's card is ("" when it could not be posted: report by response_url)."""
        self.redis.hset(_job_key(job_id), "thread_ts", thread_ts or NO_THREAD)

    def thread_of(self, job_id: str) -> str | None:
        """The card's ts; "" when it could not be posted; None while nobody has posted it yet."""
        raw = self.redis.hget(_job_key(job_id), "thread_ts")
        if raw is None:
            return None
        ts = _text(raw)
        return "" if ts == NO_THREAD else ts

    def set_announce(self, job_id: str, ts: str) -> None:
        """Record where the job's announcement is (its channel is the job's ``announce_in``)."""
        self.redis.hset(_job_key(job_id), "announce_ts", ts)

    def announce_of(self, job_id: str) -> str | None:
        """The announcement's ts, or None while it is not posted."""
        raw = self.redis.hget(_job_key(job_id), "announce_ts")
        return None if raw is None else _text(raw)

    def recent_for_user(self, user_id: str, limit: int = 10, start: int = 0) -> list[JobRecord]:
        """Return the user's most recent jobs, newest first (``limit`` of them, from the ``start``-th)."""
        ids = self.redis.zrevrange(_user_key(user_id), start, start + limit - 1)
        pipe = self.redis.pipeline(transaction=False)  # one round trip, not one per job
        for raw_id in ids:
            pipe.hgetall(_job_key(_text(raw_id)))
        return [rec for rec in map(_record, pipe.execute()) if rec is not None]
