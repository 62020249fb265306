"""`dockbolt worker`: an RQ worker with access to one Docker engine, running only dockbolt's signed jobs.

The composition root hands it the settings and the policy (the bot's config file); both are installed
as the worker's context before RQ starts forking work horses. Worker and queue use ``TrustedJob``, so
no other function, callback, dependency or webhook named in Redis is ever imported or run
(``workers.trust``).
"""

from __future__ import annotations

import logging
import os
import socket

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer

from dockbolt.core.codec import prepare
from dockbolt.core.contract import DEFAULT_QUEUE, JobRequest
from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.rbac import Policy
from dockbolt.core.redact import Redactor, install_log_redaction
from dockbolt.core.settings import Settings
from workers import docker_engine

# Preloaded in the parent so every forked work horse inherits it instead of importing the docker SDK,
# slack_sdk and the handlers again for each job (RQ forks one horse per job); the same goes for the
# codec's resolved type hints of the job and of every handler's args.
from workers import runner as _runner  # noqa: F401
from workers.handlers import HANDLERS
from workers.trust import TrustedJob, TrustingWorker, WorkerContext, install

for _cls in (JobRequest, *(handler.args for handler in HANDLERS.values())):
    prepare(_cls)

log = logging.getLogger(__name__)


def preflight(settings: Settings) -> list[str]:
    """Return one line per dependency the worker cannot reach (Redis, Docker), with what to do."""
    problems: list[str] = []
    try:
        Redis.from_url(settings.redis_location, socket_timeout=3).ping()
    except RedisError as exc:
        problems.append(f"Redis unreachable at {settings.redis_shown} ({exc}): "
                        "start redis-server or set REDIS_URL")
    try:
        docker_engine.connect(settings.docker_host).ping()
    except DockerUnavailable as exc:
        problems.append(f"Docker unreachable ({exc}): start Docker (dockerd) or set DOCKER_HOST")
    return problems


def run_worker(settings: Settings, policy: Policy, queue: str = DEFAULT_QUEUE, *, burst: bool = False) -> int:
    """Serve the queue until stopped; returns a process exit code."""
    problems = preflight(settings)
    if problems:
        for line in problems:
            print(f"dockbolt worker: {line}")
        return 2
    install(WorkerContext(settings=settings, policy=policy))
    install_log_redaction(Redactor(policy.guardrails.redact))
    redis = Redis.from_url(settings.redis_location)
    q = Queue(queue, connection=redis, serializer=JSONSerializer, job_class=TrustedJob)
    name = f"dockbolt-{socket.gethostname()}-{os.getpid()}"
    # Descriptions come from Redis like everything else in a job: RQ logs job ids instead.
    worker = TrustingWorker([q], connection=redis, serializer=JSONSerializer, name=name, job_class=TrustedJob,
                            log_job_description=False)
    log.info("worker %s serving queue %s", name, queue)
    worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    return 0
