"""`dockbolt watch`: one watcher per Docker host — follows its events (alerts) and samples its stats.

Two loops. The event loop reads the engine's container events and hands each to the ``Alerter``; it
remembers in Redis the last event handled (``IncidentStore.cursor``) and, whenever the stream ends or the
engine goes away, opens it again with ``since`` = that event's time, skipping what it already handled:
nothing is missed (the engine replays its recent events) and nothing is alerted twice. On its very first
start it begins *now*: nothing that happened before is alerted; after a downtime longer than
``MAX_REPLAY`` only the last hour is replayed (older news is not an alert). An event whose handling
fails (the engine or Redis gone) is not marked handled, so it is tried again once they are back.

The sample loop takes every running container's stats each ``[monitor] interval`` (``workers.sampler``,
stored by ``dockbolt.core.stathistory``), keeps the latest for the Prometheus collector and the peak
memory for OOM alerts, and ends mutes whose time is up (saying what they held back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError

from dockbolt.core.contract import JobRequest, new_job_id
from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.incidents import WATCHER_USER, IncidentStore, MuteStore, mute_summary, note
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.redact import Redactor
from dockbolt.core.stathistory import Sample
from workers.alerts import Alerter, Engine, Event

log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0  # seconds between two attempts to reach the engine again
MAX_REPLAY = 3600  # seconds: after a longer downtime, only the last hour's events are replayed
PEAK_WINDOW = 600.0  # seconds of samples the peak memory of an OOM alert is taken from


class Reading(Protocol):
    """One container's sample, as the sampler returns it."""

    @property
    def name(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def sample(self) -> Sample: ...


class WatchedEngine(Engine, Protocol):
    """The engine as the watcher sees it (``workers.docker_monitor.EngineMonitor``)."""

    def events(self, since: float, until: float | None = None) -> Iterable[dict[str, Any]]: ...
    def ping(self) -> None: ...


class Watcher:
    """The two loops of one host's watcher (see the module docstring)."""

    def __init__(self, engine: WatchedEngine, redis: Redis, host: str, config: MonitorConfig,
                 redactor: Redactor, tick: Callable[[], Sequence[Reading]] | None, *,
                 on_reconnect: Callable[[], None] = lambda: None,
                 on_event: Callable[[str], None] = lambda action: None,
                 on_alert: Callable[[str], None] = lambda condition: None,
                 read_unmanaged: bool = False) -> None:
        self.engine, self.redis, self.host = engine, redis, host
        self.tick, self.interval = tick, float(config.interval)
        self.on_reconnect, self.on_event = on_reconnect, on_event
        self.alerter = Alerter(engine, redis, host, config, redactor, peak=self.peak, counted=on_alert,
                               read_unmanaged=read_unmanaged)
        self.incidents, self.mutes = IncidentStore(redis, host), MuteStore(redis)
        self.stop = threading.Event()
        self.latest: dict[str, tuple[str, Sample]] = {}  # name → (image, sample): the collector's source
        self._peaks: dict[str, list[tuple[float, float]]] = {}
        self._outage = ""  # why Redis or the engine is unreachable, while it is: said once, not per retry

    # -- events -------------------------------------------------------------------------------------------
    def follow(self) -> None:
        """The event loop, until ``stop`` is set."""
        nano, keys = self._start_cursor()
        delay = 0.25
        while not self.stop.is_set():
            try:
                for raw in self.engine.events(since=nano / 1e9):
                    if self.stop.is_set():
                        return
                    ev = Event.from_docker(raw)
                    if ev is None or ev.nano < nano or (ev.nano == nano and ev.key in keys):
                        continue  # handled before the stream was opened again
                    self.alerter.handle(ev)
                    keys = keys | {ev.key} if ev.nano == nano else frozenset({ev.key})
                    nano = ev.nano
                    self.incidents.advance(nano, keys)
                    self.on_event(ev.action)
                    self._back()
                    delay = 0.25
            except DockerUnavailable as exc:
                if self._engine_down(exc):
                    self.stop.wait(delay)
                    delay = min(delay * 2, MAX_BACKOFF)
            except RedisError as exc:
                self._down(f"Redis unreachable ({exc}); events and samples wait for it")
                self.stop.wait(1.0)
            self.on_reconnect()

    def _down(self, why: str) -> None:
        if not self._outage:
            log.warning("watcher %s: %s", self.host, why)
        self._outage = why

    def _back(self) -> None:
        if self._outage:
            log.info("watcher %s: back to normal (was: %s)", self.host, self._outage)
            self._outage = ""

    def _start_cursor(self) -> tuple[int, frozenset[str]]:
        while not self.stop.is_set():
            try:
                nano, keys = self.incidents.cursor()
                now = time.time_ns()
                if nano == 0:  # first start on this host: from now on
                    nano, keys = now, frozenset()
                    self.incidents.advance(nano, keys)
                elif now - nano > MAX_REPLAY * 10**9:  # down for long: old news is not an alert
                    log.warning("watcher %s: last event handled %.0f min ago; events older than %d min are "
                                "not alerted", self.host, (now - nano) / 6e10, MAX_REPLAY // 60)
                    nano, keys = now - MAX_REPLAY * 10**9, frozenset()
                return nano, keys
            except RedisError as exc:
                log.warning("watcher %s: Redis unreachable (%s); waiting", self.host, exc)
                self.stop.wait(1.0)
        return 0, frozenset()

    def _engine_down(self, exc: DockerUnavailable) -> bool:
        """A quiet stream timing out is opened again at once; an engine that does not answer is waited for."""
        try:
            self.engine.ping()
        except DockerUnavailable:
            self._down(f"engine unreachable ({exc}); reconnecting")
            return True
        return False

    # -- samples and mutes --------------------------------------------------------------------------------
    def sample_loop(self) -> None:
        """The sample loop, until ``stop`` is set."""
        while not self.stop.wait(self._until_next()):
            try:
                if self.tick is not None:
                    self._took(self.tick())
                self.end_mutes()
                self.incidents.beat(3 * self.interval + 5)
                self._back()
            except RedisError as exc:
                self._down(f"Redis unreachable ({exc}); events and samples wait for it")
            except DockerUnavailable as exc:
                self._down(f"engine unreachable ({exc}); reconnecting")
            except Exception:
                log.exception("watcher %s: sampling failed; going on", self.host)

    def _until_next(self) -> float:
        return self.interval - time.time() % self.interval  # on the interval's grid: comparable series

    def _took(self, readings: Sequence[Reading]) -> None:
        now = time.time()
        self.latest = {r.name: (r.image, r.sample) for r in readings}
        for r in readings:
            peaks = self._peaks.setdefault(r.name, [])
            peaks.append((now, r.sample.mem))
            while peaks and peaks[0][0] < now - PEAK_WINDOW:
                peaks.pop(0)
        for gone in set(self._peaks) - set(self.latest):
            if self._peaks[gone] and self._peaks[gone][-1][0] < now - PEAK_WINDOW:
                del self._peaks[gone]

    def peak(self, name: str) -> float:
        """The most memory the container was seen using lately (0 when never sampled)."""
        return max((mem for _, mem in self._peaks.get(name, ())), default=0.0)

    def containers(self) -> Iterable[tuple[str, str, Sample]]:
        """The latest sample of every running container (the Prometheus collector's source)."""
        return [(name, image, sample) for name, (image, sample) in self.latest.items()]

    def end_mutes(self) -> None:
        """End the mutes whose time is up, each said once in the channel it was made in."""
        for pattern in self.mutes.due(time.time()):
            ended = self.mutes.end(pattern)
            if ended is None or not ended[0].channel:
                continue  # another watcher ended it, or nobody is to be told
            mute, held = ended
            job = JobRequest(job_id=f"unmute-{new_job_id()}", verb="unmute", args={}, user_id=WATCHER_USER,
                             channel_id=mute.channel, command_text=f"unmute {pattern}",
                             announce_in=mute.channel)
            note(self.redis, job, mute_summary(mute, held))

    def run(self) -> None:
        """Both loops (samples in a daemon thread) until ``stop`` is set."""
        sampler = threading.Thread(target=self.sample_loop, name="dockbolt-watch-samples", daemon=True)
        sampler.start()
        try:
            self.follow()
        finally:
            self.stop.set()
            sampler.join(timeout=5)
