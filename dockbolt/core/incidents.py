"""What the watcher remembers in Redis: open incidents, mutes and where it is in the event stream.

- ``dockbolt:incident:<host>:<name>:<condition>``  hash: the incident's job id (its one message is an
  announcement in ``channel``, sent through the outbox), when it opened, how many events it has had, and
  its state; it expires ``cooldown`` after its last event — until then the same condition of the same
  container is this incident, never a new alert
- ``dockbolt:exits:<host>:<name>``  sorted set of exit times within the restart-loop window
- ``dockbolt:events:<host>``        the last event handled: its ``timeNano`` and the keys handled at it
- ``dockbolt:watcher:<host>``       set (with a TTL of a few intervals) while that host's watcher samples
- ``dockbolt:mutes``                hash pattern → mute (who, until, channel); ``dockbolt:mutes:until``
  sorted set pattern → until; ``dockbolt:mutes:held:<pattern>`` hash condition → alerts held back

A mute ends once, whoever ends it (`unmute`, or the watcher when its time is up): ``end`` removes it and
returns what was held only to the caller whose removal counted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from redis import Redis
from redis.typing import EncodableT, FieldT

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore
from dockbolt.core.mrkdwn import code
from dockbolt.core.outbox import Outbox

WATCHER_USER = "watcher"  # the job records of alerts name this "user"
MUTES = "dockbolt:mutes"
MUTES_UNTIL = "dockbolt:mutes:until"
ALL = "all"  # `mute all`: every container
WATCHERS = "dockbolt:watcher:"  # + host: set while that host's watcher samples


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Incident:
    """An open (or recently resolved) incident of one container and condition."""

    job_id: str
    channel: str
    opened: float
    events: int = 1
    state: str = "open"  # "open" | "resolved" | "loop" (a crash that became a restart loop)
    text: str = ""  # its first message as posted (an edit rewrites all of it)


@dataclass(frozen=True)
class Mute:
    """Alerts of containers matching ``pattern`` (a name, a glob, or "all") are held until ``until``."""

    pattern: str
    until: float
    by: str
    channel: str

    def covers(self, name: str) -> bool:
        """Whether the mute holds this container's alerts."""
        return self.pattern == ALL or fnmatchcase(name, self.pattern)


def mute_summary(mute: Mute, held: Mapping[str, int], *, ended_by: str = "") -> str:
    """When a mute ends (said by the bot on `unmute`, by the watcher when its time is up): alerts are on
    again, and what was held back meanwhile."""
    who = f"unmuted by <@{ended_by}>" if ended_by else "the mute has ended"
    what = "all containers" if mute.pattern == ALL else code(mute.pattern)
    counts = ", ".join(f"{n} {condition}" for condition, n in sorted(held.items())) or "none"
    return (f":bell: Alerts for {what} are on again ({who}; muted by <@{mute.by}>). "
            f"Held while muted: {counts}.")


def note(redis: Redis, job: JobRequest, text: str, status: JobStatus = JobStatus.DONE) -> None:
    """Record ``job`` as over already, its one message ``text`` announced in ``job.announce_in`` (a lock,
    a deploy CI announced, an alert): a deliverer posts it; it is never queued."""
    store, outbox = JobStore(redis), Outbox(redis)
    pipe = redis.pipeline()
    store.record_queued(job, pipe)
    outbox.announce(job.job_id, job.announce_in, text, pipe=pipe)
    pipe.execute()
    store.set_status(job.job_id, status)


def live_watchers(redis: Redis) -> list[str]:
    """The hosts whose watcher beat recently."""
    return sorted(_text(k).removeprefix(WATCHERS) for k in redis.scan_iter(match=f"{WATCHERS}*"))


class IncidentStore:
    """Incidents, exit windows and the event cursor of one Docker host."""

    def __init__(self, redis: Redis, host: str) -> None:
        self.redis, self.host = redis, host

    def _key(self, name: str, condition: str) -> str:
        return f"dockbolt:incident:{self.host}:{name}:{condition}"

    def get(self, name: str, condition: str) -> Incident | None:
        """The container's incident of this condition, if one is open or cooling down."""
        raw = self.redis.hgetall(self._key(name, condition))
        d = {_text(k): _text(v) for k, v in raw.items()}
        if "job_id" not in d:
            return None
        return Incident(job_id=d["job_id"], channel=d.get("channel", ""), opened=float(d.get("opened", 0)),
                        events=int(d.get("events", 1)), state=d.get("state", "open"), text=d.get("text", ""))

    def open(self, name: str, condition: str, incident: Incident, cooldown: int) -> bool:
        """Start an incident; False when one exists already (another event got there first)."""
        key = self._key(name, condition)
        fields: dict[FieldT, EncodableT] = {
            "job_id": incident.job_id, "channel": incident.channel, "opened": incident.opened,
            "events": incident.events, "state": incident.state, "text": incident.text}
        if not self.redis.hsetnx(key, "job_id", incident.job_id):
            return False
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping=fields)
        pipe.expire(key, max(cooldown, 1))
        pipe.execute()
        return True

    def update(self, name: str, condition: str, cooldown: int, *, state: str | None = None,
               text: str | None = None) -> int:
        """One more event of the incident (its cooldown starts again); the event count."""
        key = self._key(name, condition)
        pipe = self.redis.pipeline()
        pipe.hincrby(key, "events", 1)
        if state is not None:
            pipe.hset(key, "state", state)
        if text is not None:
            pipe.hset(key, "text", text)
        pipe.expire(key, max(cooldown, 1))
        return int(pipe.execute()[0])

    def exits(self, name: str, now: float, window: int) -> int:
        """Note an exit at ``now``; how many exits the container had within the last ``window`` s."""
        key = f"dockbolt:exits:{self.host}:{name}"
        pipe = self.redis.pipeline()
        pipe.zadd(key, {repr(now): now})
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.zcard(key)
        pipe.expire(key, window)
        return int(pipe.execute()[2])

    # -- the watcher itself ------------------------------------------------------------------------------
    def beat(self, ttl: float) -> None:
        """Say this host's watcher is alive for ``ttl`` seconds (`dockbolt check` looks)."""
        self.redis.set(f"{WATCHERS}{self.host}", "1", px=max(1, int(ttl * 1000)))

    # -- where the watcher is in the event stream --------------------------------------------------------
    def cursor(self) -> tuple[int, frozenset[str]]:
        """(timeNano of the last event handled, keys of the events handled at that very time); (0, ∅)."""
        raw = self.redis.get(f"dockbolt:events:{self.host}")
        if raw is None:
            return 0, frozenset()
        d = json.loads(raw)
        return int(d["nano"]), frozenset(d["keys"])

    def advance(self, nano: int, keys: frozenset[str]) -> None:
        """Remember the last event handled."""
        self.redis.set(f"dockbolt:events:{self.host}", json.dumps({"nano": nano, "keys": sorted(keys)}))


class MuteStore:
    """Mutes, shared by every host's watcher and the bot's `mute`/`unmute`."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def mute(self, mute: Mute) -> None:
        """Hold alerts for ``mute.pattern`` until ``mute.until`` (a mute of the same pattern is replaced,
        the alerts it held so far kept)."""
        pipe = self.redis.pipeline()
        record = {"until": mute.until, "by": mute.by, "channel": mute.channel}
        pipe.hset(MUTES, mute.pattern, json.dumps(record))
        pipe.zadd(MUTES_UNTIL, {mute.pattern: mute.until})
        pipe.execute()

    def all(self) -> list[Mute]:
        """Every mute, ended or not (the watcher ends those whose time is up)."""
        out = []
        for pattern, raw in self.redis.hgetall(MUTES).items():
            d = json.loads(raw)
            out.append(Mute(pattern=_text(pattern), until=float(d["until"]), by=str(d["by"]),
                            channel=str(d["channel"])))
        return sorted(out, key=lambda m: m.until)

    def holding(self, name: str, now: float) -> Mute | None:
        """The mute holding this container's alerts now, if any."""
        return next((m for m in self.all() if m.until > now and m.covers(name)), None)

    def hold(self, mute: Mute, condition: str) -> None:
        """Count an alert the mute held back."""
        self.redis.hincrby(f"{MUTES}:held:{mute.pattern}", condition, 1)

    def due(self, now: float) -> list[str]:
        """Patterns whose mute time is up."""
        return [_text(p) for p in self.redis.zrangebyscore(MUTES_UNTIL, "-inf", now)]

    def end(self, pattern: str) -> tuple[Mute, Mapping[str, int]] | None:
        """Remove the mute; (it, the alerts it held by condition) to the one caller that removed it."""
        held_key = f"{MUTES}:held:{pattern}"
        pipe = self.redis.pipeline()
        pipe.hget(MUTES, pattern)
        pipe.hgetall(held_key)
        pipe.zrem(MUTES_UNTIL, pattern)
        pipe.hdel(MUTES, pattern)
        pipe.delete(held_key)
        raw, held, removed, _, _ = pipe.execute()
        if not removed or raw is None:
            return None
        d = json.loads(raw)
        mute = Mute(pattern=pattern, until=float(d["until"]), by=str(d["by"]), channel=str(d["channel"]))
        return mute, {_text(k): int(v) for k, v in held.items()}
