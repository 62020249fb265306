"""`dockbolt watch`: start one host's watcher (``workers.watcher``) and run it until SIGTERM/SIGINT.

The composition root hands in the settings, the ``[monitor]`` config, the redactor of the policy and a
deliverer: the watcher sends its own alerts (it writes them to the outbox like everything else, and its
deliverer wakes at once), so alerts flow even when no worker runs.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from redis import Redis

from dockbolt.core.delivery import Deliverer
from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.redact import Redactor
from dockbolt.core.settings import Settings
from dockbolt.core.stathistory import StatsHistory
from workers.docker_monitor import connect_monitor
from workers.sampler import Sampler
from workers.watcher import Watcher

log = logging.getLogger(__name__)

STOP_CHECK = 1.0  # s between two looks at whether the event loop ended by itself
STOP_GRACE = 10.0  # s the event loop may take to finish what it handles once stopped


def run_watch(settings: Settings, monitor: MonitorConfig, redactor: Redactor, *,
              deliverer: Deliverer | None = None, read_unmanaged: bool = False,
              ready: Callable[[Watcher], Any] | None = None) -> int:
    """Watch the engine of ``settings.docker_host`` until stopped; a process exit code.

    ``ready`` is called with the watcher before its loops start (metrics are registered there);
    ``read_unmanaged`` (``[policy]``): alerts quote logs of containers dockbolt does not manage too.
    """
    try:
        engine = connect_monitor(settings.docker_host, tls=settings.docker_tls)
        host = settings.host_name or engine.host_name()
    except DockerUnavailable as exc:
        print(f"dockbolt watch: Docker unreachable ({exc}): start Docker (dockerd) or set DOCKER_HOST")
        return 2
    redis = Redis.from_url(settings.redis_location)
    sampler = Sampler(engine, StatsHistory(redis, host, monitor))
    watcher = Watcher(engine, redis, host, monitor, redactor, sampler.tick, read_unmanaged=read_unmanaged)

    def on_signal(*_: object) -> None:
        watcher.stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    if ready is not None:
        ready(watcher)
    if deliverer is not None:
        deliverer.start()
    log.info("watcher for %s (%s): every %d s; alerts to routes or %s", host, engine.host, monitor.interval,
             monitor.notify_channel or "no notify channel")
    # The events are followed in a thread and the signal is waited for here: a read blocked on a quiet
    # event stream would otherwise hold a SIGTERM until the next event or the read timeout (30 s).
    crashed: list[Exception] = []

    def follow() -> None:
        try:
            watcher.run()
        except Exception as exc:  # the process then exits 1: a supervisor restarts it on failure
            log.exception("watcher for %s: its event loop crashed", host)
            crashed.append(exc)

    follower = threading.Thread(target=follow, name="dockbolt-watch-events", daemon=True)
    follower.start()
    try:
        while follower.is_alive() and not watcher.stop.wait(STOP_CHECK):
            pass
    finally:
        watcher.stop.set()
        engine.interrupt()
        follower.join(timeout=STOP_GRACE)
        if deliverer is not None:
            deliverer.stop()
        engine.close()
    return 1 if crashed else 0
