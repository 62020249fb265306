"""`dockbolt worker`: an RQ worker with access to one Docker engine, running only dockbolt's signed jobs.

The composition root hands it the settings and the policy (the bot's config file); both are installed
as the worker's context before RQ starts forking work horses. Worker and queue use ``TrustedJob``, so
no other function, callback, dependency or webhook named in Redis is ever imported or run
(``workers.trust``).

The worker outlives Redis (``DockboltWorker`` and ``serve``): a lost connection between jobs ends RQ's
``work()`` with one log line; ``serve`` waits for Redis with backoff, registers the worker again and
calls ``work()`` again. During a job the work horse is never abandoned: the worker keeps waiting for it
(heartbeats that fail are skipped and resume when Redis answers) and only then leaves ``work()``. The job
is not queued again by anyone, and its one-time claim (``trust.seen_key``) refuses a second run.

A quick read (``ps``, ``images``, ``inspect``: ``Handler.in_process``) runs in the worker's own process
instead, as RQ's ``SimpleWorker`` runs every job: a fork and its copy-on-write faults cost more than such a
job itself (~20 ms of kernel time per job on a small VM). Everything else gets a horse: a crash, a leak or
a long stream stays in it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, worker_registration
from rq.defaults import DEFAULT_WORKER_TTL
from rq.exceptions import StopRequested
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from dockbolt.core.apps import AppConfig
from dockbolt.core.buildsrc import BuildConfig
from dockbolt.core.codec import prepare
from dockbolt.core.contract import WORKER_TTL, JobRequest, host_queue
from dockbolt.core.delivery import Deliverer
from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.jobsign import JOB_KEY
from dockbolt.core.metrics import QUEUE_DEPTH
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.rbac import Policy
from dockbolt.core.redact import Redactor, install_log_redaction
from dockbolt.core.settings import DockerTLS, Settings
from workers import docker_engine, docker_monitor

# Preloaded in the parent so every forked work horse inherits it instead of importing the docker SDK,
# slack_sdk and the handlers again for each job (RQ forks one horse per job); the same goes for the
# codec's resolved type hints of the job and of every handler's args.
from workers import runner as _runner  # noqa: F401
from workers.handlers import HANDLERS
from workers.host_beat import HostBeat
from workers.job_metrics import observe_job
from workers.trust import TrustedJob, TrustingWorker, WorkerContext, install

for _cls in (JobRequest, *(handler.args for handler in HANDLERS.values())):
    prepare(_cls)

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
MAX_BACKOFF = 2.0  # seconds between two attempts to reach Redis again (a PING: cheap)


# An idle worker waits for a job this long at a time (RQ's BLMOVE; RQ's own default is 45 s). Python runs
# a signal's handler in the main thread only once that thread runs Python again: a SIGTERM the kernel
# hands to another thread (or one that comes just before RQ starts waiting) is acted on within this.
IDLE_WAIT = 2
# RQ's pubsub thread (its command channel) waits this long at a time. RQ's 60 s hung a worker's stop:
# RQ unsubscribes, then stops the thread, and redis-py 8's ``PubSubWorkerThread.stop()`` joins it without
# a bound; a thread that read the UNSUBSCRIBE's reply before the stop waits for a subscription for its
# whole wait — a SIGTERMed worker sat in its teardown up to 60 s (seen in CI; ~1 stop in 3 here).
PUBSUB_WAIT = 1.0


class RedisLost(StopRequested):
    """Redis went away: leaves ``Worker.work()`` (RQ's own way out for a stop) so ``serve`` waits for it."""


class DockboltWorker(TrustingWorker):
    """``TrustingWorker`` that survives Redis going away (see the module docstring); RQ's hooks only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redis_lost: str | None = None  # why the last work() ended for Redis, until serve() recovers
        self.stop_asked = False
        self._here = False  # a job is running in this process (``_perform_here``), not in a horse
        self._beat_missed = False
        # Called when the worker registers again after Redis lost it (its host beats at once then).
        self.registered_again: Callable[[], None] = lambda: None

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_asked = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def lost(self, exc: BaseException) -> RedisLost:
        """Note (and log, once per outage) that Redis is unreachable; the exception that leaves work()."""
        if self.redis_lost is None:
            self.redis_lost = str(exc) or type(exc).__name__
            log.warning("worker %s: Redis unreachable (%s); waiting for it to come back", self.name,
                        self.redis_lost)
        return RedisLost(self.redis_lost)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat in one round trip; a record Redis lost (restart, expiry) is registered again."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        try:
            with self.connection.pipeline() as pipe:
                super().heartbeat(timeout, pipe)
                created = pipe.execute()[0]
            if created:  # HSET made a new field: the worker's record was gone
                with self.connection.pipeline() as pipe:
                    pipe.hset(self.key, mapping=self.serialize())
                    worker_registration.register(self, pipe)
                    pipe.expire(self.key, timeout or self.worker_ttl + 60)
                    pipe.execute()
                log.info("worker %s: registered again (Redis had lost its record)", self.name)
                self.registered_again()
        except REDIS_DOWN as exc:
            raise self.lost(exc) from exc

    def _perform_here(self, job: Job, queue: Queue) -> None:
        """Run the job in this process (RQ's ``SimpleWorker.execute_job``): no fork, no horse. Its timeout
        is RQ's death penalty (SIGALRM, this main thread) as in a horse; this worker's record is kept alive
        for the job's timeout (no beats meanwhile), as ``SimpleWorker`` keeps it."""
        self._here = True
        try:
            self.prepare_execution(job)
            self.perform_job(job, queue)
        finally:
            self._here = False
            self.set_state(WorkerStatus.IDLE)

    def subscribe(self) -> None:
        """RQ's, with its command channel's thread waiting PUBSUB_WAIT s at a time (RQ: 60 s)."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ's hint: None
            sleep_time=PUBSUB_WAIT, daemon=True, exception_handler=self._pubsub_exception_handler)

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """RQ's, except that RQ_WORKER_ID and RQ_JOB_ID are set in the horse alone. RQ sets them here too,
        after the fork, while this process's other threads (deliverers, the host beat, RQ's pubsub thread)
        run: the first job adds two variables, glibc's ``setenv`` then moves the environment array, and a
        thread reading it at that moment (``getenv``: glibc's resolver; libfaketime on every clock read)
        reads freed memory. A worker died of SIGSEGV there (faulthandler: the main thread in
        ``os.environ.__setitem__`` under ``fork_work_horse``)."""
        child_pid = os.fork()
        if child_pid == 0:
            os.environ["RQ_WORKER_ID"] = self.name
            os.environ["RQ_JOB_ID"] = job.id
            os.setpgrp()
            self.main_work_horse(job, queue)
            os._exit(0)  # as RQ: never return into the parent's loop
        self._horse_pid = child_pid
        self.procline(f"Forked {child_pid} at {time.time()}")  # type: ignore[no-untyped-call]

    @property
    def dequeue_timeout(self) -> int:
        return IDLE_WAIT  # RQ: WORKER_TTL - 15 s

    def get_heartbeat_ttl(self, job: Job) -> int:
        if self._here:
            return int(job.timeout if job.timeout and job.timeout > 0 else DEFAULT_WORKER_TTL) + 60
        return int(super().get_heartbeat_ttl(job))

    def maintain_heartbeats(self, job: Job) -> None:
        """While the horse runs, a beat Redis cannot take is skipped: the worker keeps waiting for it."""
        try:
            super().maintain_heartbeats(job)
        except REDIS_DOWN as exc:
            if not self._beat_missed:
                log.warning("worker %s: Redis unreachable while job %s runs (%s); waiting for the job",
                            self.name, job.id, exc)
            self._beat_missed = True
        else:
            self._beat_missed = False

    def set_current_job_working_time(self, current_job_working_time: float, pipeline: Any = None) -> None:
        with contextlib.suppress(*REDIS_DOWN):  # the same outage maintain_heartbeats reports
            super().set_current_job_working_time(current_job_working_time, pipeline)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """RQ's fork-and-monitor, or for a quick read (``runs_here``) RQ's ``SimpleWorker`` way, in this
        process; whatever happens, a horse has exited when this returns or raises. Then (here, in the
        parent: a horse's own counts die with it) the job's duration is observed."""
        start = time.monotonic()
        try:
            if runs_here(job):
                self._perform_here(job, queue)
            else:
                super().execute_job(job, queue)
        except REDIS_DOWN as exc:
            raise self.lost(exc) from exc
        finally:
            if self.horse_pid:  # RQ's monitor raised before the horse exited: never leave it unwatched
                self.wait_for_horse()
        observe_job(self.connection, job.id, time.monotonic() - start)


def runs_here(job: Job) -> bool:
    """Whether the job's verb is a quick read run in the worker's own process (``Handler.in_process``).
    The verb is read from the envelope before it is verified — it only picks where the job runs: the job
    is verified there as anywhere (a forged "ps" is refused in this process instead of a horse)."""
    try:
        verb = job.args[0][JOB_KEY]["verb"]
    except (IndexError, KeyError, TypeError):
        return False
    handler = HANDLERS.get(verb) if isinstance(verb, str) else None
    return handler is not None and handler.in_process


def wait_for_redis(redis: Redis, stop: threading.Event) -> bool:
    """PING until Redis answers (True) or ``stop`` is set (False), backing off up to MAX_BACKOFF."""
    delay = 0.25
    while not stop.is_set():
        try:
            if redis.ping():
                return True
        except REDIS_DOWN:
            pass
        stop.wait(delay)
        delay = min(delay * 2, MAX_BACKOFF)
    return False


def _on_stop_signal(worker: DockboltWorker, stop: threading.Event) -> None:
    """SIGINT/SIGTERM outside ``work()`` (which installs RQ's own while it runs): stop, never die mid-way."""
    def on_signal(*_: object) -> None:
        worker.stop_asked = True
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)


def serve(worker: DockboltWorker, *, burst: bool = False) -> None:
    """Run RQ's ``work()``; each time it ends because Redis went away, wait for Redis and start again."""
    try:
        _serve(worker, burst)
    except StopRequested:  # RQ's handler, still installed right after work() returned, got a signal
        log.info("worker %s: stopped while waiting for Redis", worker.name)


def _serve(worker: DockboltWorker, burst: bool) -> None:
    stop = threading.Event()
    # Installed before the first work() too: Redis can be lost before RQ installs its handlers, and a
    # signal in that window must stop the worker cleanly rather than kill it.
    _on_stop_signal(worker, stop)
    while True:
        try:
            worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
        except REDIS_DOWN as exc:  # RQ's teardown could not reach Redis either
            worker.lost(exc)
        _on_stop_signal(worker, stop)
        if worker.redis_lost is None or worker.stop_asked:
            if worker.stop_asked and worker.redis_lost is not None:
                log.info("worker %s: stopped while waiting for Redis", worker.name)
            return
        if worker.pubsub_thread is not None:  # RQ's command channel would retry (and log) every 2 s;
            worker.pubsub_thread.stop()  # work() subscribes afresh once Redis is back
        if not wait_for_redis(worker.connection, stop):
            log.info("worker %s: stopped while waiting for Redis", worker.name)
            return
        try:
            worker.register_death()  # type: ignore[no-untyped-call]  # a record Redis kept: a fresh birth
        except REDIS_DOWN:
            continue
        log.info("worker %s: Redis is back; serving again", worker.name)
        worker.redis_lost = None
        worker.registered_again()


def preflight(settings: Settings) -> list[str]:
    """Return one line per dependency the worker cannot reach (Redis, Docker), with what to do."""
    problems: list[str] = []
    try:
        Redis.from_url(settings.redis_location, socket_timeout=3).ping()
    except RedisError as exc:
        problems.append(f"Redis unreachable at {settings.redis_shown} ({exc}): "
                        "start redis-server or set REDIS_URL")
    try:
        docker_engine.connect(settings.docker_host, tls=settings.docker_tls).ping()
    except DockerUnavailable as exc:
        problems.append(f"Docker unreachable ({exc}): start Docker (dockerd) or set DOCKER_HOST")
    return problems


def engine_host_name(docker_host: str | None, tls: DockerTLS | None = None) -> str:
    """The engine's ``docker info`` Name (the default host name), or "" when it cannot be read."""
    engine = None
    try:
        engine = docker_monitor.connect_monitor(docker_host, tls=tls)
        return engine.host_name()
    except DockerUnavailable as exc:
        log.warning("no host name from the engine: %s", exc)
        return ""
    finally:
        if engine is not None:
            engine.close()


def run_worker(settings: Settings, policy: Policy, *, burst: bool = False,
               deliverer: Deliverer | None = None, build: BuildConfig | None = None,
               apps: Mapping[str, AppConfig] | None = None, monitor: MonitorConfig | None = None) -> int:
    """Serve this host's queue until stopped (and deliver the Slack outbox meanwhile, from this parent
    process: work horses only write to it); returns a process exit code."""
    problems = preflight(settings)
    if problems:
        for line in problems:
            print(f"dockbolt worker: {line}")
        return 2
    # Resolved once here, inherited by every work horse: the host's queue, and the key of the stats
    # history the watcher keeps under the same name (``EngineMonitor.host_name``).
    host_name = settings.host_name or engine_host_name(settings.docker_host, settings.docker_tls)
    if not host_name:
        print("dockbolt worker: the engine did not say its name: set DOCKBOLT_HOST_NAME (or --host-name)")
        return 2
    install(WorkerContext(settings=settings, policy=policy, build=build or BuildConfig(), apps=apps or {},
                          monitor=monitor or MonitorConfig(), host_name=host_name))
    install_log_redaction(Redactor(policy.guardrails.redact))
    redis = Redis.from_url(settings.redis_location)
    q = Queue(host_queue(host_name), connection=redis, serializer=JSONSerializer, job_class=TrustedJob)
    name = f"dockbolt-{socket.gethostname()}-{os.getpid()}"
    # Descriptions come from Redis like everything else in a job: RQ logs job ids instead.
    worker = DockboltWorker([q], connection=redis, serializer=JSONSerializer, name=name, job_class=TrustedJob,
                            log_job_description=False, worker_ttl=WORKER_TTL)
    log.info("worker %s serving host %s (queue %s)", name, host_name, q.name)
    QUEUE_DEPTH.watch(lambda: {q.name: q.count})  # read when /metrics is scraped (if it is served)
    if deliverer is not None:
        deliverer.start()
    beat = HostBeat(settings, redis, host_name, name).start()
    worker.registered_again = beat.nudge  # commands for this host are refused until it beats again
    gc.freeze()  # what lives now is never scanned by a horse's collector, which would copy its pages
    try:
        serve(worker, burst=burst)
    finally:
        beat.stop()
        if deliverer is not None:
            deliverer.stop()
    return 0
