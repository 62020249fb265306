"""The edge of the Bolt app: what a request passes after Bolt verified its signature, before any listener.

One Bolt middleware (``Edge``), registered after Bolt's own, so only signed requests reach it (Socket
Mode payloads arrive unsigned over the app's own websocket). In order, each refusal private and final:

1. Replays and retries: the request's signature and its trigger_id (which a copy of the command signed
   afresh still carries; the only key in Socket Mode, where nothing is signed) are remembered for
   ``SEEN_SECONDS``; a request with either seen before is answered "already received", nothing runs.
2. A slash command without ``user_id`` or ``channel_id`` (nobody to authorize, nowhere to answer).
3. Text over ``MAX_TEXT`` characters, refused before it is parsed.
4. The per-user command rate (``[policy] rate``), a sliding window over every command, refused or not by
   what follows; a command refused here is not counted.
5. The per-user share of the queue (``[policy] max_queued_per_user``), for queued verbs only: an
   admission is held in the job store from the ack until the lazy listener turns it into the job it
   became (``admitted``), so a burst of acks cannot all see room for one more.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot import messages
from bot.commands import CONTEXT_KEY
from bot.parsing import parse
from bot.verbs import VERBS
from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import UsageError
from dockbolt.core.guardrails import Guardrails, RateLimit
from dockbolt.core.jobstore import JobStore

log = logging.getLogger(__name__)

# Bolt accepts a timestamp up to 5 minutes either side of its clock, so a signature first seen now can
# stay valid for up to 10 minutes (when Slack's clock is ahead); after that Bolt refuses it by itself.
SEEN_SECONDS = 2 * 300
MAX_TEXT = 4000
ADMISSION_KEY = "dockbolt_admission"  # context: (user id, admission) for the lazy listener to settle

# Sliding-window log: prune, count, and add this command only when under the limit (atomic, so
# concurrent commands of one user cannot overshoot). Returns 0 when allowed, else the seconds until the
# oldest counted command leaves the window (as a string: Lua numbers become integers in replies).
_RATE_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(oldest[2] + ARGV[2] - ARGV[1])
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2] + 1)
return '0'
"""


class RateLimiter:
    """At most ``rate.count`` commands per user in any ``rate.per_seconds`` (a sliding window)."""

    def __init__(self, redis: Redis, rate: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self.clock = clock
        self._hit = redis.register_script(_RATE_LUA)

    def hit(self, user_id: str) -> float | None:
        """Count one command of the user; None when allowed, else the seconds until one would be."""
        wait = float(self._hit(keys=[f"dockbolt:rate:{user_id}"],
                               args=[self.clock(), self.rate.per_seconds, self.rate.count,
                                     secrets.token_hex(8)]))
        return wait if wait > 0 else None


def seen_keys(req: BoltRequest) -> list[str]:
    """What identifies a request across replays and retries: its signature and its trigger_id."""
    signature = req.headers.get("x-slack-signature", [""])[0]
    trigger_id = str(req.body.get("trigger_id") or "")
    return ([f"dockbolt:seen:sig:{signature}"] if signature else []) + (
        [f"dockbolt:seen:trigger:{trigger_id}"] if trigger_id else [])


def missing_fields(body: dict[str, Any]) -> list[str]:
    """The identifying fields a slash command lacks."""
    return [name for name in ("user_id", "channel_id") if not str(body.get(name) or "").strip()]


def is_queued(text: str) -> bool:
    """True when the text parses as a verb that runs as a job."""
    try:
        return VERBS[parse(text).verb].queued
    except UsageError:
        return False  # the listener answers it with the usage
    except Exception:  # a parser bug: the listener parses it again, logs it and answers an internal error
        return False


def private(text: str) -> BoltResponse:
    """The ack of a refused slash command: a private message."""
    return BoltResponse(status=200, body={"text": text, "response_type": "ephemeral"})


class Edge(Middleware):
    """The middleware (see the module docstring); ``admitted`` wraps the lazy listener."""

    def __init__(self, redis: Redis, guardrails: Guardrails, store: JobStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.guardrails = guardrails
        self.store = store
        self.limiter = RateLimiter(redis, guardrails.rate, clock)

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Answer a refused request here; otherwise let it through (``next``)."""
        if req.lazy_only:  # the same request again, for a lazy listener only (FaaS adapters)
            return next()
        command = "command" in req.body
        try:
            refusal = self._refusal(req, command)
        except RedisError as exc:
            log.warning("edge checks failed, Redis unreachable: %s", exc)
            refusal = "no Redis", messages.edge_unavailable()
        if refusal is None:
            return next()
        log.info("refused at the edge (%s): user %s", refusal[0], req.context.user_id or "?")
        return private(refusal[1]) if command else BoltResponse(status=200, body="")

    def _refusal(self, req: BoltRequest, command: bool) -> tuple[str, str] | None:
        """None to let the request through, else (why, for the log; the private answer)."""
        keys = seen_keys(req)
        if keys:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.set(key, 1, nx=True, ex=SEEN_SECONDS)
            if not all(pipe.execute()):
                return "seen before", messages.already_received()
        if not command:
            return None
        body = req.body
        missing = missing_fields(body)
        if missing:
            return "no " + " or ".join(missing), messages.missing_fields(missing)
        user_id, text = str(body["user_id"]), str(body.get("text") or "")
        if len(text) > MAX_TEXT:
            return f"text of {len(text)} characters", messages.text_too_long(len(text), MAX_TEXT)
        wait = self.limiter.hit(user_id)
        if wait is not None:
            in_flight = self.store.in_flight(user_id)
            return "rate", messages.slow_down_rate(str(self.guardrails.rate), wait, in_flight)
        if is_queued(text):
            limit = self.guardrails.max_queued_per_user
            admission, count = self.store.admit(user_id, limit)
            if admission is None:
                return "queue share", messages.slow_down_queue(count, limit)
            req.context[ADMISSION_KEY] = (user_id, admission)
        return None

    @contextmanager
    def admitted(self, context: BoltContext) -> Iterator[None]:
        """Around the lazy listener: the admission becomes the accepted job (or is dropped), and that job
        stops counting if dispatching it fails before it was queued."""
        held: tuple[str, str] | None = context.get(ADMISSION_KEY)
        accepted: tuple[JobRequest, int] | None = context.get(CONTEXT_KEY)
        job = accepted[0] if accepted is not None else None
        if held is None:
            yield
            return
        user_id, admission = held
        self._settle(user_id, admission, job)
        try:
            yield
        except Exception:
            if job is not None:
                self._settle(user_id, job.job_id, None)
            raise

    def _settle(self, user_id: str, held: str, job: JobRequest | None) -> None:
        try:
            self.store.settle(user_id, held, job)
        except RedisError:  # the admission goes stale by itself; dispatching reports Redis being down
            log.warning("could not settle the queue-share admission of %s", user_id, exc_info=True)
