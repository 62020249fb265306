"""The real `dockbolt bot` process in Socket Mode (SLACK_APP_TOKEN set), connected to the stand-in's
websocket; real `dockbolt worker` processes on demand. No HTTP route to Slack events exists in this mode:
every slash command and click arrives over the socket the bot opened with apps.connections.open.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from dockbolt.cli.procs import start_worker_process, stop_process
from dockbolt.console.slack_standin import SlackStandIn, SocketMode
from dockbolt.core.hosts import HostRegistry
from tests.conftest import unavailable
from tests.support.harness import JOB_SECRET, TOKEN
from tests.support.pipeline import TEST_CONFIG, poll_until
from workers.docker_connect import DEFAULT_DOCKER_HOST

CONNECT_GUARD = 60.0  # only so that a bot that never connects fails instead of hanging; not a timing claim


def app_token() -> str:
    """A fresh app-level token, shaped like Slack's (``xapp-1-<app id>-<digits>-<hex>``)."""
    return f"xapp-1-A0LOCAL-{secrets.randbelow(10**12)}-{secrets.token_hex(32)}"


@dataclass
class SocketBot:
    """Stand-in Slack with Socket Mode + one `dockbolt bot` process (+ workers), one Redis."""

    standin: SlackStandIn
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    logdir: Path
    redis: Redis
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def socket(self) -> SocketMode:
        """The stand-in's Socket Mode side: deliver, read acks, disconnect."""
        return self.standin.socket_mode

    def log(self) -> str:
        """The bot's output so far (for failure messages and checks)."""
        return (self.logdir / "bot.log").read_text(errors="replace")

    def wait_connected(self, number: int = 1) -> None:
        """Wait until the bot has opened its ``number``-th connection, failing early if it exits."""
        def connected() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bot exited with {self.proc.returncode}: {self.log()}")
            return any(link.number == number and link.open for link in self.socket.links)

        poll_until(connected, timeout=CONNECT_GUARD, what=f"the bot's connection {number}")

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start a real `dockbolt worker` (it never gets the app token); returns once its host is served
        (the bot accepts commands only for a host some worker serves)."""
        log = self.logdir / f"worker-{len(self.workers)}.log"
        proc = start_worker_process(self.env, log)
        self.workers.append(proc)
        hosts = HostRegistry(self.redis)
        poll_until(lambda: proc.poll() is not None or any(h.workers for h in hosts.all()),
                   timeout=CONNECT_GUARD, what="the worker's host served")
        assert proc.poll() is None, log.read_text()
        return proc

    def stop_bot(self) -> int:
        """SIGTERM the bot (as an operator stops it) and return its exit code."""
        stop_process(self.proc, timeout=CONNECT_GUARD)
        return self.proc.returncode

    def close(self) -> None:
        """Stop the workers, the bot and the stand-in."""
        for proc in self.workers:
            stop_process(proc)
        self.stop_bot()
        self.standin.stop()
        self.redis.close()


def start_bot_process(env: dict[str, str], logdir: Path, command: str = "bot") -> subprocess.Popen[bytes]:
    """`python -m dockbolt bot --host 127.0.0.1 --port 0` (or `up`) with ``env``, output to
    ``logdir``/bot.log, in a session of its own."""
    with (logdir / "bot.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dockbolt", command, "--host", "127.0.0.1", "--port", "0"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_socket_bot(redis_url: str, logdir: Path, *, bot_app_token: str | None = None,
                     command: str = "bot") -> SocketBot:
    """Start the stand-in (with an app token) and `dockbolt bot` (or `dockbolt up`) given ``bot_app_token``
    (default: the stand-in's); does not wait for the bot to connect."""
    token = app_token()
    config = logdir / "dockbolt.toml"
    config.write_text(TEST_CONFIG)
    standin = SlackStandIn(token=TOKEN, app_token=token).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DOCKBOLT_"))}
    env.update(SLACK_API_URL=standin.base_url, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=bot_app_token or token,
               REDIS_URL=redis_url, DOCKBOLT_CONFIG=str(config), DOCKBOLT_JOB_SECRET=JOB_SECRET)
    try:
        proc = start_bot_process(env, logdir, command)
    except BaseException:
        standin.stop()
        raise
    return SocketBot(standin=standin, proc=proc, env=env, logdir=logdir, redis=Redis.from_url(redis_url))


def require_docker_engine() -> None:
    """Skip (locally) or fail (CI) when no Docker engine answers on the local socket or DOCKER_HOST."""
    host = os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    if not host.startswith("unix://"):
        return  # a tcp:// engine: the worker says so itself if it is unreachable
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(host.removeprefix("unix://"))
        except OSError as exc:
            unavailable(f"no Docker engine at {host}: {exc}")
