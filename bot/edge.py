"""The edge of the Bolt app: what a request passes after Bolt verified its signature, before any listener.

One Bolt middleware (``Edge``), registered after Bolt's own, so only signed requests reach it (Socket
Mode payloads arrive unsigned over the app's own websocket). In order, each refusal private and final:

1. A slash command without ``user_id`` or ``channel_id`` (nobody to authorize, nowhere to answer).
2. Text over ``MAX_TEXT`` characters, refused before it is parsed.
3. Replays and retries: the request's signature and its trigger_id (which a copy of the command signed
   afresh still carries; the only key in Socket Mode, where nothing is signed) are remembered for
   ``SEEN_SECONDS``; a request with either seen before is answered "already received", nothing runs.
4. The per-user command rate (``[policy] rate``), a sliding window over every command, refused or not by
   what follows; a command refused here is not counted. 3 and 4 are one Redis round trip (a Lua script).
5. The per-user share of the queue (``[policy] max_queued_per_user``), for queued verbs only: an
   admission is held in the job store from the ack until the lazy listener turns it into the job it
   became (``admitted``), so a burst of acks cannot all see room for one more.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, RedisError
from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot import messages, metrics
from bot.commands import CONTEXT_KEY
from bot.parsing import parse
from bot.verbs import VERBS
from dockbolt.core.buttons import ACTION_CONFIRMED, ACTION_RUN, action_name
from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import UsageError
from dockbolt.core.guardrails import Guardrails, RateLimit
from dockbolt.core.jobstore import JobStore
from dockbolt.core.metrics import Outcome

log = logging.getLogger(__name__)

# Bolt accepts a timestamp up to 5 minutes either side of its clock, so a signature first seen now can
# stay valid for up to 10 minutes (when Slack's clock is ahead); after that Bolt refuses it by itself.
SEEN_SECONDS = 2 * 300
MAX_TEXT = 4000
ADMISSION_KEY = "dockbolt_admission"  # context: (user id, admission) for the lazy listener to settle
CLICK_REFUSED_KEY = "dockbolt_click_refused"  # context: why a click was refused here (said by its listener)

# One round trip for the Redis checks of a request. First the replay keys (KEYS[1..ARGV[5]]), each set
# if absent for ARGV[6] s: any already there → 'seen'. Then, when a rate key follows, the sliding-window
# log: prune, count, and add this command only when under the limit (atomic, so concurrent commands of
# one user cannot overshoot). Returns 'seen', '0' when allowed, else the seconds until the oldest counted
# command leaves the window (as a string: Lua numbers become integers in replies).
_EDGE_LUA = """
local n = tonumber(ARGV[5])
for i = 1, n do
  if not redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[6]) then return 'seen' end
end
if #KEYS == n then return '0' end
local key = KEYS[n + 1]
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return tostring(oldest[2] + ARGV[2] - ARGV[1])
end
redis.call('ZADD', key, ARGV[1], ARGV[4])
redis.call('EXPIRE', key, ARGV[2] + 1)
return '0'
"""
SEEN = -1.0  # what ``RateLimiter.check`` says of a request seen before
# The commands_total outcome of a refusal here, by its reason (any other: "refused").
_OUTCOMES: dict[str, Outcome] = {"seen before": "duplicate", "no Redis": "error"}


class RateLimiter:
    """At most ``rate.count`` commands per user in any ``rate.per_seconds`` (a sliding window), checked in
    the same Redis round trip as the request's replay keys."""

    def __init__(self, redis: Redis, rate: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self.clock = clock
        self._redis = redis
        self._check = redis.register_script(_EDGE_LUA)

    def check(self, user_id: str | None, seen: list[str]) -> float | None:
        """Mark ``seen`` keys, then count one command of ``user_id`` (None: not a command, no count).

        Returns SEEN when a key was already marked, None when allowed, else the seconds until it would be.
        """
        keys, args = self._keys_args(user_id, seen)
        return self.check_reply(self._check(keys=keys, args=args))

    def check_on(self, pipe: Pipeline, user_id: str | None, seen: list[str]) -> None:
        """``check`` as one command of ``pipe``; ``check_reply`` reads its reply.

        EVALSHA straight away: redis-py's Script on a pipeline asks SCRIPT EXISTS first (a round trip per
        request); the script is loaded at start-up (``load``) and again by ``Edge`` after a NOSCRIPT.
        """
        keys, args = self._keys_args(user_id, seen)
        pipe.evalsha(self._check.sha, len(keys), *keys, *args)

    def _keys_args(self, user_id: str | None, seen: list[str]) -> tuple[list[str], list[Any]]:
        keys = seen + ([f"dockbolt:rate:{user_id}"] if user_id is not None else [])
        return keys, [self.clock(), self.rate.per_seconds, self.rate.count, secrets.token_hex(8), len(seen),
                      SEEN_SECONDS]

    @staticmethod
    def check_reply(reply: Any) -> float | None:
        """SEEN, None (allowed) or the seconds to wait, from the reply of a ``check_on`` command."""
        text = reply.decode() if isinstance(reply, bytes) else str(reply)
        if text == "seen":
            return SEEN
        wait = float(text)
        return wait if wait > 0 else None

    def load(self) -> None:
        """Load the script into Redis (at start-up, and after Redis lost it)."""
        self._redis.script_load(_EDGE_LUA)

    def hit(self, user_id: str) -> float | None:
        """Count one command of the user; None when allowed, else the seconds until one would be."""
        return self.check(user_id, [])


def seen_keys(req: BoltRequest) -> list[str]:
    """What identifies a request across replays and retries: its signature and its trigger_id."""
    signature = req.headers.get("x-slack-signature", [""])[0]
    trigger_id = str(req.body.get("trigger_id") or "")
    return ([f"dockbolt:seen:sig:{signature}"] if signature else []) + (
        [f"dockbolt:seen:trigger:{trigger_id}"] if trigger_id else [])


def clicked_command(body: dict[str, Any]) -> tuple[str, str] | None:
    """(clicker, command text) of a click on one of the bot's run buttons or menus; None otherwise."""
    if body.get("type") != "block_actions":
        return None
    action = (body.get("actions") or [{}])[0]
    if action_name(str(action.get("action_id", ""))) not in (ACTION_RUN, ACTION_CONFIRMED):
        return None
    text = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    return str((body.get("user") or {}).get("id") or ""), str(text)


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
        with suppress(RedisError):  # Redis down at start-up: loaded on the first NOSCRIPT instead
            self._load_scripts()

    def _load_scripts(self) -> None:
        self.limiter.load()
        self.store.load_scripts()

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Answer a refused request here; otherwise let it through (``next``)."""
        if req.lazy_only:  # the same request again, for a lazy listener only (FaaS adapters)
            return next()
        command = "command" in req.body
        click = None if command else clicked_command(req.body)
        try:
            refusal = self._refusal(req, command, click)
        except RedisError as exc:
            log.warning("edge checks failed, Redis unreachable: %s", exc)
            refusal = "no Redis", messages.edge_unavailable()
        if refusal is None:
            return next()
        log.info("refused at the edge (%s): user %s", refusal[0], req.context.user_id or "?")
        if click is not None and refusal[0] != "seen before":  # its listener tells the clicker
            req.context[CLICK_REFUSED_KEY] = refusal[1]
            return next()
        if command:
            outcome = _OUTCOMES.get(refusal[0], "refused")
            metrics.count(str(req.body.get("text") or ""), outcome)
        return private(refusal[1]) if command else BoltResponse(status=200, body="")

    def _refusal(self, req: BoltRequest, command: bool,
                 click: tuple[str, str] | None) -> tuple[str, str] | None:
        """None to let the request through, else (why, for the log; the private answer). A click on a run
        button counts as a command of the clicker."""
        keys = seen_keys(req)
        if not command and (click is None or not click[0]):
            fresh = not keys or self.limiter.check(None, keys) != SEEN
            return None if fresh else ("seen before", messages.already_received())
        body = req.body
        missing = [] if click else missing_fields(body)
        if missing:
            return "no " + " or ".join(missing), messages.missing_fields(missing)
        user_id, text = click or (str(body["user_id"]), str(body.get("text") or ""))
        if len(text) > MAX_TEXT:
            return f"text of {len(text)} characters", messages.text_too_long(len(text), MAX_TEXT)
        # The replay keys, the rate and (for a queued verb) the queue share: one round trip.
        limit, queued = self.guardrails.max_queued_per_user, is_queued(text)

        def checks() -> tuple[list[Any], str | None]:
            pipe = self.redis.pipeline(transaction=False)
            self.limiter.check_on(pipe, user_id, keys)
            admission = self.store.admit_on(pipe, user_id, limit) if queued else None
            return pipe.execute(), admission

        try:
            replies, admission = checks()
        except NoScriptError:  # Redis restarted (or was flushed) since start-up: load and try again
            self._load_scripts()
            replies, admission = checks()
        wait = self.limiter.check_reply(replies[0])
        admitted, count = JobStore.admission_reply(replies[1]) if admission else (True, 0)
        if admission is not None and admitted and wait is not None:
            self.store.settle(user_id, admission)  # refused after all: give the place back
        if wait == SEEN:
            return "seen before", messages.already_received()
        if wait is not None:
            in_flight = self.store.in_flight(user_id)
            return "rate", messages.slow_down_rate(str(self.guardrails.rate), wait, in_flight)
        if not admitted:
            return "queue share", messages.slow_down_queue(count, limit)
        if admission is not None:
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
