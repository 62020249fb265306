"""One stats sample of every running container per tick, into the host's ``StatsHistory`` (the watcher's).

Each reading is the engine's cheap ``one_shot`` kind (no second reading, so no 1-2 s wait): its
``precpu_stats`` is empty, so CPU % is computed against the Sampler's own previous reading of the same
container — the same arithmetic as ``docker stats`` (``workers.stats_math``), over the tick instead of the
engine's ~1 s. A container's first reading has no CPU % yet: it is reported as 0 and stored like that
(an honest "not known yet" would need a field the history does not have; one interval later it is
known). Memory, net and block I/O come from the reading alone, exactly as the CLI computes them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockbolt.core.errors import UserError
from dockbolt.core.stathistory import Sample, StatsHistory
from workers import stats_math
from workers.docker_port import ContainerSummary

log = logging.getLogger(__name__)

MAX_PARALLEL = 8  # one-shot readings are quick (≈ 10-30 ms); more threads would only queue in the engine


class SamplingEngine(Protocol):
    """What the sampler asks of the engine (``workers.docker_monitor.EngineMonitor`` has both)."""

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        """The running containers."""

    def stats_once(self, container_id: str) -> dict[str, Any]:
        """One raw stats reading without ``precpu_stats``."""


@dataclass(frozen=True)
class Reading:
    """One container's sample of a tick, with what alerts and metrics label it by."""

    name: str
    image: str
    container_id: str
    sample: Sample
    labels: Mapping[str, str] = field(default_factory=dict)


def to_sample(raw: Mapping[str, Any], previous: Mapping[str, Any] | None, t: float) -> Sample:
    """The ``docker stats`` numbers of ``raw``, CPU % against ``previous`` (0 without one)."""
    cpu = 0.0
    if previous is not None:
        cpu = stats_math.cpu_percent({**raw, "precpu_stats": previous.get("cpu_stats") or {}})
    rx, tx = stats_math.network_io(raw)
    blk_read, blk_write = stats_math.block_io(raw)
    return Sample(t=t, cpu=cpu, mem=stats_math.memory_used(raw), mem_limit=stats_math.memory_limit(raw),
                  net_rx=rx, net_tx=tx, blk_read=blk_read, blk_write=blk_write, pids=stats_math.pids(raw))


class Sampler:
    """Takes one reading of each running container per ``tick`` and writes it into ``history``."""

    def __init__(self, engine: SamplingEngine, history: StatsHistory, *,
                 clock: Callable[[], float] = time.time, max_parallel: int = MAX_PARALLEL) -> None:
        self.engine, self.history, self.clock = engine, history, clock
        self.max_parallel = max_parallel
        self._previous: dict[str, dict[str, Any]] = {}  # container id → its last raw reading
        self._lock = threading.Lock()

    def tick(self) -> list[Reading]:
        """Sample every running container once (in parallel); the readings, in the engine's list order.

        A container that vanished meanwhile is skipped; ``DockerUnavailable`` from the listing propagates
        (the watcher waits for the engine).
        """
        containers = self.engine.list_containers()
        if not containers:
            self._previous.clear()
            self.history.forget_except(())
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(containers))) as pool:
            found = list(pool.map(self._read, containers))
        readings = [r for r in found if r is not None]
        running = {c.id for c in containers}
        with self._lock:  # forget readings of containers that are gone: their ids never come back
            for cid in [cid for cid in self._previous if cid not in running]:
                del self._previous[cid]
        for r in readings:
            self.history.add(r.name, r.image, r.sample)
        self.history.forget_except({c.name for c in containers})
        return readings

    def _read(self, c: ContainerSummary) -> Reading | None:
        try:
            raw = self.engine.stats_once(c.id)
        except UserError as exc:  # gone between the listing and the reading; DockerUnavailable propagates
            log.debug("no stats for %s: %s", c.name, exc)
            return None
        t = self.clock()
        if str(raw.get("read") or "0001").startswith("0001"):  # stopped meanwhile: the engine sends zeros
            return None
        with self._lock:
            previous = self._previous.get(c.id)
            self._previous[c.id] = raw
        return Reading(name=c.name, image=c.image, container_id=c.id, labels=c.labels,
                       sample=to_sample(raw, previous, t))
