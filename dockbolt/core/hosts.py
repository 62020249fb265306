"""The Docker hosts dockbolt knows: each worker registers its engine with a heartbeat.

- ``dockbolt:hosts``               hash host name → its last facts (JSON ``HostInfo``), kept a week after
  its last beat (a host that went away is listed as such, not forgotten at once)
- ``dockbolt:hosts:workers:<host>`` sorted set worker name → when its beat expires (Redis clock)

Each host has its own queue (``host_queue``), served only by that host's workers: a command for `db1`
runs on db1 and nowhere else.

A worker beats every ``BEAT_EVERY`` seconds with what ``docker info`` says (engine version, OS, CPUs,
memory, running containers); a worker whose beats stop drops out of its host's count ``BEAT_TTL`` later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis import Redis

from dockbolt.core.jobstore import redis_time

HOSTS = "dockbolt:hosts"
WORKERS = "dockbolt:hosts:workers:"
BEAT_EVERY = 15.0
BEAT_TTL = 4 * BEAT_EVERY
KEEP_SECONDS = 7 * 86400


# Redis's time, then name, facts and live worker count of every host, in one call.
_ALL_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {t[1], t[2]}
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do
  out[#out + 1] = raw[i]
  out[#out + 1] = raw[i + 1]
  out[#out + 1] = redis.call('ZCOUNT', ARGV[1] .. raw[i], now, '+inf')
end
return out
"""


@dataclass(frozen=True)
class HostInfo:
    """What a host's engine said at its last beat."""

    name: str
    engine: str = ""  # ServerVersion
    os: str = ""
    cpus: int = 0
    memory: int = 0  # bytes
    running: int = 0  # containers running
    containers: int = 0  # containers in all
    seen: float = 0.0  # Redis time of the beat

    @classmethod
    def from_info(cls, name: str, info: dict[str, object]) -> HostInfo:
        """From ``docker info`` (the engine's own names)."""
        def num(key: str) -> int:
            value = info.get(key)
            return int(value) if isinstance(value, int | float) else 0

        return cls(name=name, engine=str(info.get("ServerVersion") or ""),
                   os=str(info.get("OperatingSystem") or ""), cpus=num("NCPU"), memory=num("MemTotal"),
                   running=num("ContainersRunning"), containers=num("Containers"))


@dataclass(frozen=True)
class HostState:
    """A host as listed: its facts and how many workers serve it now."""

    info: HostInfo
    workers: int
    now: float

    @property
    def age(self) -> float:
        """Seconds since its last beat."""
        return max(0.0, self.now - self.info.seen)


class HostRegistry:
    """Beats (workers) and the list (`hosts`)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._all = redis.register_script(_ALL_LUA)

    def beat(self, info: HostInfo, worker: str, ttl: float = BEAT_TTL) -> None:
        """Record ``info`` for its host, and ``worker`` as serving it for ``ttl`` seconds."""
        now = redis_time(self.redis)
        stamped = json.dumps(asdict(HostInfo(**{**asdict(info), "seen": now})))
        key = WORKERS + info.name
        pipe = self.redis.pipeline()
        pipe.hset(HOSTS, info.name, stamped)
        pipe.expire(HOSTS, KEEP_SECONDS)
        pipe.zadd(key, {worker: now + ttl})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.expire(key, int(ttl) + 1)
        pipe.execute()

    def leave(self, host: str, worker: str) -> None:
        """A worker stopping: it no longer counts for its host."""
        self.redis.zrem(WORKERS + host, worker)

    def all(self) -> list[HostState]:
        """Every host seen in the last week, by name, with its live workers (one round trip: this is read
        in the ack of every queued command)."""
        secs, micros, *flat = self._all(keys=[HOSTS], args=[WORKERS])
        now = int(secs) + int(micros) / 1e6
        states = [HostState(info=HostInfo(**json.loads(raw)), workers=int(n), now=now)
                  for raw, n in zip(flat[1::3], flat[2::3], strict=True)]
        return sorted((h for h in states if now - h.info.seen <= KEEP_SECONDS), key=lambda h: h.info.name)
