"""Is anyone serving the queue? Live RQ workers per queue, by Redis's clock (for /healthz, the reaper,
`dockbolt check`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker

from dockbolt.core.contract import DEFAULT_QUEUE, WORKER_FRESH


def live_workers(redis: Redis, queue: str) -> int:
    """How many RQ workers serve ``queue`` with a heartbeat at most WORKER_FRESH s old (Redis's clock)."""
    now = redis.time()[0]
    return sum(1 for worker in Worker.all(queue=Queue(queue, connection=redis))
               if worker.last_heartbeat is not None
               and now - worker.last_heartbeat.timestamp() <= WORKER_FRESH)


def health(redis: Redis, queues: Sequence[str] = (DEFAULT_QUEUE,)) -> tuple[bool, dict[str, Any]]:
    """(healthy, report): Redis answers and every queue has a live worker."""
    try:
        redis.ping()
        counts = {name: live_workers(redis, name) for name in queues}
    except RedisError:
        return False, {"ok": False, "redis": False}
    ok = all(counts.values())
    return ok, {"ok": ok, "redis": True, "queues": {name: {"workers": n} for name, n in counts.items()}}
