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

    def state(self, name: str) -> HostState | None:
        """One host as listed (None: never seen, or not for a week)."""
        return next((h for h in self.all() if h.info.name == name), None)

    def all(self) -> list[HostState]:
        """Every host seen in the last week, by name, with its live workers (two round trips: this is
        read in the ack of every queued command)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.time()
        pipe.hgetall(HOSTS)
        (secs, micros), raw = pipe.execute()
        now = secs + micros / 1e6
        infos = sorted((HostInfo(**json.loads(v)) for v in raw.values()), key=lambda i: i.name)
        infos = [i for i in infos if now - i.seen <= KEEP_SECONDS]
        pipe = self.redis.pipeline(transaction=False)
        for info in infos:
            pipe.zcount(WORKERS + info.name, now, "+inf")
        counts = pipe.execute() if infos else []
        return [HostState(info=i, workers=int(n), now=now) for i, n in zip(infos, counts, strict=True)]
