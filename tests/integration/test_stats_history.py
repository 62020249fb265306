"""Stats history against the real engine and Redis: a real Sampler's readings agree with `docker stats
--no-stream`, `stats` through the whole pipeline answers from them, and `--since` posts a PNG chart.

The containers carry this run's label (removed in teardown) and ``dockbolt.managed`` (so chat sees them).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import docker
import pytest
from redis import Redis

from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import StatsHistory
from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import finished, job_of, thread_text
from tests.support.pipeline import HOST, poll_until
from workers.docker_monitor import EngineMonitor, connect_monitor
from workers.sampler import Reading, Sampler

pytestmark = pytest.mark.integration
MANAGED = {"dockbolt.managed": "true"}
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
# Roles: an idle one, one holding ≈ 8 MB in a shell variable (a loop, not a last command: busybox sh would
# exec that and free the string), one spinning on a CPU.
SCRIPTS = {
    "idle": "sleep 600",
    "mem": "x=$(head -c 8000000 /dev/zero | tr '\\0' x); touch /ready; while :; do sleep 60; done",
    "busy": "while :; do :; done",
}


@pytest.fixture
def monitor(docker_host: str, docker_client: docker.DockerClient) -> Iterator[EngineMonitor]:
    engine = connect_monitor(docker_host)
    yield engine
    engine.close()


@pytest.fixture
def started(docker_client: docker.DockerClient, test_image: str, test_run_id: str,
            run_labels: dict[str, str], docker_cleanup: None) -> dict[str, str]:
    """Role → name of a running container of this run."""
    names, containers = {}, {}
    for role, script in SCRIPTS.items():
        name = f"dhit-{test_run_id}-stats-{role}"
        containers[role] = docker_client.containers.run(test_image, ["sh", "-c", script], detach=True,
                                                        name=name, labels={**run_labels, **MANAGED})
        names[role] = name
    poll_until(lambda: containers["mem"].exec_run(["test", "-f", "/ready"]).exit_code == 0,
               what="the 8 MB string built")
    return names


def cli_memory(names: list[str]) -> dict[str, float]:
    """Memory in use per container as `docker stats --no-stream` shows it, in bytes."""
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{json .}}", *names],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        row = json.loads(line)
        m = re.match(r"([\d.]+)([KMGT]?i?B)", row["MemUsage"])
        assert m is not None, row
        found[row["Name"]] = float(m.group(1)) * _UNITS[m.group(2)]
    return found


def tick_twice(sampler: Sampler) -> dict[str, Reading]:
    sampler.tick()
    time.sleep(1)  # a second of CPU time between the two readings
    return {r.name: r for r in sampler.tick()}


def test_sampler_agrees_with_docker_stats(monitor: EngineMonitor, redis_url: str,
                                          started: dict[str, str]) -> None:
    history = StatsHistory(Redis.from_url(redis_url), monitor.host_name(), MonitorConfig())
    readings = tick_twice(Sampler(monitor, history))
    ours = {started[role]: readings[started[role]] for role in SCRIPTS}
    cli = cli_memory(list(ours))
    for name, reading in ours.items():
        assert reading.sample.mem == pytest.approx(cli[name], rel=0.05), (name, reading.sample.mem, cli[name])
    assert ours[started["mem"]].sample.mem > 8_000_000
    assert ours[started["busy"]].sample.cpu > 20  # a spinning shell, against the idle ones
    assert ours[started["idle"]].sample.cpu < 5
    assert ours[started["idle"]].labels["dockbolt.managed"] == "true"
    latest = history.latest(max_age=30)
    assert set(ours) <= set(latest)
    assert history.series(started["mem"], time.time() - 60)[-1].mem == pytest.approx(
        ours[started["mem"]].sample.mem, rel=0.01)


def test_stats_answers_from_fresh_samples_and_charts_the_history(
        pipelines: StartPipeline, monitor: EngineMonitor, redis_url: str, started: dict[str, str]) -> None:
    live = pipelines()
    history = StatsHistory(Redis.from_url(redis_url), HOST, MonitorConfig())  # as the worker's host is named
    tick_twice(Sampler(monitor, history))
    names = [started["mem"], started["busy"]]
    card, replies = finished(live, job_of(live, f"stats {' '.join(names)}", user="UVIEWER"))
    text = thread_text(replies)
    assert card.status == "done", text
    assert "from the watcher's samples" in text and all(n in text for n in names)

    card, replies = finished(live, job_of(live, f"stats {started['mem']} --since 1h", user="UVIEWER"))
    assert card.status == "done", thread_text(replies)
    (png,) = [f for f in live.standin.files if f.thread_ts == card.ts]
    assert png.name == f"stats-{started['mem']}.png"
    assert png.bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert (int.from_bytes(png.bytes[16:20], "big"), int.from_bytes(png.bytes[20:24], "big")) == (1000, 600)
    assert png.initial_comment is not None and "CPU %: min" in png.initial_comment
    assert "memory (MiB): min" in png.initial_comment
