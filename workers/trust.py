"""What a worker trusts: its own job function only, jobs the bot signed only, each job once.

Two gates stand before anything is reported to Slack or asked of Docker:

1. ``TrustedJob``, the RQ ``job_class`` of the worker and its queues. RQ resolves what a job runs through
   ``Job.func`` and its callbacks through ``success_callback``/``failure_callback``/``stopped_callback``,
   each an ``import_attribute`` of a name read from Redis. Here ``func`` refuses, before importing
   anything, a job that names any function but ``JOB_FUNC``, is bound to an instance, names callbacks,
   depends on other jobs or carries webhooks; the callback properties never import (dockbolt queues
   none); webhooks are never sent; RQ never retries a dockbolt job (a retry would be a replay).
2. ``accept``, the first thing ``JOB_FUNC`` does: the envelope's signature (``dockbolt.core.jobsign``),
   the strict job contract, the RQ job id equal to the signed job id, a Slack ``response_url``, the job's
   age (``[policy] job_ttl`` after ``queued_at``) and a one-time claim of its id in Redis, so the same
   signed job queued twice runs once.

A refused job logs one line (``refused job <id>: <why>``, never the payload; ``TrustingWorker`` keeps
RQ from adding its traceback), reports nothing anywhere, touches no Docker, and ends failed in RQ.
``install``/``context`` hold the settings and the policy the worker was started with (set before
``Worker.work()``; RQ's forked work horses inherit them).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from rq import Worker
from rq.job import Job

from dockbolt.core.apps import AppConfig
from dockbolt.core.audit import AuditEvent, AuditLog
from dockbolt.core.buildsrc import BuildConfig
from dockbolt.core.contract import JOB_FUNC, JobRequest, JobStatus
from dockbolt.core.errors import ContractError, DockboltError
from dockbolt.core.fanout import FanOut, Part
from dockbolt.core.jobsign import BadSignature, open_envelope
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.rbac import Policy
from dockbolt.core.settings import Settings

log = logging.getLogger(__name__)

SLACK_HOOKS_HOST = "hooks.slack.com"
MAX_CLOCK_SKEW = 300  # seconds a job's queued_at (the bot's clock) may lie ahead of Redis's clock
_DEFAULT_PORTS = {"http": 80, "https": 443}


def seen_key(job_id: str) -> str:
    """The Redis key claimed by the first run of a job id."""
    return f"dockbolt:job-seen:{job_id}"


class JobRefused(DockboltError):
    """The worker will not run this job (the reason is safe to log: it never quotes the payload)."""


def refuse(job_id: object, reason: str) -> JobRefused:
    """Log the one line a refused job gets and return the exception that ends it failed."""
    log.warning("refused job %s: %s", _shown(job_id), reason)
    return JobRefused(f"refused: {reason}")


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TrustedJob(Job):
    """An RQ job that can only ever run ``JOB_FUNC``; see the module docstring."""

    def untrusted_because(self) -> str | None:
        """Why this job must not run, or None (reads only what RQ restored from Redis; imports nothing)."""
        if self.func_name != JOB_FUNC:
            return f"names the function {_shown(self.func_name)}, not {JOB_FUNC}"
        if self.instance is not None:
            return "is bound to an instance"
        callbacks = [name for name in (self._success_callback_name, self._failure_callback_name,
                                       self._stopped_callback_name) if name]
        if callbacks:
            return f"carries callbacks ({', '.join(_shown(name, 60) for name in callbacks)})"
        if self._dependency_ids:
            return "depends on other jobs"
        if self.webhooks:
            return "carries webhooks"
        return None

    @property
    def func(self) -> Any:
        reason = self.untrusted_because()
        if reason is not None:
            raise refuse(self.id, reason)
        return super().func

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    @property
    def should_retry(self) -> bool:
        return False

    def send_webhooks(self, status: Any, *, exc_string: str | None = None) -> None:
        """Never: a job with webhooks is refused, and a refused job must not call out anywhere."""


class TrustingWorker(Worker):
    """RQ's forking Worker over ``TrustedJob``s; for a refused job its one line is all that is logged.

    (RQ's own report of a failed job is a traceback, with the job's arguments in the record's ``extra``.)
    """

    job_class = TrustedJob

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        if not isinstance(exc_info[1], JobRefused):
            super().handle_exception(job, *exc_info)


@dataclass(frozen=True)
class WorkerContext:
    """What the worker process was started with: its settings and the policy (the bot's, same file)."""

    settings: Settings
    policy: Policy
    build: BuildConfig = field(default_factory=BuildConfig)
    apps: Mapping[str, AppConfig] = field(default_factory=dict)  # [apps.*]: what a deploy may do
    monitor: MonitorConfig = field(default_factory=MonitorConfig)  # [monitor]: the stats history's shape
    host_name: str = ""  # the engine's `docker info` Name: the key of its stats history ("": unknown)


_context: WorkerContext | None = None


def install(ctx: WorkerContext) -> None:
    """Make ``ctx`` the worker's context (before ``Worker.work()``: forked work horses inherit it)."""
    global _context
    _context = ctx


def context() -> WorkerContext:
    """The worker's context (raises when the worker was not started through ``run_worker``)."""
    if _context is None:
        raise RuntimeError("the worker context is not installed (start workers with `dockbolt worker`)")
    return _context


def response_url_allowed(url: str, slack_api_url: str) -> bool:
    """True for ``https://hooks.slack.com/…`` and for URLs on SLACK_API_URL's own scheme, host and port."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return False
    parts, api = urlsplit(url), urlsplit(slack_api_url)
    try:
        port, api_port = parts.port, api.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    origin = (parts.scheme, parts.hostname, port or _DEFAULT_PORTS.get(parts.scheme))
    return origin in {("https", SLACK_HOOKS_HOST, 443),
                      (api.scheme, api.hostname, api_port or _DEFAULT_PORTS.get(api.scheme))}


def accept(envelope: object, *, rq_job_id: str, ctx: WorkerContext, redis: Redis,
           now: float | None = None) -> JobRequest:
    """Return the verified job of ``envelope``, or raise JobRefused (logged) saying why."""
    try:
        job = JobRequest.from_dict(open_envelope(envelope, ctx.settings.job_secret))
    except BadSignature as exc:
        raise refuse(rq_job_id, str(exc)) from None
    except ContractError as exc:
        raise refuse(rq_job_id, f"signed, but not a valid job: {str(exc)[:200]}") from None
    if job.job_id != rq_job_id:
        raise refuse(rq_job_id, f"queued under another id than its own ({_shown(job.job_id)})")
    if job.host != ctx.host_name:  # a signed job meant for another host (or for no host) runs nowhere else
        raise refuse(rq_job_id, f"meant for host {_shown(job.host or '(none)')}, this is {ctx.host_name}")
    if job.response_url is not None and not response_url_allowed(job.response_url,
                                                                 ctx.settings.slack_api_url):
        raise refuse(rq_job_id, "its response_url is not Slack's (hooks.slack.com or SLACK_API_URL's host)")
    # Redis's clock, like heartbeats: the worker's host clock may be off by hours and still run jobs.
    now = redis_time(redis) if now is None else now
    ttl = ctx.policy.guardrails.job_ttl
    age = now - job.queued_at
    if age > ttl:
        _close_expired(redis, job)
        raise refuse(rq_job_id, f"expired: queued {age:.0f} s ago, [policy] job_ttl is {ttl} s")
    if age < -MAX_CLOCK_SKEW:
        raise refuse(rq_job_id, f"queued {-age:.0f} s in the future: the bot's and Redis's clocks disagree")
    # Held until the job could no longer pass the age check anyway.
    if not redis.set(seen_key(job.job_id), "1", nx=True, ex=max(1, math.ceil(ttl - age) + 1)):
        raise refuse(rq_job_id, "replayed: a job with this id was already run")
    return job


def _close_expired(redis: Redis, job: JobRequest) -> None:
    """An authentic job that waited too long: end its record (job list, queue share) and audit it.

    Nothing is posted: the thread stays as it was, like for any refused job — except a fan-out's part,
    which the merged reply must not wait for. A record already final (the job ran, this is a replay of it)
    is left alone.
    """
    store, detail = JobStore(redis), "expired before a worker took it"
    rec = store.get(job.job_id)
    if rec is not None and not rec.status.final:
        store.set_status(job.job_id, JobStatus.FAILED, detail)
        AuditLog(redis).record(AuditEvent.for_job(job, JobStatus.FAILED, None, detail))
        if job.parent:
            FanOut(redis).finish(job, Part(host=job.host, ok=False, text=detail))
