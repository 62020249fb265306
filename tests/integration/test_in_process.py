"""Quick reads (``ps``, ``images``, ``inspect``) run in the worker's own process, without a forked horse
(``workers.main.runs_here``): many of them leave the worker with no more threads, open files or Redis
connections than before, a forged one is refused there as in a horse, and the worker serves on."""

from __future__ import annotations

import os
import time

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from dockbolt.core.contract import JOB_FUNC, host_queue
from dockbolt.core.jobsign import JOB_KEY, SIG_KEY
from tests.integration.conftest import StartPipeline
from tests.support.harness import HOST
from tests.support.pipeline import Pipeline, poll_until
from workers.main import runs_here

pytestmark = pytest.mark.integration


def done(p: Pipeline, text: str) -> str:
    job = p.job_of(p.send(text))
    assert job is not None, text
    card = p.standin.wait_for(lambda: (c := p.standin.find_card(job)) is not None
                              and c.status in ("done", "failed") and c, timeout=60)
    return str(card.status)


def footprint(p: Pipeline, pid: int) -> tuple[int, int, int]:
    """The worker's threads and open files, and Redis's connected clients."""
    clients = int(p.redis.info("clients")["connected_clients"])
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd")), clients


def test_many_quick_reads_leave_no_thread_file_or_connection_behind(pipelines: StartPipeline) -> None:
    p = pipelines(worker=False)
    worker = p.start_worker()
    for _ in range(3):  # warm: every pool and thread the worker keeps is up
        assert done(p, "ps -a") == "done"
    time.sleep(1)
    before = footprint(p, worker.pid)
    for verb in ("ps", "images", "ps -a") * 4:  # under the rate limit (20 a minute)
        assert done(p, verb) == "done", p.worker_log()[-2000:]
    time.sleep(1)  # the last job's own heartbeat thread ends within its wait
    after = footprint(p, worker.pid)
    assert after[0] <= before[0] and after[1] <= before[1] + 2 and after[2] <= before[2] + 1, (before, after)
    assert worker.poll() is None


def test_only_quick_reads_run_in_the_worker_and_the_verb_read_is_not_trusted(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)

    def job(envelope: object) -> Job:
        return Job.create(JOB_FUNC, args=(envelope,), connection=redis)

    signed = {JOB_KEY: {"verb": "ps"}, SIG_KEY: "v1=" + "0" * 64}  # its signature is checked later, here
    assert runs_here(job(signed))
    assert runs_here(job({**signed, JOB_KEY: {"verb": "inspect"}}))
    for other in ("run", "stop", "logs", "build", "deploy", "stats", "rm"):
        assert not runs_here(job({**signed, JOB_KEY: {"verb": other}})), other
    for odd in ({}, "ps", {JOB_KEY: "ps"}, {JOB_KEY: {"verb": 3}}, None):
        assert not runs_here(job(odd)), odd


def test_a_forged_quick_read_is_refused_in_the_worker_which_serves_on(pipelines: StartPipeline) -> None:
    p = pipelines(worker=False)
    worker = p.start_worker()
    assert done(p, "ps") == "done"
    forged = {JOB_KEY: {"verb": "ps", "job_id": "forged0001"}, SIG_KEY: "v1=" + "0" * 64}
    Queue(host_queue(HOST), connection=p.redis, serializer=JSONSerializer).enqueue_call(
        JOB_FUNC, args=(forged,), job_id="forged0001")
    try:
        poll_until(lambda: "refused job 'forged0001'" in p.worker_log(), timeout=30, what="the refusal")
    except TimeoutError:
        pytest.fail(p.worker_log()[-3000:])
    assert worker.poll() is None
    assert done(p, "ps") == "done"
