"""The audit trail: every authorization decision and every job outcome, kept in Redis and logged.

Each event is one JSON object (``AuditEvent`` through the core codec), written twice:

- appended to the capped stream ``dockbolt:audit`` (``XADD … MAXLEN ~ maxlen``, 100,000 by default);
  besides the JSON (field ``e``) an entry carries the user (``u``) and the verb (``v``), on which a
  small Lua script filters inside Redis (a filtered query never pulls the whole stream into the client);
- logged as the same JSON on the logger ``dockbolt.audit`` at INFO, so the trail survives a Redis outage.

``record`` never raises into its caller: the log line is written first, and a failed ``XADD`` only logs a
warning (and pauses writes to Redis a while, see ``AuditLog``). Stream ids are Redis's own clock
(milliseconds), so ``since`` is measured against that clock.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from redis import Redis

from dockbolt.core.codec import decode, encode
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.errors import ContractError
from dockbolt.core.rbac import Decision

STREAM = "dockbolt:audit"
DEFAULT_MAXLEN = 100_000
# Seconds the stream is not tried after a failed write (the log line is always written).
DEFAULT_PAUSE = 30.0
# Entries one scan call reads in Redis: the first call is small (an unfiltered query is one call), later
# ones larger; at most a few milliseconds of Redis time each.
_FIRST_BATCH = 200
_MAX_BATCH = 1000
# Newest first from ARGV[1] (max id) down to ARGV[2] (min id), at most ARGV[3] entries: those whose user
# ("u") and verb ("v") match ARGV[4] and ARGV[5] ("" = any), at most ARGV[6] of them. Returns {id of the
# last entry looked at, how many were looked at, how many matched, their JSON ("e") unless ARGV[7] is
# "count"}.
_SCAN_LUA = """
local want, user, verb, keep = tonumber(ARGV[6]), ARGV[4], ARGV[5], ARGV[7] ~= 'count'
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
local out, matched = {'', #entries, 0}, 0
for _, entry in ipairs(entries) do
  out[1] = entry[1]
  local f, u, v, e = entry[2], nil, nil, nil
  for i = 1, #f, 2 do
    local k = f[i]
    if k == 'u' then u = f[i + 1] elseif k == 'v' then v = f[i + 1] elseif k == 'e' then e = f[i + 1] end
  end
  if e and (user == '' or u == user) and (verb == '' or v == verb) then
    matched = matched + 1
    if keep then out[#out + 1] = e end
    if matched >= want then break end
  end
end
out[3] = matched
return out
"""

AuditKind = Literal["decision", "job"]

audit_log = logging.getLogger("dockbolt.audit")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditEvent:
    """One audited fact: an authorization decision, or how a job ended.

    ``text`` is the command text as typed, already redacted by the caller. Decisions carry ``allowed``,
    ``rule`` (the rule that decided, as ``Decision.matched_rule``), ``roles`` and, when a job was
    accepted, its ``job_id``; jobs carry ``job_id``, ``outcome`` (a final ``JobStatus`` value),
    ``duration_s`` and ``detail`` (why it failed, in a few words).
    """

    kind: AuditKind
    user_id: str
    channel_id: str
    verb: str
    text: str = ""
    ts: float = field(default_factory=time.time)
    allowed: bool | None = None
    rule: str = ""
    roles: tuple[str, ...] = ()
    job_id: str | None = None
    outcome: str | None = None
    duration_s: float | None = None
    detail: str = ""

    @classmethod
    def for_decision(cls, decision: Decision, text: str, job_id: str | None = None) -> AuditEvent:
        """The event for one authorization decision (``text`` redacted; ``job_id`` when one was accepted)."""
        return cls(kind="decision", user_id=decision.user_id, channel_id=decision.channel_id,
                   verb=decision.verb, text=text, allowed=decision.allowed, rule=decision.matched_rule,
                   roles=decision.roles, job_id=job_id)

    @classmethod
    def for_job(cls, job: JobRequest, status: JobStatus, duration_s: float | None, detail: str = "",
                text: str = "") -> AuditEvent:
        """The event for a job's final status (``text`` redacted, or empty: its decision has the text)."""
        return cls(kind="job", user_id=job.user_id, channel_id=job.channel_id, verb=job.verb, text=text,
                   job_id=job.job_id, outcome=status.value, duration_s=duration_s, detail=detail)

    def to_json(self) -> str:
        """The event as one line of JSON (what is logged, stored and exported)."""
        return json.dumps(encode(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> AuditEvent:
        """Rebuild an event from ``to_json``; fields this version does not know are ignored."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ContractError("audit event: expected an object")
        known = {f.name for f in dataclasses.fields(cls)}
        return decode(cls, {k: v for k, v in data.items() if k in known}, "audit event")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class AuditLog:
    """Appends audit events to the capped stream (and the log); reads them back newest first.

    After a failed ``XADD`` the stream is not tried again for ``pause_after_failure`` seconds: during an
    outage at most one call per pause pays the client's connection retries (redis-py 8 retries ten times,
    about 3.5 s against a closed port), the others cost only the log line. The first success afterwards
    logs how many events are only in the log.
    """

    def __init__(self, redis: Redis, maxlen: int = DEFAULT_MAXLEN, stream: str = STREAM,
                 pause_after_failure: float = DEFAULT_PAUSE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.stream = stream
        self.pause_after_failure = pause_after_failure
        self.clock = clock
        self._scan = redis.register_script(_SCAN_LUA)
        self._paused_until: float | None = None
        # Events only in the log since the last failure (threads may race on it: it is only reported).
        self._missed = 0

    def record(self, event: AuditEvent) -> None:
        """Log the event as one JSON line, then append it to the stream; never raises."""
        try:
            line = event.to_json()
        except Exception as exc:  # auditing must never break the command it records
            log.warning("audit event not recorded: cannot encode %r (%s)", event, exc)
            return
        audit_log.info(line)
        paused_until = self._paused_until
        if paused_until is not None and self.clock() < paused_until:
            self._missed += 1
            return
        try:
            self.redis.xadd(self.stream, {"u": event.user_id, "v": event.verb, "e": line},
                            maxlen=self.maxlen, approximate=True)
        except Exception as exc:  # nor may a Redis outage
            self._missed += 1
            self._paused_until = self.clock() + self.pause_after_failure
            log.warning("audit event not stored in Redis (%s: %s); it is in the dockbolt.audit log, as are "
                        "the next %g s of events", type(exc).__name__, exc, self.pause_after_failure)
            return
        if self._missed:
            log.warning("audit trail stored in Redis again; %d event(s) are only in the dockbolt.audit log",
                        self._missed)
            self._missed, self._paused_until = 0, None

    def query(self, user: str | None = None, verb: str | None = None, since: float | None = None,
              limit: int = 50) -> list[AuditEvent]:
        """The newest ``limit`` events (newest first) of this user and verb since ``since`` (unix seconds)."""
        out: list[AuditEvent] = []
        for line in self._select(user, verb, since, limit)[1]:
            try:
                out.append(AuditEvent.from_json(line))
            except (ValueError, ContractError) as exc:
                log.warning("skipping an unreadable audit entry: %s", exc)
        return out

    def export_jsonl(self, user: str | None = None, verb: str | None = None, since: float | None = None,
                     limit: int = DEFAULT_MAXLEN) -> str:
        """The same selection as ``query`` as JSON Lines, oldest first: each stored line as it was logged."""
        return "".join(line + "\n" for line in reversed(self._select(user, verb, since, limit)[1]))

    def count(self, user: str | None = None, verb: str | None = None, since: float | None = None,
              limit: int = DEFAULT_MAXLEN) -> int:
        """How many events ``query`` (or ``export_jsonl``) would return, without fetching them."""
        if user is None and verb is None and since is None:
            return min(int(self.redis.xlen(self.stream)), limit)
        return self._select(user, verb, since, limit, count_only=True)[0]

    def _select(self, user: str | None, verb: str | None, since: float | None, limit: int,
                count_only: bool = False) -> tuple[int, list[str]]:
        """How many of the newest ``limit`` entries match, and their stored JSON (newest first).

        Filtering runs in Redis (``_SCAN_LUA``), a bounded batch per call, so a query that matches little
        neither pulls the whole stream through the client nor blocks Redis for long.
        """
        low = "-" if since is None else str(max(0, int(since * 1000)))
        high, batch = "+", _FIRST_BATCH
        matched, lines = 0, []
        while matched < limit:
            reply = self._scan(keys=[self.stream], args=[high, low, batch, user or "", verb or "",
                                                         limit - matched, "count" if count_only else ""])
            matched += int(reply[2])
            lines += [_text(line) for line in reply[3:]]
            if int(reply[1]) < batch:
                break
            high, batch = "(" + _text(reply[0]), min(batch * 2, _MAX_BATCH)
        return matched, lines
