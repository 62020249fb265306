"""Prometheus metrics of the bot, the worker and the watcher: the series, their registries and ``serve``.

One ``CollectorRegistry`` per process role (``BOT``, ``WORKER``, ``WATCHER``) rather than the default
one: each process exposes only its own series (no empty ``HELP``/``TYPE`` lines of another role's), and
where several roles share a Python process (the scenario tests, the console's in-process bot) each
endpoint still shows one role. Each registry also carries prometheus_client's process, platform and GC
collectors. The Slack counters are one object registered in every role's registry: each process counts
what its own outbox deliverer saw.

Labels stay bounded: verbs are the known ones or ``unknown`` (the bot decides, ``bot.metrics``), outcomes
and job statuses are fixed sets, Slack methods and error codes are cut to a safe shape (else ``other``).
Values set in a forked RQ work horse are lost with it: the worker observes jobs from its parent process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from slack_sdk.errors import SlackApiError, SlackClientError

from dockbolt.core.collectors import QueueDepthCollector
from dockbolt.core.jobthread import ResponseUrlError

__all__ = ["ACK_SECONDS", "ALERTS", "BOT", "COMMANDS", "EVENTS", "JOB_DURATION", "QUEUE_DEPTH", "RECONNECTS",
           "SLACK_ERRORS", "SLACK_RATELIMITED", "WATCHER", "WORKER", "Outcome", "count_command",
           "count_slack_failure", "serve"]


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()  # no auto_describe: custom collectors are not read at registration
    # Fresh instances (the module-level PROCESS_COLLECTOR & co. belong to the default registry).
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


BOT = _registry()
WORKER = _registry()
WATCHER = _registry()

# What became of a slash command. ``refused``: turned away by a guardrail or a state (rate, queue share,
# text too long, a missing field, a build context, a deploy lock); ``duplicate``: a replay or a retry of
# one already received; ``error``: Redis unreachable or a bug (the user was told so).
Outcome = Literal["queued", "answered", "denied", "invalid", "refused", "duplicate", "error", "held"]
OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))

COMMANDS = Counter("dockbolt_commands", "Slash commands received, by verb and outcome",
                   ["verb", "outcome"], registry=BOT)
# Slack wants the ack within 3 s: buckets from 5 ms to past that deadline.
ACK_SECONDS = Histogram("dockbolt_ack_seconds", "Time from a slash command received to its ack",
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0), registry=BOT)
# Jobs take from milliseconds (`ps`) to minutes (`build`, `deploy`).
JOB_DURATION = Histogram("dockbolt_job_duration_seconds",
                         "Job run time from start to end, by verb and status", ["verb", "status"],
                         registry=WORKER,
                         buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0))
SLACK_ERRORS = Counter("dockbolt_slack_api_errors", "Slack calls of the outbox deliverer that failed "
                       "(429s included, as error=\"ratelimited\"), by method and error",
                       ["method", "error"], registry=None)
SLACK_RATELIMITED = Counter("dockbolt_slack_ratelimited",
                            "Slack calls answered 429 (rate limited), by method", ["method"], registry=None)
for _registry_of_role in (BOT, WORKER, WATCHER):
    _registry_of_role.register(SLACK_ERRORS)
    _registry_of_role.register(SLACK_RATELIMITED)
# Read at scrape time from the source the process hands it (``QUEUE_DEPTH.watch``): the bot and the worker.
QUEUE_DEPTH = QueueDepthCollector()
BOT.register(QUEUE_DEPTH)
WORKER.register(QUEUE_DEPTH)

# The watcher's own counters (incremented by workers.watcher).
ALERTS = Counter("dockbolt_alerts", "Alerts raised, by condition", ["condition"], registry=WATCHER)
EVENTS = Counter("dockbolt_events", "Docker engine events handled, by action", ["action"], registry=WATCHER)
RECONNECTS = Counter("dockbolt_event_stream_reconnects", "Times the engine's event stream was reopened",
                     registry=WATCHER)

_NAME = re.compile(r"[A-Za-z0-9_.]{1,64}")


def _bounded(value: str) -> str:
    return value if _NAME.fullmatch(value) else "other"


def count_command(verb: str, outcome: Outcome) -> None:
    """Count one slash command (``verb``: a known verb or ``unknown``, never free text)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    COMMANDS.labels(verb=_bounded(verb), outcome=outcome).inc()


def slack_failure_labels(exc: BaseException) -> tuple[str, str, bool] | None:
    """(method, error, rate limited) of a failed Slack call, each label from a bounded set; None when
    ``exc`` is not a Slack failure (a bug, Redis)."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        method = _bounded(str(resp.api_url or "").rstrip("/").rpartition("/")[2])
        error = resp.get("error") if isinstance(resp.data, dict) else None
        code = _bounded(error) if isinstance(error, str) else f"http_{resp.status_code}"
        return method, code, resp.status_code == 429
    if isinstance(exc, ResponseUrlError):  # a post to a response_url has its own limits (5 per URL)
        return "response_url", f"http_{exc.status}", exc.status == 429
    if isinstance(exc, SlackClientError | OSError):  # refused, reset, timed out: no method known
        return "unknown", _bounded(type(exc).__name__), False
    return None


def count_slack_failure(exc: BaseException) -> None:
    """Count a Slack call that failed: in ``SLACK_ERRORS``, and in ``SLACK_RATELIMITED`` when a 429."""
    labels = slack_failure_labels(exc)
    if labels is None:
        return
    method, error, limited = labels
    SLACK_ERRORS.labels(method=method, error=error).inc()
    if limited:
        SLACK_RATELIMITED.labels(method=method).inc()


def serve(host: str, port: int, registry: CollectorRegistry) -> tuple[int, Callable[[], None]]:
    """Serve ``registry`` on http://host:port/metrics from a daemon thread (port 0: any free port).

    Returns the port bound and a function that stops serving and frees it.
    """
    server, thread = start_http_server(port, addr=host, registry=registry)

    def close() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5.0)

    return int(server.server_port), close
