"""The Docker hosts dockbolt knows: each worker registers its engine with a heartbeat.

- ``dockbolt:hosts``               hash host name → its last facts (JSON ``HostInfo``), kept a week after
  its last beat (a host that went away is listed as such, not forgotten at once)
- ``dockbolt:hosts:workers:<host>`` sorted set worker name → when its beat expires (Redis clock)

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


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


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

    def beat(self, info: HostInfo, worker: str) -> None:
        """Record ``info`` for its host, and ``worker`` as serving it for ``BEAT_TTL`` seconds."""
        now = redis_time(self.redis)
        stamped = json.dumps(asdict(HostInfo(**{**asdict(info), "seen": now})))
        key = WORKERS + info.name
        pipe = self.redis.pipeline()
        pipe.hset(HOSTS, info.name, stamped)
        pipe.expire(HOSTS, KEEP_SECONDS)
        pipe.zadd(key, {worker: now + BEAT_TTL})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.expire(key, int(BEAT_TTL) + 1)
        pipe.execute()

    def leave(self, host: str, worker: str) -> None:
        """A worker stopping: it no longer counts for its host."""
        self.redis.zrem(WORKERS + host, worker)

    def all(self) -> list[HostState]:
        """Every host seen in the last week, by name, with its live workers."""
        now = redis_time(self.redis)
        raw = self.redis.hgetall(HOSTS)
        names = sorted(_text(k) for k in raw)
        pipe = self.redis.pipeline()
        for name in names:
            pipe.zcount(WORKERS + name, now, "+inf")
        counts = pipe.execute()
        out = []
        for name, workers in zip(names, counts, strict=True):
            info = HostInfo(**json.loads(raw[name.encode()] if name.encode() in raw else raw[name]))
            if now - info.seen <= KEEP_SECONDS:
                out.append(HostState(info=info, workers=int(workers), now=now))
        return out
