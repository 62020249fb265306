"""A worker's host beat: a stop that comes while a beat is under way leaves no live worker behind."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, cast

from redis import Redis

from dockbolt.core.hosts import HostRegistry
from dockbolt.core.settings import Settings
from workers.host_beat import HostBeat


class SlowEngine:
    """An engine whose ``docker info`` answers only when released (a busy engine)."""

    def __init__(self) -> None:
        self.asked, self.release = threading.Event(), threading.Event()

    def info(self) -> dict[str, Any]:
        self.asked.set()
        self.release.wait(10)
        return {"NCPU": 2, "ServerVersion": "27.0"}

    def close(self) -> None:
        pass


def test_a_beat_that_ends_after_stop_does_not_count_the_worker_again(redis_url: str) -> None:
    registry = HostRegistry(Redis.from_url(redis_url))
    beat = HostBeat(cast(Settings, SimpleNamespace(docker_host=None, docker_tls=None)),
                    Redis.from_url(redis_url), "db1", "w1")
    engine = SlowEngine()
    beat._engine = engine  # type: ignore[assignment]
    thread = beat._thread
    beat.start()
    assert engine.asked.wait(5)
    thread.join = lambda timeout=None: None  # type: ignore[method-assign]  # stop's wait runs out at once
    beat.stop()  # leaves while the beat still waits for the engine
    engine.release.set()
    deadline = time.monotonic() + 5
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not thread.is_alive()
    assert [h.workers for h in registry.all() if h.info.name == "db1"] in ([], [0])
