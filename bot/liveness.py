"""Is anyone serving the queue? Live RQ workers per queue, by Redis's clock (for /healthz, the reaper,
`dockbolt check`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, worker_registration

from dockbolt.core.contract import DEFAULT_QUEUE


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


def health(redis: Redis, queues: Sequence[str] = (DEFAULT_QUEUE,)) -> tuple[bool, dict[str, Any]]:
    """(healthy, report): Redis answers and every queue has a live worker."""
    try:
        redis.ping()
        counts = {name: live_workers(redis, name) for name in queues}
    except RedisError:
        return False, {"ok": False, "redis": False}
    ok = all(counts.values())
    return ok, {"ok": ok, "redis": True, "queues": {name: {"workers": n} for name, n in counts.items()}}
