"""The engine goes away in the middle of a job: a real socat proxy in front of the Docker socket is killed.

Each test has the bot over HTTP with the Slack stand-in, the session Redis, and a real ``dockbolt worker``
process whose ``DOCKER_HOST`` is ``unix://<tmp>/docker.sock``: a ``socat`` process (``fork``: one child
per connection) relaying to the engine's socket and recording what the client sent (``-r``) and what the
engine answered (``-R``), so the test knows when the request it wants to cut is in flight. socat's whole
process group is SIGKILLed there: every relayed connection drops at once, as when the engine or the link
goes away.

- During a long ``logs`` stream (a container that printed LINES lines, read with ``--tail LINES``), once
  part of the response went through: the job fails, its thread says the stream was cut short (never the
  complete-log summary) and carries the whole lines that arrived, in order from the first.
- During ``stop NAME`` of a container that ignores SIGTERM and has a long stop timeout: the job fails and
  its thread says the engine is unreachable (never silent, never "Stopped"). socat is started again on
  the same path and ``ps`` is sent: it runs and is reported by the same worker process, never restarted.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.conftest import unavailable
from tests.faults.test_redis_outage import dequeued, finished, job_of
from tests.support.pipeline import Pipeline, poll_until, start_pipeline
from tests.support.recorded import thread_text

pytestmark = pytest.mark.integration
WAIT = 60.0  # hang guards only: how long a test waits before it fails instead of hanging
MANAGED = {"dockbolt.managed": "true"}
LINES = 400_000  # ~6 MB of framed log: several seconds through the proxy into the worker
CUT_AFTER = 256 * 1024  # bytes of the logs response relayed before the proxy is killed
STOP_TIMEOUT = 60  # the container's own stop timeout: the stop is still waiting when the proxy dies


class EngineProxy:
    """``socat`` on ``<workdir>/docker.sock`` relaying to the engine's socket, started and killed at will."""

    def __init__(self, upstream: str, workdir: Path) -> None:
        exe = shutil.which("socat")
        if exe is None:
            unavailable("no socat on PATH (apt-get install socat)")
        self.exe, self.upstream, self.workdir = str(exe), upstream, workdir
        self.path = str(workdir / "docker.sock")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    @property
    def sent(self) -> Path:
        """What clients sent through the current socat (requests)."""
        return self.workdir / f"sent-{self.starts}.bin"

    @property
    def answered(self) -> Path:
        """What the engine answered through the current socat (responses)."""
        return self.workdir / f"answered-{self.starts}.bin"

    def start(self) -> None:
        self.starts += 1
        argv = [self.exe, "-r", str(self.sent), "-R", str(self.answered),
                f"UNIX-LISTEN:{self.path},fork,unlink-early", f"UNIX-CONNECT:{self.upstream}"]
        with (self.workdir / "socat.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        poll_until(self._answers, timeout=WAIT, what="socat listening")

    def _answers(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(self.path)
            except OSError:
                return False
        return True

    def kill(self) -> None:
        """SIGKILL socat and its per-connection children (its own process group): every link drops."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.proc = None

    def requested(self, fragment: bytes) -> int | None:
        """Where ``fragment`` first appears in what clients sent (None: not yet)."""
        try:
            at = self.sent.read_bytes().find(fragment)
        except FileNotFoundError:
            return None
        return None if at < 0 else at

    def answered_bytes(self) -> int:
        try:
            return self.answered.stat().st_size
        except FileNotFoundError:
            return 0


@pytest.fixture
def proxy(docker_host: str, docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[EngineProxy]:
    if not docker_host.startswith("unix://"):
        unavailable(f"the socat proxy sits in front of a unix socket; DOCKER_HOST is {docker_host}")
    workdir = tmp_path / "proxy"
    workdir.mkdir()
    p = EngineProxy(docker_host.removeprefix("unix://"), workdir)
    p.start()
    yield p
    p.kill()


@pytest.fixture
def pipe(redis_url: str, tmp_path: Path, proxy: EngineProxy,
         docker_cleanup: None) -> Iterator[tuple[Pipeline, subprocess.Popen[bytes]]]:
    """The pipeline on the session Redis, with one worker that reaches the engine only through ``proxy``."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    p = start_pipeline(redis_url, logdir)
    try:
        worker = p.start_worker(extra_env={"DOCKER_HOST": proxy.host})
        yield p, worker
    finally:
        p.close()


def thread_files(p: Pipeline, job_id: str) -> list[str]:
    """The contents of the files shared in the job's thread."""
    card = p.standin.find_card(job_id)
    if card is None:
        return []
    return [f.text for m in p.standin.thread(card.channel, card.ts) for f in m.files]


def test_a_log_stream_cut_by_the_engine_going_away_is_reported_cut_short(
        pipe: tuple[Pipeline, subprocess.Popen[bytes]], proxy: EngineProxy,
        docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]) -> None:
    p, worker = pipe
    name = f"dbfault-{run_labels['dockbolt.test-run']}-counted"
    c = docker_client.containers.run(test_image, ["seq", "1", str(LINES)], name=name, detach=True,
                                     labels={**MANAGED, **run_labels})
    c.wait()

    job = job_of(p, f"logs --tail {LINES} {name}")
    poll_until(lambda: proxy.requested(b"/logs?") is not None, timeout=WAIT, what="the logs request")
    start = proxy.answered_bytes()
    poll_until(lambda: proxy.answered_bytes() - start > CUT_AFTER, timeout=WAIT,
               what="part of the log stream relayed")
    proxy.kill()

    assert finished(p, job) == "failed", thread_text(p.standin, job)
    def told() -> str | None:
        text = thread_text(p.standin, job)
        return text if "cut short" in text else None

    text = p.standin.wait_for(told, timeout=WAIT)
    assert f"Logs of `{name}`: the log stream was cut short after " in text, text
    assert f"{LINES} lines." not in text  # never the complete-log summary
    [body] = thread_files(p, job)
    lines = body.splitlines()
    assert 0 < len(lines) < LINES, len(lines)
    assert lines == [str(i) for i in range(1, len(lines) + 1)]  # what arrived: whole lines, in order
    assert f"cut short after {len(lines)} lines" in text
    assert worker.poll() is None, p.worker_log()


def test_a_stop_cut_by_the_engine_going_away_fails_and_the_worker_recovers_by_itself(
        pipe: tuple[Pipeline, subprocess.Popen[bytes]], proxy: EngineProxy,
        docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]) -> None:
    p, worker = pipe
    name = f"dbfault-{run_labels['dockbolt.test-run']}-stubborn"
    # `sleep` as PID 1 ignores SIGTERM: the engine waits the whole stop timeout before it kills.
    cid = str(docker_client.api.create_container(test_image, ["sleep", "3600"], name=name,
                                                 labels={**MANAGED, **run_labels},
                                                 stop_timeout=STOP_TIMEOUT)["Id"])
    docker_client.api.start(cid)

    stop_job = job_of(p, f"stop {name}")
    poll_until(lambda: proxy.requested(b"/stop") is not None, timeout=WAIT, what="the stop request")
    proxy.kill()

    assert finished(p, stop_job) == "failed", p.worker_log()
    text = p.standin.wait_for(lambda: thread_text(p.standin, stop_job) or None, timeout=WAIT)
    assert "The Docker engine is unreachable from this worker" in text, text
    assert "Stopped" not in text
    assert worker.poll() is None, p.worker_log()

    proxy.start()  # the same path: the worker was never told about it
    ps_job = job_of(p, "ps --format table")
    assert finished(p, ps_job) == "done", p.worker_log()
    text = p.standin.wait_for(lambda: thread_text(p.standin, ps_job) or None, timeout=WAIT)
    listed = "\n".join([text, *thread_files(p, ps_job)])
    assert name in listed, listed  # the answer came from the engine: the container is listed
    assert worker.poll() is None, p.worker_log()
    assert len(p.workers) == 1 and p.redis.scard("rq:workers") == 1
    assert dequeued(p, stop_job) == 1 and dequeued(p, ps_job) == 1, p.worker_log()
