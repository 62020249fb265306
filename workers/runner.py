"""The RQ job function (``dockbolt.core.contract.JOB_FUNC``): run one verb and report into its thread.

Reports go to the job's outbox in Redis (``workers.reporter``), never straight to Slack: the job does not
wait on Slack, and its outcome is what happened in Docker whatever Slack answers. No job ends silently: a
Docker error is posted in Docker's words; a timeout, a crash or a missing handler ends with a message in
the thread and a final card status. A worker that dies outright cannot report, so a heartbeat thread
marks the job alive every few seconds and the bot's reaper reports jobs whose heartbeat stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from rq import get_current_job
from rq.timeouts import JobTimeoutException

from dockbolt.core.audit import AuditEvent, AuditLog
from dockbolt.core.buttons import Button, retry_button
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.deploys import DeployStore
from dockbolt.core.errors import ContractError, DockerUnavailable, UserError
from dockbolt.core.fanout import FanOut
from dockbolt.core.jobstore import JobStore
from dockbolt.core.lanes import Lanes
from dockbolt.core.outbox import Outbox
from dockbolt.core.periodic import Periodic
from dockbolt.core.rbac import decision_log_line
from dockbolt.core.redact import MASK, Redactor
from dockbolt.core.settings import Settings
from dockbolt.core.stathistory import StatsHistory
from workers import authz, docker_engine, messages, trust
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext
from workers.reporter import PartReporter, ThreadReporter

log = logging.getLogger(__name__)
authz_log = logging.getLogger("dockbolt.authz")

HEARTBEAT_EVERY = 5.0
JOB_REDIS_TIMEOUT = 5.0
SETTLE_WITHIN = 60.0


def start_heartbeat(store: JobStore, job_id: str, every: float = HEARTBEAT_EVERY) -> Periodic:
    """Mark the job alive now, then every ``every`` seconds until stopped (a missed beat is tolerated)."""
    store.heartbeat(job_id)
    return Periodic(lambda: store.heartbeat(job_id), every, f"heartbeat of job {job_id}").start()


def _redis(settings: Settings) -> Redis:
    """The job's own Redis client, with short timeouts: RQ's connection waits up to 55 s on a hung Redis
    (it must outlast its blocking dequeue); a report or a lane check must not."""
    return Redis.from_url(settings.redis_location, socket_timeout=JOB_REDIS_TIMEOUT,
                          socket_connect_timeout=JOB_REDIS_TIMEOUT, retry=Retry(NoBackoff(), 1),
                          driver_info=None)


def _settle(what: str, write: Callable[[], None], within: float = SETTLE_WITHIN) -> None:
    """Write a job's outcome, trying again while Redis is unreachable (up to ``within`` seconds): what
    happened in Docker is recorded once Redis is back, not lost to an outage at the wrong moment."""
    deadline, delay = time.monotonic() + within, 0.5
    while True:
        try:
            write()
            return
        except RedisError as exc:
            if time.monotonic() + delay > deadline:
                log.error("%s: not recorded, Redis unreachable for %g s (%s)", what, within, exc)
                return
            log.warning("%s: Redis unreachable (%s); trying again in %g s", what, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def run_job(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """Execute one queued verb from its signed envelope; returns {"status": …} for RQ's record.

    Nothing happens before ``trust.accept`` verified the envelope: a refused job raises ``JobRefused``
    (RQ records it failed) without a word to Slack or a call to Docker.
    """
    ctx = trust.context()
    with _redis(ctx.settings) as redis:  # closed: a job run in the worker's own process leaves no socket
        return _run(envelope, ctx, redis)


def _run(envelope: Mapping[str, Any], ctx: trust.WorkerContext, redis: Redis) -> dict[str, Any]:
    current = get_current_job()
    job = trust.accept(envelope, rq_job_id=current.id if current is not None else "", ctx=ctx, redis=redis)
    store = JobStore(redis)
    started = time.monotonic()
    store.set_status(job.job_id, JobStatus.RUNNING, request=job)
    beat = start_heartbeat(store, job.job_id)
    redactor = Redactor(ctx.policy.guardrails.redact)
    reporter = (PartReporter(Outbox(redis), job, redactor) if job.parent
                else ThreadReporter(Outbox(redis), job, redactor))
    lanes = Lanes(redis)
    status, detail = JobStatus.FAILED, ""
    offered: tuple[Button, ...] = ()
    waited_for = ""
    try:
        reporter.running_soon()  # a quick job's card goes from queued to its result in one edit

        def waiting(earlier: str) -> None:
            nonlocal waited_for
            waited_for = earlier
            _tell(job, reporter.card, JobStatus.RUNNING, detail=messages.waiting_for(earlier))

        lanes.wait_turn(job, waiting)  # the user's earlier commands in this channel come first
        waited_for = ""
        status, detail, offered = _execute(job, ctx, reporter)
    except JobTimeoutException:
        status, detail = JobStatus.TIMED_OUT, "took too long"
        told = (messages.timed_out_waiting(job, waited_for, _timeout_of()) if waited_for
                else messages.timed_out(job, _timeout_of()))
        _tell(job, reporter.post, told)
        raise
    except Exception:
        log.exception("job %s (%s) crashed", job.job_id, job.verb)
        detail = "internal error"
        _tell(job, reporter.post, messages.crashed(job))
        raise
    finally:
        beat.stop()
        reporter.no_running()  # never after the final edit
        elapsed = time.monotonic() - started

        # What the final card offers next: the result's buttons, or Retry.
        offer = offered if status is JobStatus.DONE else retry_button(job.command_text, job.host,
                                                                      masked=MASK in job.command_text)

        def outcome() -> None:  # each step may be repeated: leave, status, card and part are idempotent
            lanes.leave(job)
            store.set_status(job.job_id, status, detail)
            if isinstance(reporter, PartReporter):
                FanOut(redis).finish(job, reporter.part(job.host, status, detail))
            else:
                reporter.card(status, elapsed=elapsed, detail=detail, buttons=offer)

        _settle(f"job {job.job_id} ended {status.value}", outcome)
        _settle(f"audit of job {job.job_id}",
                lambda: AuditLog(redis).record(AuditEvent.for_job(job, status, elapsed, detail)), within=10)
    return {"status": status.value}


def _execute(job: JobRequest, ctx: trust.WorkerContext,
             reporter: ThreadReporter) -> tuple[JobStatus, str, tuple[Button, ...]]:
    """Run the job's handler: its outcome, a few words for the card and what the card offers next."""
    handler = HANDLERS.get(job.verb)
    if handler is None:
        reporter.post(messages.unknown_verb(job.verb))
        return JobStatus.FAILED, "unknown verb", ()
    try:
        args = handler.args.from_dict(job.args)
    except ContractError as exc:
        log.error("job %s: %s", job.job_id, exc)
        reporter.post(messages.bad_args(job, str(exc)))
        return JobStatus.FAILED, "malformed arguments", ()
    caller = authz.Caller(job.user_id, job.user_groups, job.channel_id, job.verb)
    docker = None
    try:
        docker = docker_engine.connect(ctx.settings.docker_host, tls=ctx.settings.docker_tls)
        # Checked again here, against the engine's view of the targets, right before acting.
        decision = authz.check(ctx.policy, caller, args, docker, ctx.apps)
        authz_log.info(decision_log_line(decision))
        if not decision.allowed:
            reporter.post(messages.not_allowed(decision.reason))
            return JobStatus.FAILED, "not allowed", ()
        hctx = HandlerContext(job=job, docker=docker, progress=reporter.progress,
                              guardrails=ctx.policy.guardrails, docker_host=ctx.settings.docker_host,
                              visible=authz.visibility(ctx.policy, caller), build=ctx.build,
                              deploys=DeployStore(reporter.outbox.redis), reporter=reporter,
                              stats_history=(StatsHistory(reporter.outbox.redis, ctx.host_name, ctx.monitor)
                                             if ctx.host_name else None), monitor=ctx.monitor)
        reply = handler.run(hctx, args)
    except DockerUnavailable as exc:
        reporter.post(messages.docker_unreachable(str(exc)))
        return JobStatus.FAILED, "Docker unreachable", ()
    except UserError as exc:
        reporter.post(messages.docker_said(str(exc)))
        return JobStatus.FAILED, str(exc).splitlines()[0][:200] if str(exc) else "", ()
    finally:
        if docker is not None:
            docker.close()
    # What happened in Docker decides the outcome; a reply that could not be written is logged.
    _tell(job, reporter.reply, reply)
    return (JobStatus.DONE if reply.ok else JobStatus.FAILED), reply.detail, reply.buttons


def _tell(job: JobRequest, say: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Write a report to the outbox; a Redis that cannot take it is logged and the job goes on."""
    try:
        say(*args, **kwargs)
    except RedisError as exc:
        log.warning("job %s: could not write its report (%s)", job.job_id, exc)


def _timeout_of() -> str:
    current = get_current_job()
    return f"{current.timeout:g}" if current is not None and current.timeout else "?"
