"""Container alerts end to end: a real `dockbolt watch` process on the real engine, alerts through the
real outbox and deliverer into the Slack stand-in's notify channel.

Every container here is started by the test (labelled with the run id) and only the stand-in is stood in
for. Each test ends with a *sentinel*: a container whose alert must arrive after the events under test,
so "no alert" is checked only once the watcher has provably handled what came before.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from dockbolt.console.standin.models import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import TEST_CONFIG, Pipeline, poll_until

pytestmark = pytest.mark.integration

NOTIFY = "CNOTIFY"
CONFIG = TEST_CONFIG + """
[monitor]
interval = "1s"
restart_loop_count = 3
restart_loop_window = "5m"
"""


@pytest.fixture
def watched(pipelines: StartPipeline, docker_host: str) -> Pipeline:
    """A pipeline with a worker (for typed commands) and a watcher, on the test's engine."""
    p = pipelines(CONFIG)
    p.start_worker()
    p.start_watcher()
    return p


def alerts(p: Pipeline, name: str) -> list[Message]:
    """Top-level messages about container ``name`` in the notify channel."""
    return [m for m in p.standin.messages(NOTIFY) if not m.is_reply and f"`{name}`" in html.unescape(m.text)]


def alert(p: Pipeline, name: str, word: str, timeout: float = 60) -> Message:
    """Wait for the alert about ``name`` whose text says ``word``."""
    def found() -> Message | None:
        return next((m for m in alerts(p, name) if word in html.unescape(m.text)), None)
    return poll_until(found, timeout=timeout, what=f"an alert about {name} saying {word!r}")


def thread_text(p: Pipeline, m: Message) -> str:
    return html.unescape(" ".join(r.text for r in p.standin.thread(NOTIFY, m.ts) if r.is_reply))


def start(client: docker.DockerClient, labels: dict[str, str], name: str, cmd: str, **kw: Any) -> None:
    client.containers.run("dockbolt-test/busybox:latest", ["sh", "-c", cmd], name=name, detach=True,
                          labels={**labels, **kw.pop("extra_labels", {})}, **kw)


def sentinel(p: Pipeline, client: docker.DockerClient, labels: dict[str, str], run: str) -> None:
    """An exit whose alert proves the watcher handled every event before it."""
    name = f"al-{run}-sentinel-{time.monotonic_ns()}"
    start(client, labels, name, "exit 42")
    alert(p, name, "*42*")


def test_an_exit_with_code_3_is_one_alert_with_its_last_log_lines(
        watched: Pipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    name, unmanaged = f"al-{test_run_id}-exit3", f"al-{test_run_id}-exit3-unmanaged"
    script = "echo starting; echo api_key=sk_live_0123456789abcdef; echo the last words; exit 3"
    start(docker_client, run_labels, name, script, extra_labels={"dockbolt.managed": "true"})
    start(docker_client, run_labels, unmanaged, script)
    m = alert(watched, name, "*3*")
    text = html.unescape(m.text)
    assert "exited" in text and "the last words" in text and "dockbolt-test/busybox" in text
    assert "sk_live_0123456789abcdef" not in text  # masked like everything else we post
    other = html.unescape(alert(watched, unmanaged, "*3*").text)  # chat may not read its logs: not quoted
    assert "not quoted" in other and "the last words" not in other
    sentinel(watched, docker_client, run_labels, test_run_id)
    assert len(alerts(watched, name)) == 1


def test_a_container_over_its_memory_limit_is_reported_oom_killed(
        watched: Pipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    name = f"al-{test_run_id}-oom"
    start(docker_client, run_labels, name, 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); sleep 1',
          mem_limit="16m", memswap_limit="16m")
    m = alert(watched, name, "OOM-killed")
    assert "16MiB" in html.unescape(m.text)
    sentinel(watched, docker_client, run_labels, test_run_id)
    assert len(alerts(watched, name)) == 1  # several oom events and the exit: one alert


def test_unhealthy_then_recovered_in_the_same_thread(
        watched: Pipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    name = f"al-{test_run_id}-health"
    start(docker_client, run_labels, name, "sleep 5; touch /ok; sleep 600",
          healthcheck={"test": ["CMD-SHELL", "test -f /ok"], "interval": 1_000_000_000, "retries": 1})
    first = alert(watched, name, "unhealthy")
    recovered = poll_until(lambda: "healthy again" in thread_text(watched, first), timeout=60,
                           what="the recovery in the alert's thread")
    assert recovered
    poll_until(lambda: "resolved" in html.unescape(watched.standin.message(NOTIFY, first.ts).text),  # type: ignore[union-attr]
               timeout=30, what="the first message edited to show it resolved")
    assert len(alerts(watched, name)) == 1


def test_a_crash_loop_is_one_alert_updated_with_the_count(
        watched: Pipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    name = f"al-{test_run_id}-loop"
    start(docker_client, run_labels, name, "echo crash; exit 1", restart_policy={"Name": "always"})
    alert(watched, name, "restart loop")
    time.sleep(5)  # it goes on restarting: more exits, no more alerts
    sentinel(watched, docker_client, run_labels, test_run_id)
    (only,) = alerts(watched, name)
    assert "restart loop" in html.unescape(only.text)
    assert len([r for r in watched.standin.thread(NOTIFY, only.ts) if r.is_reply]) <= 2
    docker_client.containers.get(name).remove(force=True)


def test_opted_out_stopped_from_chat_and_muted_containers_give_no_alert_until_unmuted(
        watched: Pipeline, docker_client: docker.DockerClient, run_labels: dict[str, str],
        test_run_id: str) -> None:
    quiet, typed, muted = (f"al-{test_run_id}-{w}" for w in ("quiet", "typed", "muted"))
    start(docker_client, run_labels, quiet, "exit 5", extra_labels={"dockbolt.notify": "false"})
    assert watched.send(f"run -d --name {typed} dockbolt-test/busybox:latest sleep 600").status == 200
    poll_until(lambda: _running(docker_client, typed), what="the container run from chat")
    assert watched.send(f"stop {typed} -t 1").status == 200  # exits 137 or 143: a stop, not a crash
    said = watched.send(f"mute {muted} --for 10m")
    assert "muted until" in said.body
    start(docker_client, run_labels, muted, "exit 6")
    sentinel(watched, docker_client, run_labels, test_run_id)
    poll_until(lambda: not _running(docker_client, typed), what="the typed stop")
    sentinel(watched, docker_client, run_labels, test_run_id)
    for name in (quiet, typed, muted):
        assert alerts(watched, name) == [], name
    ended = watched.send(f"unmute {muted}")
    assert "Held while muted: 1 crash" in html.unescape(ended.body)
    docker_client.containers.get(muted).remove(force=True)
    start(docker_client, run_labels, muted, "exit 6")
    alert(watched, muted, "*6*")


def _running(client: docker.DockerClient, name: str) -> bool:
    try:
        return client.containers.get(name).status == "running"
    except docker.errors.NotFound:
        return False


@pytest.fixture
def proxy(tmp_path: Path, docker_host: str) -> Iterator[tuple[str, Any]]:
    """A socat proxy in front of the engine's socket that the test can cut and restore."""
    if not docker_host.startswith("unix://") or shutil.which("socat") is None:
        pytest.fail("needs the engine on a unix socket and socat (apt-get install socat)")
    path = tmp_path / "engine.sock"
    procs: list[subprocess.Popen[bytes]] = []

    def up() -> None:
        path.unlink(missing_ok=True)
        procs.append(subprocess.Popen(["socat", f"UNIX-LISTEN:{path},fork",
                                       f"UNIX-CONNECT:{docker_host.removeprefix('unix://')}"],
                                      start_new_session=True))
        poll_until(path.exists, timeout=10, what="the proxy socket")

    def down() -> None:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # socat and its forked connections: the stream drops
                proc.wait()

    up()
    yield f"unix://{path}", (up, down)
    down()


def test_the_watcher_survives_the_event_stream_dropping_without_duplicates_or_gaps(
        pipelines: StartPipeline, proxy: tuple[str, Any], docker_client: docker.DockerClient,
        run_labels: dict[str, str], test_run_id: str) -> None:
    via, (up, down) = proxy
    p = pipelines(CONFIG)
    p.start_watcher(extra_env={"DOCKER_HOST": via})
    before, during, after = (f"al-{test_run_id}-cut-{w}" for w in ("before", "during", "after"))
    start(docker_client, run_labels, before, "exit 7")
    alert(p, before, "*7*")
    down()
    start(docker_client, run_labels, during, "exit 8")  # while the watcher cannot see the engine
    time.sleep(3)
    up()
    alert(p, during, "*8*")  # replayed by the engine from where the watcher left off
    start(docker_client, run_labels, after, "exit 9")
    alert(p, after, "*9*")
    sentinel(p, docker_client, run_labels, test_run_id)
    assert [len(alerts(p, n)) for n in (before, during, after)] == [1, 1, 1]
    assert "reconnect" in p.watcher_log().lower() or "unreachable" in p.watcher_log().lower()

