"""The Sampler with a fake engine (canned one-shot readings) and a real Redis history: CPU % from its own
previous reading of each container, the CLI's memory/net/block arithmetic, vanished containers skipped."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from redis import Redis

from dockbolt.core.errors import DockerUnavailable, TargetNotFound
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import StatsHistory
from tests.support.recording_docker import container
from workers.docker_port import ContainerSummary
from workers.sampler import Sampler

MIB = 1024 * 1024


def reading(total: int, system: int, *, mem: int = 30 * MIB, cache: int = 10 * MIB,
            rx: int = 0) -> dict[str, Any]:
    """A one-shot reading as the engine sends it (cgroup v1): no precpu_stats."""
    return {
        "read": "2026-01-01T00:00:00Z",
        "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": 2},
        "precpu_stats": {},
        "memory_stats": {"usage": mem, "limit": 64 * MIB, "stats": {"total_inactive_file": cache}},
        "networks": {"eth0": {"rx_bytes": rx, "tx_bytes": 7}},
        "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096},
                                                       {"op": "Write", "value": 8192}]},
        "pids_stats": {"current": 4},
    }


class FakeEngine:
    """Answers each container's readings in turn; ``gone`` containers raise like a removed one."""

    def __init__(self, containers: list[ContainerSummary], readings: dict[str, list[dict[str, Any]]]) -> None:
        self.containers, self.readings = containers, readings
        self.gone: set[str] = set()
        self.asked: list[str] = []

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        return list(self.containers)

    def stats_once(self, container_id: str) -> dict[str, Any]:
        self.asked.append(container_id)
        name = next(c.name for c in self.containers if c.id == container_id)
        if name in self.gone:
            raise TargetNotFound(f"No such container: {container_id}")
        return self.readings[name].pop(0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def history(redis_url: str) -> Iterator[StatsHistory]:
    redis = Redis.from_url(redis_url)
    yield StatsHistory(redis, "host1", MonitorConfig(interval=10))
    redis.close()


def test_cpu_comes_from_the_previous_reading_of_the_same_container(history: StatsHistory) -> None:
    engine = FakeEngine([container("web"), container("db")], {
        "web": [reading(1_000, 100_000), reading(6_000, 120_000)],
        "db": [reading(50_000, 100_000), reading(50_000, 120_000)],
    })
    clock = Clock()
    sampler = Sampler(engine, history, clock=clock)
    first = {r.name: r for r in sampler.tick()}
    assert {r.sample.cpu for r in first.values()} == {0.0}  # nothing to compare with yet
    clock.now += 10
    second = {r.name: r for r in sampler.tick()}
    # (6000 - 1000) / (120000 - 100000) × 2 CPUs × 100 — web's own readings, not db's
    assert second["web"].sample.cpu == pytest.approx(50.0)
    assert second["db"].sample.cpu == 0.0  # no CPU used between its two readings
    assert second["web"].sample.t == clock.now


def test_memory_net_and_block_io_are_the_clis(history: StatsHistory) -> None:
    engine = FakeEngine([container("web", image="nginx", labels={"team": "a"})],
                        {"web": [reading(1, 1, mem=30 * MIB, cache=10 * MIB, rx=1234)]})
    [r] = Sampler(engine, history, clock=Clock()).tick()
    assert (r.name, r.image, dict(r.labels), r.container_id) == ("web", "nginx", {"team": "a"},
                                                                 container("web").id)
    s = r.sample
    assert s.mem == 20 * MIB and s.mem_limit == 64 * MIB  # usage minus the inactive page cache
    assert (s.net_rx, s.net_tx, s.blk_read, s.blk_write, s.pids) == (1234, 7, 4096, 8192, 4)


def test_readings_are_written_into_the_history(history: StatsHistory) -> None:
    engine = FakeEngine([container("web")], {"web": [reading(1_000, 100_000), reading(3_000, 110_000)]})
    clock = Clock()
    sampler = Sampler(engine, history, clock=clock)
    sampler.tick()
    clock.now += 10
    sampler.tick()
    latest = history.latest(max_age=30, now=clock.now)
    assert latest["web"][0] == "busybox" and latest["web"][1].cpu == pytest.approx(40.0)
    assert [s.t for s in history.series("web", clock.now - 60, now=clock.now)] == [clock.now - 10, clock.now]


def test_a_container_gone_mid_tick_is_skipped_and_forgotten(history: StatsHistory) -> None:
    engine = FakeEngine([container("web"), container("db")],
                        {"web": [reading(1, 1), reading(2, 2)], "db": [reading(1, 1)]})
    clock = Clock()
    sampler = Sampler(engine, history, clock=clock)
    sampler.tick()
    engine.gone.add("db")
    clock.now += 10
    assert [r.name for r in sampler.tick()] == ["web"]
    engine.containers = [container("web")]
    engine.readings["web"].append(reading(3, 3))
    clock.now += 10
    sampler.tick()
    assert set(history.latest(max_age=60, now=clock.now)) == {"web"}  # db's latest sample dropped


def test_a_container_stopped_mid_tick_is_skipped(history: StatsHistory) -> None:
    stopped = {**reading(0, 0), "read": "0001-01-01T00:00:00Z", "memory_stats": {}}
    engine = FakeEngine([container("web")], {"web": [stopped]})
    assert Sampler(engine, history, clock=Clock()).tick() == []


def test_an_unreachable_engine_is_not_a_vanished_container(history: StatsHistory) -> None:
    class Down(FakeEngine):
        def stats_once(self, container_id: str) -> dict[str, Any]:
            raise DockerUnavailable("engine gone")

    with pytest.raises(DockerUnavailable):
        Sampler(Down([container("web")], {}), history).tick()


def test_readings_are_taken_in_parallel(history: StatsHistory) -> None:
    barrier = threading.Barrier(3, timeout=10)

    class Waiting(FakeEngine):
        def stats_once(self, container_id: str) -> dict[str, Any]:
            barrier.wait()  # only three concurrent readings get past it
            return super().stats_once(container_id)

    names = ("a1", "b2", "c3")
    engine = Waiting([container(n) for n in names], {n: [reading(1, 1)] for n in names})
    assert sorted(r.name for r in Sampler(engine, history).tick()) == list(names)
