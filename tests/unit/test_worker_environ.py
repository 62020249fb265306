"""A work horse gets RQ's variables; the worker process's environment is never written.

RQ sets ``RQ_WORKER_ID`` and ``RQ_JOB_ID`` in the parent as well as in the horse, after the fork, while
the worker's other threads run; adding a variable moves glibc's environment array under a thread that may
be reading it, and a worker died of SIGSEGV there. The test forks a real horse (its work replaced by a
function that writes down what it sees) on a real Redis; it failed before ``fork_work_horse`` was
overridden (the parent had ``RQ_JOB_ID``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from workers.main import DockboltWorker

NAMES = ("RQ_WORKER_ID", "RQ_JOB_ID")


def test_only_the_horse_gets_rq_s_variables(redis_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    redis = Redis.from_url(redis_url)
    queue = Queue("dockbolt-host-environ-test", connection=redis)
    worker = DockboltWorker([queue], connection=redis)
    job = Job.create(func=print, connection=redis, id="environ-test")
    seen = tmp_path / "horse-environ.json"

    def horse(job: Job, queue: Queue) -> None:  # runs in the forked child only
        seen.write_text(json.dumps({name: os.environ.get(name) for name in NAMES}))

    monkeypatch.setattr(worker, "main_work_horse", horse)
    worker.fork_work_horse(job, queue)
    _, status = os.waitpid(worker.horse_pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(seen.read_text()) == {"RQ_WORKER_ID": worker.name, "RQ_JOB_ID": job.id}
    assert {name: os.environ.get(name) for name in NAMES} == {"RQ_WORKER_ID": None, "RQ_JOB_ID": None}
