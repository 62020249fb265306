"""Custom Prometheus collectors: values read when Prometheus scrapes, never by a background poller.

``QueueDepthCollector``: ``dockbolt_queue_depth{queue}`` from a source the process hands it (the bot and
the worker count their RQ queues). ``ContainerCollector``: the watcher's per-container series, from its
latest sample of every running container; a container that is gone is simply absent from the source, so
its series stop. Docker's net and block I/O figures are cumulative since the container started: they are
exposed as counters (``rate()`` works on them, and a restart shows as a counter reset).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from dockbolt.core.stathistory import Sample

log = logging.getLogger(__name__)

QueueDepths = Callable[[], Mapping[str, int]]
Containers = Callable[[], Iterable[tuple[str, str, Sample]]]
_LABELS = ["name", "image", "host"]


class QueueDepthCollector(Collector):
    """``dockbolt_queue_depth{queue}``: jobs waiting per queue, read at scrape time from ``watch``'s source.

    One instance per registry; ``watch`` replaces the source (a process builds its runtime once, the tests
    several times in one process). Redis unreachable at scrape time: the series is absent, not zero.
    """

    def __init__(self) -> None:
        self._source: QueueDepths | None = None
        self._lock = threading.Lock()

    def watch(self, source: QueueDepths | None) -> None:
        """Read queue depths from ``source`` from now on (None: no series)."""
        with self._lock:
            self._source = source

    def collect(self) -> Iterator[Metric]:
        """The gauge, one sample per queue."""
        with self._lock:
            source = self._source
        family = GaugeMetricFamily("dockbolt_queue_depth", "Jobs waiting in the queue", labels=["queue"])
        if source is not None:
            try:
                depths = source()
            except (RedisError, OSError) as exc:
                log.debug("queue depth not read: %s", exc)
                depths = {}
            for queue, depth in sorted(depths.items()):
                family.add_metric([queue], float(depth))
        yield family


class ContainerCollector(Collector):
    """Per-container usage of one Docker host, labelled ``name``, ``image`` and ``host``.

    ``source`` returns (name, image, latest sample) for every container being watched now.
    """

    def __init__(self, source: Containers, host: str) -> None:
        self.source = source
        self.host = host

    def collect(self) -> Iterator[Metric]:
        """The gauges and counters of every container the source returns."""
        gauges = {
            "cpu": GaugeMetricFamily("dockbolt_container_cpu_percent",
                                     "CPU use in percent (100 = one core), as docker stats", labels=_LABELS),
            "mem": GaugeMetricFamily("dockbolt_container_memory_bytes",
                                     "Memory in use, page cache excluded (as docker stats)", labels=_LABELS),
            "mem_limit": GaugeMetricFamily("dockbolt_container_memory_limit_bytes",
                                           "Memory limit (the host's memory when unlimited)", labels=_LABELS),
            "pids": GaugeMetricFamily("dockbolt_container_pids", "Processes and threads in the container",
                                      labels=_LABELS),
        }
        counters = {
            "net_rx": CounterMetricFamily("dockbolt_container_network_receive_bytes",
                                          "Bytes received since the container started, all interfaces",
                                          labels=_LABELS),
            "net_tx": CounterMetricFamily("dockbolt_container_network_transmit_bytes",
                                          "Bytes sent since the container started, all interfaces",
                                          labels=_LABELS),
            "blk_read": CounterMetricFamily("dockbolt_container_block_read_bytes",
                                            "Bytes read from block devices since the container started",
                                            labels=_LABELS),
            "blk_write": CounterMetricFamily("dockbolt_container_block_write_bytes",
                                             "Bytes written to block devices since the container started",
                                             labels=_LABELS),
        }
        try:
            current = list(self.source())
        except Exception:  # a scrape must not take the watcher down; the next one tries again
            log.exception("container metrics not read")
            current = []
        for name, image, sample in current:
            labels = [name, image, self.host]
            for field, family in gauges.items():
                family.add_metric(labels, float(getattr(sample, field)))
            for field, counter in counters.items():
                counter.add_metric(labels, float(getattr(sample, field)))
        yield from gauges.values()
        yield from counters.values()
