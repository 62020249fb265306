"""A whole local pipeline — stand-in Slack, the bot over HTTP, a Redis, real worker processes.

Used by the scenario/integration tests and by `make bench`, so both measure the product's real wiring.
The config is written to ``<logdir>/dockbolt.toml`` and read from there by the bot and by every worker
(as DOCKBOLT_CONFIG), as in production; bot and workers share ``JOB_SECRET`` (DOCKBOLT_JOB_SECRET), and
workers never get the Slack signing secret.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

from bot.messages import accepted_job_id
from dockbolt.cli.procs import start_worker_process, stop_process
from dockbolt.cli.wiring import BotRuntime, load_bot_config, start_http_bot
from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.console.slash_client import SlashClient, SlashResponse
from dockbolt.core.contract import host_queue
from dockbolt.core.hosts import HOSTS, WORKERS, HostInfo, HostRegistry
from dockbolt.core.jobstore import JobStore
from dockbolt.core.settings import Settings, load_settings
from tests.support.slack_faults import SlackFaults

# The Docker host the harness's workers serve (DOCKBOLT_HOST_NAME unless a test gives another). Before
# the first worker starts, a placeholder registration stands for it, so the bot routes commands to this
# host's queue as tests of the bot alone always had it: accepted and queued, run once a worker starts.
HOST = "local"
PLACEHOLDER = "no-worker-yet"
QUEUE = host_queue(HOST)
TOKEN = "xoxb-harness-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
JOB_SECRET = "harness-job-secret-5b1c0e9d7a3f42e8b6d0c4a1f9e7d3b2"
CHANNEL = "CTEAM"


def job_of_ack(redis: Redis, resp: SlashResponse, user_id: str, response_url: str) -> str | None:
    """The job a slash command was accepted as. An ack that says more than "accepted" (a private job, an
    `-e` warning) names it in its block_id; a quiet ack (HTTP 200, empty body: the card says it) names
    nothing, so the job is the one recorded (before the ack) with the command's response_url. None when
    the command was not accepted."""
    named = accepted_job_id(resp.json)
    if named is not None or resp.status != 200 or resp.body.strip():
        return named
    store = JobStore(redis)
    for start in range(0, 50, 5):  # a few at a time: usually the newest one, and a bench shares the CPU
        for rec in store.recent_for_user(user_id, 5, start):
            if rec.request.response_url == response_url and not rec.request.parent:
                return rec.request.job_id
    return None


@dataclass
class Pipeline:
    """Stand-in Slack (and its faults) + the bot over HTTP (+ worker processes on demand), one Redis."""

    standin: SlackStandIn
    faults: SlackFaults
    bot: BotRuntime
    settings: Settings
    redis: Redis
    slash: SlashClient
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    watchers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logdir: Path | None = None
    # What each answer of ``send`` was an answer to (id of the response → (it, user, response_url)).
    sent: dict[int, tuple[SlashResponse, str, str]] = field(default_factory=dict)
    _sent_lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, text: str, user_id: str = "UOPERATOR", channel_id: str = CHANNEL,
             **kw: object) -> SlashResponse:
        """Send a signed slash command as Slack would, with a fresh response_url."""
        url = self.standin.new_response_url()
        resp = self.slash.send(text, user_id=user_id, channel_id=channel_id, response_url=url,
                               **kw)  # type: ignore[arg-type]
        with self._sent_lock:
            self.sent[id(resp)] = (resp, user_id, url)
        return resp

    def job_of(self, resp: SlashResponse) -> str | None:
        """The job the command ``send`` answered with ``resp`` was accepted as (``job_of_ack``)."""
        with self._sent_lock:
            _, user_id, url = self.sent[id(resp)]
        return job_of_ack(self.redis, resp, user_id, url)

    def _env(self, extra_env: dict[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(SLACK_API_URL=self.settings.slack_api_url, SLACK_BOT_TOKEN=TOKEN,
                   REDIS_URL=self.settings.redis_url or "", DOCKBOLT_CONFIG=self.settings.config_path,
                   DOCKBOLT_JOB_SECRET=JOB_SECRET)
        env.update({"DOCKBOLT_HOST_NAME": HOST, **(extra_env or {})})
        return env

    def start_watcher(self, extra_env: dict[str, str] | None = None,
                      args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """Start a real `dockbolt watch [args]`; returns once it follows the engine's events (its cursor is
        in Redis): every event after that is its to report."""
        assert self.logdir is not None
        before = set(self.redis.keys("dockbolt:events:*"))
        proc = start_worker_process(self._env(extra_env), self.logdir / f"watch-{len(self.watchers)}.log",
                                    args, command="watch")
        self.watchers.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if set(self.redis.keys("dockbolt:events:*")) - before or (before and len(self.watchers) > 1):
                time.sleep(0.2)  # the cursor is written just before the stream is opened
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"watcher exited early: {self.watcher_log()}")
            time.sleep(0.1)
        raise RuntimeError(f"watcher did not start: {self.watcher_log()}")

    def watcher_log(self) -> str:
        """All watcher logs, for failure messages and checks."""
        assert self.logdir is not None
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("watch-*.log")))

    def start_worker(self, extra_env: dict[str, str] | None = None,
                     args: Sequence[str] = ()) -> subprocess.Popen[bytes]:
        """Start a real `dockbolt worker [args]` process against this pipeline's Redis and stand-in."""
        env = self._env(extra_env)
        assert self.logdir is not None
        proc = start_worker_process(env, self.logdir / f"worker-{len(self.workers)}.log", args)
        self.workers.append(proc)
        name, registry = f"dockbolt-{socket.gethostname()}-{proc.pid}", HostRegistry(self.redis)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until RQ registered the worker, and it its host
            running = len([w for w in self.workers if w.poll() is None])
            host = next((h.info.name for h in registry.all()
                         if self.redis.zscore(WORKERS + h.info.name, name)), None)
            if self.redis.scard("rq:workers") >= running and host is not None:
                registry.leave(HOST, PLACEHOLDER)  # a real worker now: the placeholder goes
                if host != HOST and not self.redis.zcard(WORKERS + HOST):
                    self.redis.hdel(HOSTS, HOST)
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.worker_log()}")
            time.sleep(0.1)
        raise RuntimeError(f"worker did not register: {self.worker_log()}")

    def worker_log(self) -> str:
        """All worker logs, for failure messages."""
        assert self.logdir is not None
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logdir.glob("worker-*.log")))

    def close(self) -> None:
        """Stop workers, the bot and the stand-in."""
        for proc in self.workers + self.watchers:
            stop_process(proc)
        self.bot.close()
        self.standin.stop()


def register_placeholder(redis: Redis) -> None:
    """Register ``HOST`` as served (for an hour) before any real worker starts: the bot routes commands
    to its queue, where they wait for a worker (tests of the bot alone, and of work accepted early)."""
    HostRegistry(redis).beat(HostInfo(name=HOST), PLACEHOLDER, ttl=3600)


def start_pipeline(redis_url: str, logdir: Path, config_text: str,
                   usergroups: dict[str, list[str]] | None = None, reaper_every: float = 1.0,
                   placeholder: bool = True) -> Pipeline:
    """Write ``config_text`` to ``logdir``/dockbolt.toml; start the stand-in and the bot (HTTP, port 0)."""
    config_path = logdir / "dockbolt.toml"
    config_path.write_text(config_text)
    standin = SlackStandIn(token=TOKEN, usergroups=usergroups or {})
    standin.start()
    settings = load_settings({"SLACK_API_URL": standin.base_url, "SLACK_BOT_TOKEN": TOKEN,
                              "SLACK_SIGNING_SECRET": SECRET, "REDIS_URL": redis_url,
                              "DOCKBOLT_CONFIG": str(config_path), "DOCKBOLT_JOB_SECRET": JOB_SECRET})
    try:
        bot = start_http_bot(settings, load_bot_config(settings), reaper_every=reaper_every)
    except BaseException:
        standin.stop()
        raise
    assert bot.server is not None
    if placeholder:
        register_placeholder(Redis.from_url(redis_url))
    return Pipeline(standin=standin, faults=SlackFaults(standin), bot=bot, settings=settings,
                    redis=Redis.from_url(redis_url), slash=SlashClient(bot.server.url, SECRET), logdir=logdir)
