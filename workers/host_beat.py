"""A worker's heartbeat for its host (``dockbolt.core.hosts``): what the engine says, every few seconds.

A daemon thread of the worker's parent process, with its own engine connection; a beat that fails (the
engine or Redis away) is tried again every second, and the worker nudges it when it registers again after
a Redis outage (the bot refuses commands for a host whose workers do not beat). On stop the worker leaves
its host's count.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from redis import Redis
from redis.exceptions import RedisError

from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.hosts import BEAT_EVERY, HostInfo, HostRegistry
from dockbolt.core.settings import Settings
from workers.docker_monitor import EngineMonitor, connect_monitor

log = logging.getLogger(__name__)
RETRY_EVERY = 1.0  # seconds between tries while a beat fails


class HostBeat:
    """Beats for ``host`` as ``worker`` until ``stop``."""

    def __init__(self, settings: Settings, redis: Redis, host: str, worker: str) -> None:
        self.settings, self.registry, self.host, self.worker = settings, HostRegistry(redis), host, worker
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._engine: EngineMonitor | None = None
        self._thread = threading.Thread(target=self._loop, name="dockbolt-host-beat", daemon=True)

    def start(self) -> HostBeat:
        """Beat now and then every ``BEAT_EVERY`` seconds, in the background."""
        self._thread.start()
        return self

    def beat(self) -> None:
        """One beat (raises DockerUnavailable / RedisError when it cannot be taken)."""
        if self._engine is None:
            self._engine = connect_monitor(self.settings.docker_host, tls=self.settings.docker_tls)
        info = self._engine.info()  # may take a while on a busy engine: ``stop`` may have come meanwhile
        if not self._stop.is_set():  # a late beat would count this worker again after it left
            self.registry.beat(HostInfo.from_info(self.host, info), self.worker)

    def nudge(self) -> None:
        """Beat now (Redis is back, or lost this worker's records)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            every = BEAT_EVERY
            try:
                self.beat()
            except (DockerUnavailable, RedisError) as exc:
                log.debug("host beat for %s skipped: %s", self.host, exc)
                every = RETRY_EVERY
                if isinstance(exc, DockerUnavailable) and self._engine is not None:
                    self._engine.close()
                    self._engine = None
            self._wake.wait(every)
            self._wake.clear()
        # Stopped. ``stop`` left already unless its wait for this thread ran out while a beat was under
        # way: leave (again) now that it is over.
        with contextlib.suppress(RedisError):
            self.registry.leave(self.host, self.worker)

    def stop(self) -> None:
        """Stop beating and leave the host's worker count."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(RedisError):  # else its beat expires by itself
            self.registry.leave(self.host, self.worker)
        if self._engine is not None:
            self._engine.close()
