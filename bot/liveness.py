"""Is anyone serving the queues? Live RQ workers per host queue, by Redis's clock (for /healthz, the
reaper, `dockbolt check`)."""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, worker_registration

from dockbolt.core.contract import host_queue
from dockbolt.core.hosts import HostRegistry


def live_workers(redis: Redis, queue: str) -> int:
    """How many RQ workers serve ``queue`` whose record has not expired.

    Each RQ heartbeat sets the record's expiry (up to WORKER_FRESH s ahead), and Redis expires it on its
    own clock: a worker counts while it beats, whatever its host's clock says (its ``last_heartbeat``
    field is stamped by that clock, so it is not compared with anything).
    """
    keys = sorted(worker_registration.get_keys(Queue(queue, connection=redis)))
    if not keys:
        return 0
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
    return sum(1 for ttl in pipe.execute() if ttl > 0 or ttl == -1)  # -2: expired, gone


def served(redis: Redis) -> dict[str, int]:
    """Live workers on each registered host's queue (``dockbolt.core.hosts``), by queue name."""
    return {host_queue(h.info.name): live_workers(redis, host_queue(h.info.name))
            for h in HostRegistry(redis).all()}


def health(redis: Redis) -> tuple[bool, dict[str, Any]]:
    """(healthy, report): Redis answers and at least one host's queue has a live worker (the report
    lists every registered host's queue with its count: a host without one shows 0)."""
    try:
        redis.ping()
        counts = served(redis)
    except RedisError:
        return False, {"ok": False, "redis": False}
    ok = any(counts.values())
    return ok, {"ok": ok, "redis": True, "queues": {name: {"workers": n} for name, n in counts.items()}}
