"""The worker's /metrics, from a real `dockbolt worker --metrics-port 0` process after a real job ran.

The worker logs the port it bound; the job runs in a forked work horse, and its duration is observed by
the worker's parent process from the job's record, so it must show on the parent's endpoint.
"""

from __future__ import annotations

import re
import urllib.request

import docker
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import finished, job_of
from tests.support.pipeline import HOST, QUEUE, TEST_CONFIG, Pipeline, poll_until

pytestmark = pytest.mark.integration

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
_SERVING = re.compile(r"serving Prometheus metrics on (http://127\.0\.0\.1:\d+/metrics)")


def read_metrics(url: str) -> Series:
    """GET /metrics and parse it with prometheus-client's parser; (sample name, labels) → value."""
    with urllib.request.urlopen(url, timeout=10) as resp:  # our own local endpoint
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


@pytest.fixture
def worker_metrics(pipelines: StartPipeline) -> tuple[Pipeline, str]:
    """A pipeline whose one worker serves /metrics on a free port; that endpoint's URL."""
    p = pipelines(worker=False)
    p.start_worker(args=["--metrics-port", "0", "--metrics-host", "127.0.0.1"])
    match = poll_until(lambda: _SERVING.search(p.worker_log()), timeout=30, what="the worker's metrics port")
    return p, match.group(1)


def test_the_worker_exposes_job_durations_by_verb_and_status(worker_metrics: tuple[Pipeline, str]) -> None:
    p, url = worker_metrics
    before = read_metrics(url)
    assert value(before, "dockbolt_job_duration_seconds_count", verb="ps", status="done") is None
    assert value(before, "dockbolt_queue_depth", queue=QUEUE) == 0
    card, _ = finished(p, job_of(p, "ps"))
    assert card.status == "done"

    def observed() -> Series | None:
        now = read_metrics(url)
        return now if value(now, "dockbolt_job_duration_seconds_count", verb="ps", status="done") else None

    after = poll_until(observed, timeout=30, what="the ps job observed in the worker's parent")
    assert value(after, "dockbolt_job_duration_seconds_count", verb="ps", status="done") == 1
    assert value(after, "dockbolt_job_duration_seconds_bucket", verb="ps", status="done", le="+Inf") == 1
    total = value(after, "dockbolt_job_duration_seconds_sum", verb="ps", status="done")
    assert total is not None and total >= 0
    assert value(after, "dockbolt_queue_depth", queue=QUEUE) == 0
    names = {name for name, _ in after}
    assert "process_resident_memory_bytes" in names
    assert "dockbolt_commands_total" not in names  # the bot's series, not the worker's



_WATCHING = re.compile(r"watcher: serving Prometheus metrics on (http://127\.0\.0\.1:\d+/metrics)")


def of(series: Series, metric: str, labels: dict[str, str]) -> float | None:
    """The value of ``metric`` with exactly ``labels`` (one of which may be called "name")."""
    return series.get((metric, frozenset(labels.items())))


def test_the_watcher_exposes_per_container_usage_and_its_own_counters(
        pipelines: StartPipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    p = pipelines(TEST_CONFIG + '\n[monitor]\ninterval = "1s"\n', worker=False)
    p.start_watcher(args=["--metrics-port", "0"])
    found = poll_until(lambda: _WATCHING.search(p.watcher_log()), timeout=30, what="the watcher's port")
    url = found.group(1)
    name = f"metrics-{test_run_id}"
    docker_client.containers.run("dockbolt-test/busybox:latest", ["sleep", "600"], name=name, detach=True,
                                 labels=run_labels, mem_limit="64m")
    labels = {"name": name, "image": "dockbolt-test/busybox:latest", "host": HOST}  # as the watcher is named

    def sampled() -> Series | None:
        now = read_metrics(url)
        return now if of(now, "dockbolt_container_memory_bytes", labels) else None

    series = poll_until(sampled, timeout=30, what="the container's series")
    assert of(series, "dockbolt_container_memory_limit_bytes", labels) == 64 * 2**20
    for counter in ("network_receive", "network_transmit", "block_read", "block_write"):
        assert of(series, f"dockbolt_container_{counter}_bytes_total", labels) is not None
    assert of(series, "dockbolt_container_cpu_percent", labels) is not None
    assert (value(series, "dockbolt_events_total", action="start") or 0) >= 1
    docker_client.containers.run("dockbolt-test/busybox:latest", ["sh", "-c", "exit 3"],
                                 name=f"{name}-exit", detach=True, labels=run_labels)
    poll_until(lambda: value(read_metrics(url), "dockbolt_alerts_total", condition="crash"), timeout=30,
               what="the alert counted")
    docker_client.containers.get(name).remove(force=True)

    def removed() -> Series | None:
        now = read_metrics(url)
        return now if of(now, "dockbolt_container_memory_bytes", labels) is None else None

    gone = poll_until(removed, timeout=30, what="the removed container's series gone")
    assert "dockbolt_commands_total" not in {n for n, _ in gone}  # the bot's series, not the watcher's
