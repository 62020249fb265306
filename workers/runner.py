"""The RQ job function (``dockbolt.core.contract.JOB_FUNC``): run one verb and report into its thread.

No job ends silently: a Docker error is posted in Docker's words; a timeout, a crash or a missing
handler ends with a message in the thread and a final card status. A worker that dies outright cannot
report, so a heartbeat thread marks the job alive every few seconds and the bot's reaper reports jobs
whose heartbeat stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import ContractError, DockerUnavailable, UserError
from dockbolt.core.jobstore import JobStore
from dockbolt.core.settings import Settings, load_settings
from dockbolt.core.slack_client import make_web_client
from workers import docker_engine
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext
from workers.reporter import ThreadReporter, escape_mrkdwn

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0


class Heartbeat:
    """A daemon thread that marks a job alive until stopped."""

    def __init__(self, store: JobStore, job_id: str, every: float = HEARTBEAT_EVERY) -> None:
        self.store, self.job_id, self.every = store, job_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> Heartbeat:
        """Beat once now, then every ``every`` seconds in the background."""
        self.store.heartbeat(self.job_id)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the final status removes the job from the heartbeat set)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.store.heartbeat(self.job_id)
            except Exception:  # a Redis blip must not kill the job; the reaper tolerates a missed beat
                log.warning("heartbeat failed for job %s", self.job_id, exc_info=True)


def _redis(settings: Settings) -> Redis:
    current = get_current_job()
    if current is not None:
        conn: Redis = current.connection
        return conn
    return Redis.from_url(settings.redis_url or "redis://localhost:6379/0")


def run_job(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one queued verb from its contract payload; returns {"status": …} for RQ's record."""
    job = JobRequest.from_dict(payload)
    settings = load_settings()
    store = JobStore(_redis(settings))
    reporter = ThreadReporter(make_web_client(settings), job)
    started = time.monotonic()
    store.set_status(job.job_id, "running")
    reporter.card("running")
    beat = Heartbeat(store, job.job_id).start()
    status, detail = "failed", ""
    try:
        status, detail = _execute(job, settings, reporter)
    except JobTimeoutException:
        status, detail = "timed_out", "took too long"
        reporter.post(f":alarm_clock: Job `{job.job_id}` timed out: `{job.verb}` may run for at most "
                      f"{_timeout_of()} s. Anything it started in Docker was left as it was.")
        raise
    except Exception:
        log.exception("job %s (%s) crashed", job.job_id, job.verb)
        detail = "internal error"
        reporter.post(f":x: Job `{job.job_id}` failed with an internal error; the details are in the "
                      "worker's log.")
        raise
    finally:
        beat.stop()
        store.set_status(job.job_id, status, detail, final=True)
        reporter.card(status, elapsed=time.monotonic() - started, detail=detail)
    return {"status": status}


def _execute(job: JobRequest, settings: Settings, reporter: ThreadReporter) -> tuple[str, str]:
    handler = HANDLERS.get(job.verb)
    if handler is None:
        reporter.post(f":x: This worker does not know `{job.verb}`; it may be older than the bot.")
        return "failed", "unknown verb"
    try:
        args = handler.args.from_dict(job.args)
    except ContractError as exc:
        log.error("job %s: %s", job.job_id, exc)
        reporter.post(f":x: This worker cannot accept the arguments of `{job.verb}` in job `{job.job_id}` "
                      f"({escape_mrkdwn(str(exc))}); the bot and the worker may be different versions.")
        return "failed", "malformed arguments"
    docker = None
    try:
        docker = docker_engine.connect(settings.docker_host)
        reply = handler.run(HandlerContext(job=job, docker=docker, progress=reporter.progress), args)
    except DockerUnavailable as exc:
        reporter.post(f":x: The Docker engine is unreachable from this worker: {escape_mrkdwn(str(exc))}")
        return "failed", "Docker unreachable"
    except UserError as exc:
        # Docker's own words, escaped so "<none>" or "a & b" cannot turn into Slack markup.
        reporter.post(f":x: {escape_mrkdwn(str(exc))}")
        return "failed", str(exc).splitlines()[0][:200] if str(exc) else ""
    finally:
        if docker is not None:
            docker.close()
    reporter.reply(reply)
    return ("done", "") if reply.ok else ("failed", "")


def _timeout_of() -> str:
    current = get_current_job()
    return f"{current.timeout:g}" if current is not None and current.timeout else "?"
