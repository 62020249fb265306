"""Workers outlive Redis: killed and started again between jobs and during one, real processes throughout.

Each test has a redis-server of its own (``own_redis``), the bot over HTTP with the Slack stand-in, and
a real ``dockbolt worker`` process driving the real engine. Redis is SIGKILLed (connections drop, nothing
is saved at shutdown) and started again on the same port; the worker process must still be running, be
seen again by ``/healthz``, and run the commands sent after the outage. The job in flight when Redis
dropped ran once: it is dequeued once, and the container it stopped is not stopped again later. SIGTERM
while the worker waits for Redis stops it cleanly (exit 0).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container
from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from dockbolt.core.hosts import HostRegistry
from tests.faults.conftest import KillableRedis
from tests.support.pipeline import QUEUE, Pipeline, poll_until, start_pipeline
from workers.main import DockboltWorker

pytestmark = pytest.mark.integration
JOB_WAIT = 60.0  # hang guards only: how long a test waits before it fails instead of hanging
MANAGED = {"dockbolt.managed": "true"}


@pytest.fixture
def pipe(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Pipeline, KillableRedis]]:
    """The pipeline on the test's own Redis (``own_redis`` unless the test asks for the persistent one)."""
    name = "own_persistent_redis" if "own_persistent_redis" in request.fixturenames else "own_redis"
    server: KillableRedis = request.getfixturevalue(name)
    logdir = tmp_path / "logs"
    logdir.mkdir()
    p = start_pipeline(server.url, logdir)
    try:
        yield p, server
    finally:
        p.close()


def job_of(p: Pipeline, text: str) -> str:
    resp = p.send(text)
    job_id = p.job_of(resp)
    assert job_id is not None, resp.body
    return job_id


def card_status(p: Pipeline, job_id: str) -> str | None:
    card = p.standin.find_card(job_id)
    return None if card is None or card.status is None else str(card.status)


def finished(p: Pipeline, job_id: str) -> str:
    """The final status on the job's card (waits for it)."""
    def final() -> str | None:
        status = card_status(p, job_id)
        return status if status in ("done", "failed", "timed_out", "lost") else None

    try:
        return p.standin.wait_for(final, timeout=JOB_WAIT)
    except TimeoutError as exc:
        raise AssertionError(f"job {job_id} did not finish\nworker log:\n{p.worker_log()}") from exc


def healthz(p: Pipeline) -> tuple[int, dict[str, object]]:
    assert p.bot.server is not None
    url = f"http://127.0.0.1:{p.bot.server.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def serving(p: Pipeline) -> bool:
    """/healthz says 200 with one live worker on the host's queue."""
    status, body = healthz(p)
    return status == 200 and body.get("queues") == {QUEUE: {"workers": 1}}


def routed(p: Pipeline) -> bool:
    """The bot would route a command now: a live worker beats for the host (commands are refused until
    then — the worker beats as soon as it has registered again)."""
    return any(h.workers for h in HostRegistry(p.redis).all())


def dequeued(p: Pipeline, job_id: str) -> int:
    """How many times a worker took ``job_id`` off the queue (RQ logs each take)."""
    return len(re.findall(rf"{QUEUE}: {job_id}\b", p.worker_log()))


def noticed(p: Pipeline, worker: subprocess.Popen[bytes]) -> bool:
    """The worker exited (what it did before it outlived Redis) or logged that it waits for Redis."""
    return worker.poll() is not None or "waiting for it to come back" in p.worker_log()


def test_worker_outlives_redis_between_jobs(pipe: tuple[Pipeline, KillableRedis]) -> None:
    p, server = pipe
    status, body = healthz(p)
    assert status == 503 and body["queues"] == {QUEUE: {"workers": 0}}, body
    worker = p.start_worker()
    assert finished(p, job_of(p, "ps")) == "done"
    poll_until(lambda: serving(p), timeout=JOB_WAIT, what="/healthz 200 with one worker")

    server.kill()
    poll_until(lambda: noticed(p, worker), timeout=JOB_WAIT, what="the worker noticing")
    assert healthz(p) == (503, {"ok": False, "redis": False})
    server.start()  # empty: the worker's record and registrations are gone with the old data

    poll_until(lambda: routed(p), timeout=JOB_WAIT, what="the worker's host registered again")
    assert finished(p, job_of(p, "ps")) == "done", p.worker_log()
    poll_until(lambda: serving(p), timeout=JOB_WAIT, what="/healthz seeing the worker again")
    assert worker.poll() is None, p.worker_log()
    assert p.worker_log().count("waiting for it to come back") == 1, p.worker_log()


def test_worker_outlives_redis_during_a_job(own_persistent_redis: KillableRedis,
                                            pipe: tuple[Pipeline, KillableRedis],
                                            docker_client: docker.DockerClient, test_image: str,
                                            run_labels: dict[str, str], docker_cleanup: None) -> None:
    p, server = pipe
    name = f"dbfault-{run_labels['dockbolt.test-run']}-stubborn"
    # PID 1 of a container ignores SIGTERM: `stop -t 5` waits its 5 s, then kills.
    container: Container = docker_client.containers.run(test_image, ["sleep", "3600"], name=name, detach=True,
                                                        labels={**MANAGED, **run_labels})
    worker = p.start_worker()
    stop_job = job_of(p, f"stop -t 5 {name}")
    p.standin.wait_for(lambda: card_status(p, stop_job) == "running", timeout=JOB_WAIT)

    server.kill()
    def stopped() -> bool:
        container.reload()
        return container.status != "running"
    poll_until(stopped, timeout=JOB_WAIT, what="the job in flight stopping the container")
    poll_until(lambda: noticed(p, worker), timeout=JOB_WAIT, what="the worker noticing")
    assert worker.poll() is None, p.worker_log()
    server.start()  # the AOF brings back the job records, the worker's old record and the queue

    poll_until(lambda: routed(p), timeout=JOB_WAIT, what="the worker's host beating again")
    start_job = job_of(p, f"start {name}")
    assert finished(p, start_job) == "done", p.worker_log()
    assert finished(p, job_of(p, "ps")) == "done", p.worker_log()
    container.reload()
    assert container.status == "running"  # the stop was not run again after the start
    assert worker.poll() is None, p.worker_log()
    assert dequeued(p, stop_job) == 1 and dequeued(p, start_job) == 1, p.worker_log()
    assert stop_job not in Queue(QUEUE, connection=p.redis).job_ids
    poll_until(lambda: serving(p), timeout=JOB_WAIT, what="/healthz seeing the worker again")


def test_sigterm_while_waiting_for_redis_stops_the_worker(pipe: tuple[Pipeline, KillableRedis]) -> None:
    p, server = pipe
    worker = p.start_worker()
    server.kill()
    poll_until(lambda: noticed(p, worker), timeout=JOB_WAIT, what="the worker noticing")
    assert worker.poll() is None, p.worker_log()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=JOB_WAIT) == 0, p.worker_log()
    assert "stopped while waiting for Redis" in p.worker_log()


def test_a_worker_record_redis_lost_is_registered_again_on_the_next_heartbeat(
        own_redis: KillableRedis) -> None:
    # redis-py retries a command once on a fresh connection, so a quick restart can go unnoticed by the
    # worker; its record (and registrations) are gone all the same. FLUSHALL loses them the same way.
    redis = Redis.from_url(own_redis.url)
    queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
    worker = DockboltWorker([queue], connection=redis, serializer=JSONSerializer, name="probe-heartbeat")
    worker.register_birth()  # type: ignore[no-untyped-call]
    assert [w.name for w in Worker.all(queue=queue)] == ["probe-heartbeat"]
    redis.flushall()
    assert Worker.all(queue=queue) == []
    worker.heartbeat()
    assert [w.name for w in Worker.all(queue=queue)] == ["probe-heartbeat"]
    assert redis.hget(worker.key, "birth") is not None
    worker.heartbeat()  # an ordinary beat registers nothing twice
    assert redis.scard("rq:workers") == 1
    worker.register_death()  # type: ignore[no-untyped-call]
    redis.close()
