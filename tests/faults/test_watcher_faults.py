"""The watcher outlives Redis: a real `dockbolt watch` process while its Redis is SIGKILLed and started
again empty (no persistence). An exit that happens while Redis is down is alerted once Redis is back
(the event is handled only when its alert can be written; the stream is opened again from the last event
handled), the watcher keeps running, and nothing is alerted twice.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.faults.conftest import KillableRedis
from tests.support.pipeline import TEST_CONFIG, Pipeline, poll_until, start_pipeline

pytestmark = pytest.mark.integration
CONFIG = TEST_CONFIG + '\n[monitor]\ninterval = "1s"\n'


@pytest.fixture
def pipe(own_redis: KillableRedis, tmp_path: Path) -> Iterator[Pipeline]:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    p = start_pipeline(own_redis.url, logdir, CONFIG)
    try:
        yield p
    finally:
        p.close()


def alerts(p: Pipeline, name: str) -> int:
    return sum(1 for m in p.standin.messages("CNOTIFY")
               if not m.is_reply and f"`{name}`" in html.unescape(m.text))


def test_an_exit_while_redis_is_down_is_alerted_once_redis_is_back(
        pipe: Pipeline, own_redis: KillableRedis, docker_client: docker.DockerClient,
        run_labels: dict[str, str], test_run_id: str) -> None:
    watcher = pipe.start_watcher()
    before, during, after = (f"wf-{test_run_id}-{w}" for w in ("before", "during", "after"))

    def exit_with(name: str, code: int) -> None:
        docker_client.containers.run("dockbolt-test/busybox:latest", ["sh", "-c", f"exit {code}"], name=name,
                                     detach=True, labels=run_labels)

    exit_with(before, 3)
    poll_until(lambda: alerts(pipe, before), timeout=60, what="the alert before the outage")
    own_redis.kill()
    exit_with(during, 4)
    time.sleep(3)  # the watcher sees the event and cannot write its alert
    assert watcher.poll() is None
    own_redis.start()
    poll_until(lambda: alerts(pipe, during), timeout=60, what="the alert of the exit during the outage")
    exit_with(after, 5)
    poll_until(lambda: alerts(pipe, after), timeout=60, what="the alert after the outage")
    assert watcher.poll() is None
    assert [alerts(pipe, n) for n in (before, during, after)] == [1, 1, 1]
    said = [line for line in pipe.watcher_log().splitlines() if "workers.watcher" in line]
    assert sum("WARNING" in line and "Redis unreachable" in line for line in said) == 1  # not each second
    assert any("back to normal" in line for line in said)
    delivery = [line for line in pipe.watcher_log().splitlines() if "dockbolt-watch-delivery" in line]
    assert sum("Redis unreachable" in line for line in delivery) == 1  # its threads say it once together
    assert any("Redis is back" in line for line in delivery)
