"""`dockbolt up`: the embedded default — private Redis, a worker, then Slack (tokens set) or the console.

With Slack tokens the bot runs as `dockbolt bot` does (Socket Mode, or HTTP on --host/--port). Without
them the console runs the whole real pipeline: signed requests to the real bot endpoint, the real queue
and worker, and Slack Web API calls landing in the in-process stand-in, which the console prints; its
bot token and signing secret are made up afresh for every run. Unless DOCKBOLT_JOB_SECRET is set, the
private bot and worker share a job secret made up for the run; the worker never gets Slack's signing
secret or app token.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from bot.verbs import CATALOG
from dockbolt.cli.local_redis import LocalRedis, LocalRedisError
from dockbolt.cli.procs import start_worker_process, stop_process
from dockbolt.cli.wiring import load_bot_config, start_http_bot
from dockbolt.core import metrics
from dockbolt.core.config_default import default_config_toml
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.redact import install_log_redaction
from dockbolt.core.settings import Secret, Settings
from workers.main import preflight


def _say(line: str) -> None:
    print(f"dockbolt: {line}", file=sys.stderr, flush=True)


def _worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)  # start_worker_process leaves out what only the bot may hold
    env.update(SLACK_API_URL=settings.slack_api_url, SLACK_BOT_TOKEN=settings.slack_bot_token.value,
               REDIS_URL=settings.redis_url or "", DOCKBOLT_CONFIG=settings.config_path,
               DOCKBOLT_JOB_SECRET=settings.job_secret.value)
    if settings.docker_host:
        env["DOCKER_HOST"] = settings.docker_host
    return env


WORKER_WAIT = 30.0  # seconds `up` waits for its worker to register its host
# The metrics flags of the worker and of the watcher.
ChildFlags = tuple[list[str], list[str]]


def _start_worker(settings: Settings, log_path: Path, args: list[str]) -> subprocess.Popen[bytes]:
    return start_worker_process(_worker_env(settings), log_path, args)


def _start_watcher(settings: Settings, log_path: Path, args: list[str]) -> subprocess.Popen[bytes]:
    """The watcher beside the worker: alerts and stats history of the same engine (same environment)."""
    return start_worker_process(_worker_env(settings), log_path, args, command="watch")


def _start_children(settings: Settings, stack: ExitStack, logdir: Path, flags: ChildFlags) -> None:
    """The worker and the watcher, stopped when ``stack`` closes (the watcher first); returns once the
    worker's host is registered (the bot refuses commands for a host no worker serves)."""
    worker = _start_worker(settings, logdir / "worker.log", flags[0])
    stack.callback(stop_process, worker)
    stack.callback(stop_process, _start_watcher(settings, logdir / "watch.log", flags[1]))
    _wait_for_host(settings, worker, logdir / "worker.log")


def _wait_for_host(settings: Settings, worker: subprocess.Popen[bytes], log_path: Path) -> None:
    """Until the worker's host is registered, or the worker exits, or ``WORKER_WAIT`` s (then say so)."""
    deadline = time.monotonic() + WORKER_WAIT
    with Redis.from_url(settings.redis_location, socket_timeout=3) as redis:
        registry = HostRegistry(redis)
        while worker.poll() is None and time.monotonic() < deadline:
            try:
                if any(h.workers for h in registry.all()):
                    return
            except RedisError:
                pass
            time.sleep(0.1)
    _say(f"the worker has not registered its Docker host (see {log_path}): commands are refused until it "
         "does")


def _metrics(stack: ExitStack, metrics_host: str, metrics_port: int | None) -> ChildFlags | None:
    """Serve the bot's /metrics on ``metrics_port`` (port+1 is the worker's, port+2 the watcher's; 0: any
    free ports, logged); the children's flags. None when the bot's port cannot be bound (said)."""
    if metrics_port is None:
        return [], []
    try:
        port, close = metrics.serve(metrics_host, metrics_port, metrics.BOT)
    except OSError as exc:
        _say(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc}")
        return None
    stack.callback(close)
    _say(f"bot metrics on http://{metrics_host}:{port}/metrics")

    def flags(offset: int) -> list[str]:
        return ["--metrics-port", str(metrics_port + offset if metrics_port else 0), "--metrics-host",
                metrics_host]

    return flags(1), flags(2)


def run_up(settings: Settings, *, user_id: str, channel_id: str, host: str, port: int,
           metrics_port: int | None = None, metrics_host: str = "127.0.0.1") -> int:
    """Run the embedded default until the console ends (or the bot is interrupted).

    ``host``/``port``: where the bot serves HTTP mode when Slack tokens are set (as `dockbolt bot`).
    ``metrics_port``: the bot's /metrics there, the worker's and the watcher's on the next two ports (None:
    not served).
    """
    if not settings.job_secret:
        settings = dataclasses.replace(settings, job_secret=Secret(secrets.token_hex(32)))
    with ExitStack() as stack:
        if not settings.redis_url:
            local = LocalRedis()
            try:
                url = local.start()
            except LocalRedisError as exc:
                _say(str(exc))
                return 2
            stack.callback(local.stop)
            settings = dataclasses.replace(settings, redis_url=url)
        problems = preflight(settings)
        if problems:
            for line in problems:
                _say(line)
            return 2
        flags = _metrics(stack, metrics_host, metrics_port)
        if flags is None:
            return 2
        logdir = Path(tempfile.mkdtemp(prefix="dockbolt-up-"))
        if settings.has_slack:
            _start_children(settings, stack, logdir, flags)
            _say(f"worker and watcher started (logs: {logdir}); starting the bot")
            from dockbolt.cli.run_bot import run_bot

            return run_bot(settings, host=host, port=port)
        return _console(settings, stack, logdir, user_id=user_id, channel_id=channel_id, flags=flags)


def _console(settings: Settings, stack: ExitStack, logdir: Path, *, user_id: str, channel_id: str,
             flags: ChildFlags) -> int:
    from dockbolt.console.repl import run_console
    from dockbolt.console.slack_standin import SlackStandIn

    # The terminal belongs to the console: the bot's log lines (authz decisions…) go to a file.
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.FileHandler(logdir / "bot.log")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    install_log_redaction()
    stack.callback(file_handler.close)
    cfg = Path(settings.config_path)
    if not cfg.exists():
        cfg.write_text(default_config_toml(user_id, CATALOG, notify_channel=channel_id))
        _say(f"wrote a default config to {cfg} (you, {user_id}, are admin; alerts come to {channel_id})")
    token = "xoxb-" + secrets.token_hex(16)  # only the in-process stand-in accepts it, and only this run
    standin = SlackStandIn(token=token)
    standin.start()
    stack.callback(standin.stop)
    settings = dataclasses.replace(settings, slack_api_url=standin.base_url,
                                   slack_bot_token=Secret(token),
                                   slack_signing_secret=Secret(secrets.token_hex(16)),
                                   slack_app_token=Secret(""))
    config = load_bot_config(settings)
    _start_children(settings, stack, logdir, flags)
    bot = start_http_bot(settings, config)
    stack.callback(bot.close)
    _say(f"local console: you are {user_id} in {channel_id}; logs in {logdir}. "
         "Type `help`, `ps`, `run -d --name web IMAGE`…; `exit` to quit.")
    assert bot.server is not None
    return run_console(bot_url=bot.server.url, signing_secret=settings.slack_signing_secret.value,
                       standin=standin, user_id=user_id, channel_id=channel_id,
                       command=config.slack.command, stdin=sys.stdin, stdout=sys.stdout)
