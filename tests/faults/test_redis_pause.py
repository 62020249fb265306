"""Redis hangs instead of going away: its process is SIGSTOPped (connections stay open, nothing answers).

Each test has a redis-server of its own (``own_redis``), the bot over HTTP with the Slack stand-in and,
where a job runs, a real ``dockbolt worker`` process driving the real engine. Redis is frozen with SIGSTOP
and thawed with SIGCONT (always thawed at teardown).

- A slash command sent while Redis is frozen is answered within Slack's 3 s, saying the job queue is
  unreachable and accepting nothing; once Redis is thawed the next command is accepted. The same for two
  commands sent at once (one of them cannot use the bot's one pooled connection: it opens a new one).
- Frozen for PAUSE seconds between jobs: the worker process is still running afterwards and runs and
  reports the next command.
- Frozen for PAUSE seconds while a job runs (``stop -t 3`` of a container ignoring SIGTERM, so it takes 3
  s): after the thaw the job is reported once, done, the container is stopped; the job was dequeued
  once and the stop was not run again (the container, started again afterwards, stays up).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from bot.messages import accepted_job_id
from dockbolt.console.slash_client import SlashResponse
from dockbolt.core.contract import JobStatus
from dockbolt.core.jobstore import JobStore
from tests.faults.conftest import KillableRedis
from tests.faults.test_redis_outage import dequeued, finished, job_of
from tests.support.pipeline import Pipeline, poll_until, start_pipeline
from tests.support.recorded import thread_text

pytestmark = pytest.mark.integration
WAIT = 60.0  # hang guards only: how long a test waits before it fails instead of hanging
ACK_LIMIT = 3.0  # Slack's: a slash command not answered within 3 s shows the user an error
PAUSE = 5.0  # seconds Redis stays frozen
SETTLE = 1.0  # seconds for the work a command does after its ack (card, audit) to be over
MANAGED = {"dockbolt.managed": "true"}


class Freezer:
    """SIGSTOP/SIGCONT for a ``KillableRedis``; ``thaw`` is safe to call twice."""

    def __init__(self, server: KillableRedis) -> None:
        self.server, self.frozen = server, False

    def freeze(self) -> None:
        assert self.server.proc is not None
        os.kill(self.server.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen and self.server.proc is not None:
            os.kill(self.server.proc.pid, signal.SIGCONT)
        self.frozen = False


@pytest.fixture
def pipe(own_redis: KillableRedis, tmp_path: Path) -> Iterator[tuple[Pipeline, Freezer]]:
    """The pipeline on the test's own Redis, and a freezer for that Redis (thawed before clean-up)."""
    logdir = tmp_path / "logs"
    logdir.mkdir()
    freezer = Freezer(own_redis)
    p = start_pipeline(own_redis.url, logdir)
    try:
        yield p, freezer
    finally:
        freezer.thaw()
        p.close()


def answered_while_frozen(p: Pipeline, freezer: Freezer,
                          users: tuple[str, ...]) -> list[tuple[float, SlashResponse]]:
    """Freeze Redis and send ``ps`` from each of ``users`` at once; (seconds to the ack, the ack) each."""
    assert p.job_of(p.send("ps")) is not None  # the bot works and has a Redis connection
    time.sleep(SETTLE)  # that command's work after the ack is over: the bot is idle
    freezer.freeze()

    def send(user: str) -> tuple[float, SlashResponse]:
        began = time.monotonic()
        resp = p.send("ps", user_id=user)  # the slash client gives up after 10 s: a hang fails, not forever
        return time.monotonic() - began, resp

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        answers = list(pool.map(send, users))
    freezer.thaw()
    for _, resp in answers:
        assert resp.status == 200, resp.body
        assert accepted_job_id(resp.json) is None, resp.body
        assert "job queue (Redis)" in resp.body, resp.body
    assert p.job_of(p.send("ps")) is not None  # thawed: accepted again
    return answers


def test_a_command_sent_while_redis_hangs_is_answered_within_slacks_3_s(
        pipe: tuple[Pipeline, Freezer]) -> None:
    p, freezer = pipe
    [(took, _)] = answered_while_frozen(p, freezer, ("UOPERATOR",))
    assert took < ACK_LIMIT, f"the ack took {took:.2f} s"


def test_commands_sent_at_once_while_redis_hangs_are_all_answered_within_slacks_3_s(
        pipe: tuple[Pipeline, Freezer]) -> None:
    """Two users at once: one ack needs a Redis connection the bot has not opened yet."""
    p, freezer = pipe
    answers = answered_while_frozen(p, freezer, ("UOPERATOR", "UADMIN"))
    took = [round(t, 2) for t, _ in answers]
    assert max(took) < ACK_LIMIT, f"the acks took {took} s"


def test_worker_outlives_redis_hanging_between_jobs(pipe: tuple[Pipeline, Freezer]) -> None:
    p, freezer = pipe
    worker = p.start_worker()
    assert finished(p, job_of(p, "ps")) == "done", p.worker_log()

    freezer.freeze()
    time.sleep(PAUSE)
    assert worker.poll() is None, p.worker_log()
    freezer.thaw()

    job = job_of(p, "ps")
    assert finished(p, job) == "done", p.worker_log()
    assert p.standin.wait_for(lambda: thread_text(p.standin, job) or None, timeout=WAIT)
    assert worker.poll() is None, p.worker_log()
    assert dequeued(p, job) == 1, p.worker_log()


def test_a_job_running_while_redis_hangs_is_reported_once_with_its_outcome(
        pipe: tuple[Pipeline, Freezer], docker_client: docker.DockerClient, test_image: str,
        run_labels: dict[str, str], docker_cleanup: None) -> None:
    p, freezer = pipe
    name = f"dbfault-{run_labels['dockbolt.test-run']}-frozen"
    # `sleep` as PID 1 ignores SIGTERM: `stop -t 3` waits its 3 s, then the engine kills it.
    container: Container = docker_client.containers.run(test_image, ["sleep", "3600"], name=name,
                                                        detach=True, labels={**MANAGED, **run_labels})
    worker: subprocess.Popen[bytes] = p.start_worker()
    store = JobStore(p.redis)
    job = job_of(p, f"stop -t 3 {name}")
    poll_until(lambda: (rec := store.get(job)) is not None and rec.status is JobStatus.RUNNING,
               timeout=WAIT, what="the job running")

    freezer.freeze()  # the stop takes 3 s: it ends (or is held up) while Redis hangs
    time.sleep(PAUSE)
    freezer.thaw()

    assert finished(p, job) == "done", p.worker_log()
    assert p.standin.wait_for(lambda: f"Stopped `{name}`." in thread_text(p.standin, job), timeout=WAIT)
    rec = store.get(job)
    assert rec is not None and rec.status is JobStatus.DONE, rec
    container.reload()
    assert container.status == "exited"

    container.start()  # a replayed stop would stop it again
    assert finished(p, job_of(p, "ps")) == "done", p.worker_log()
    container.reload()
    assert container.status == "running"
    assert thread_text(p.standin, job).count("Stopped") == 1, thread_text(p.standin, job)
    assert dequeued(p, job) == 1, p.worker_log()
    assert worker.poll() is None, p.worker_log()
