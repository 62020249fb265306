"""The `dockbolt` command: bot, worker, watch, up (the embedded default) and check."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from dockbolt.cli.procs import NOT_FOR_WORKERS
from dockbolt.core import metrics
from dockbolt.core.errors import ConfigError
from dockbolt.core.redact import install_log_redaction
from dockbolt.core.settings import Secret, Settings, load_settings

log = logging.getLogger(__name__)


def _http_args(p: argparse.ArgumentParser, when: str) -> None:
    p.add_argument("--port", type=int, default=3000, help=f"{when}port (default 3000)")
    p.add_argument("--host", default="0.0.0.0", help=f"{when}bind address (default 0.0.0.0)")  # noqa: S104


def _metrics_args(p: argparse.ArgumentParser) -> None:
    """``--metrics-port`` / ``--metrics-host``: where the process serves Prometheus ``/metrics``."""
    p.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics on http://HOST:PORT/metrics (0: any free port, logged; "
                        "default: not served)")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="bind address of the metrics endpoint (default 127.0.0.1)")


def _serve_metrics(args: argparse.Namespace, registry: CollectorRegistry,
                   who: str) -> Callable[[], None] | None:
    """Serve ``registry`` as the flags say (nothing without ``--metrics-port``); the function that stops it,
    or None when the port cannot be bound (said on stderr)."""
    if args.metrics_port is None:
        return lambda: None
    try:
        port, close = metrics.serve(args.metrics_host, args.metrics_port, registry)
    except OSError as exc:
        print(f"dockbolt {who}: cannot serve metrics on {args.metrics_host}:{args.metrics_port}: {exc}",
              file=sys.stderr)
        return None
    log.info("%s: serving Prometheus metrics on http://%s:%d/metrics", who, args.metrics_host, port)
    return close


def _host_name_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host-name", metavar="NAME", help="the Docker host's name in chat (`@NAME`) and in "
                   "alerts; default DOCKBOLT_HOST_NAME, else the engine's own Name (docker info)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockbolt", description="Slack ChatOps for Docker.")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bot", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    _http_args(b, "HTTP mode ")
    _metrics_args(b)
    w = sub.add_parser("worker", help="run an RQ worker with access to the Docker engine")
    w.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    _metrics_args(w)
    _host_name_arg(w)
    watch = sub.add_parser("watch", help="watch the Docker engine: container alerts, stats history, metrics")
    _metrics_args(watch)
    _host_name_arg(watch)
    u = sub.add_parser("up", help="the embedded default: private Redis + worker + console (or Slack)")
    u.add_argument("--as", dest="as_user", default="ULOCALADMIN", help="console: your Slack user id")
    u.add_argument("--channel", default="CCONSOLE", help="console: the channel you type in")
    _http_args(u, "with Slack tokens, HTTP mode ")
    _metrics_args(u)  # the bot's port; the worker's is the next one (and the watcher's the one after)
    sub.add_parser("check", help="validate the config and reach Redis, Docker and Slack")
    return p


def _worker_settings(settings: Settings) -> Settings:
    """The worker's settings: Slack's request-signing secret and app token dropped (and out of its env)."""
    for name in NOT_FOR_WORKERS:
        if os.environ.pop(name, None):
            log.warning("%s is set for a worker, which never uses it: dropped (it is for the bot only)", name)
    return dataclasses.replace(settings, slack_signing_secret=Secret(""), slack_app_token=Secret(""))


WATCH_DELIVERY_THREADS = 2  # alerts are few; each incident's entries go out in order through one lock


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    """`dockbolt watch`: the watcher of ``DOCKER_HOST``'s engine, delivering its own alerts."""
    from dockbolt.cli.wiring import load_bot_config, make_deliverer
    from dockbolt.core.collectors import ContainerCollector
    from dockbolt.core.redact import Redactor
    from workers.watch_main import run_watch
    from workers.watcher import Watcher

    config = load_bot_config(settings)
    wsettings = _worker_settings(settings)
    redactor = Redactor(config.policy.guardrails.redact)
    deliverer = make_deliverer(wsettings, redactor, config.slack.delivery_ttl,
                               threads=WATCH_DELIVERY_THREADS, name="dockbolt-watch-delivery")
    stop_metrics = _serve_metrics(args, metrics.WATCHER, "watcher")
    if stop_metrics is None:
        return 2

    def ready(watcher: Watcher) -> None:
        metrics.WATCHER.register(ContainerCollector(watcher.containers, host=watcher.host))
        watcher.on_event = lambda action: metrics.EVENTS.labels(action=action).inc()
        watcher.on_reconnect = metrics.RECONNECTS.inc
        watcher.alerter.counted = lambda condition: metrics.ALERTS.labels(condition=condition).inc()

    try:
        return run_watch(wsettings, config.monitor, redactor, deliverer=deliverer, ready=ready,
                         read_unmanaged=config.policy.guardrails.read_unmanaged)
    finally:
        stop_metrics()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()  # every log line passes the built-in secret patterns (RQ's own lines too)
    settings = load_settings()
    if getattr(args, "host_name", None):
        settings = dataclasses.replace(settings, host_name=args.host_name)
    bad = settings.problems()
    if bad:
        for line in bad:
            print(f"dockbolt: {line}", file=sys.stderr)
        return 2
    if args.cmd in ("bot", "worker") and not settings.job_secret:
        print("dockbolt: DOCKBOLT_JOB_SECRET is not set: the bot signs every job with it and workers run "
              "only jobs they can verify; give the bot and every worker the same random value (e.g. "
              "`openssl rand -hex 32`)", file=sys.stderr)
        return 2
    try:
        if args.cmd == "worker":
            from dockbolt.cli.wiring import WORKER_DELIVERY_THREADS, load_bot_config, make_deliverer
            from dockbolt.core.redact import Redactor
            from workers.main import run_worker

            config = load_bot_config(settings)
            wsettings = _worker_settings(settings)
            deliverer = make_deliverer(wsettings, Redactor(config.policy.guardrails.redact),
                                       config.slack.delivery_ttl, threads=WORKER_DELIVERY_THREADS,
                                       name="dockbolt-worker-delivery")
            stop_metrics = _serve_metrics(args, metrics.WORKER, "worker")
            if stop_metrics is None:
                return 2
            try:
                return run_worker(wsettings, config.policy, burst=args.burst, deliverer=deliverer,
                                  build=config.build, apps=config.apps, monitor=config.monitor)
            finally:
                stop_metrics()
        if args.cmd == "watch":
            return _watch(args, settings)
        if args.cmd == "bot":
            from dockbolt.cli.run_bot import run_bot

            stop_metrics = _serve_metrics(args, metrics.BOT, "bot")
            if stop_metrics is None:
                return 2
            try:
                return run_bot(settings, host=args.host, port=args.port)
            finally:
                stop_metrics()
        if args.cmd == "up":
            from dockbolt.cli.up import run_up

            return run_up(settings, user_id=args.as_user, channel_id=args.channel, host=args.host,
                          port=args.port, metrics_port=args.metrics_port, metrics_host=args.metrics_host)
        from dockbolt.cli.check import run_check

        return run_check(settings)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"dockbolt: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
