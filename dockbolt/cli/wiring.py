"""Composition root for the bot process: settings + config → Redis, Slack client, Bolt app, server, reaper
and the Slack outbox's deliverer.

Used by `dockbolt bot`, `dockbolt up` and the scenario/integration tests, so all three run the same
wiring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import create_app
from bot.approvals import ApprovalDesk
from bot.enqueue import Dispatcher
from bot.hooks import DeployHook
from bot.parsing import parse_run_words
from bot.reaper import Reaper
from bot.server import HttpServer, make_wsgi
from bot.verbs import CATALOG
from dockbolt.core.audit import AuditLog
from dockbolt.core.config import Config, load_config
from dockbolt.core.contract import host_queue
from dockbolt.core.delivery import Deliverer
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.jobstore import JobStore
from dockbolt.core.metrics import QUEUE_DEPTH
from dockbolt.core.outbox import Outbox
from dockbolt.core.periodic import Periodic
from dockbolt.core.redact import Redactor, install_log_redaction
from dockbolt.core.settings import Settings
from dockbolt.core.slack_client import make_web_client


def load_bot_config(settings: Settings) -> Config:
    """Load and validate the config file named by the settings (raises ConfigError)."""
    return load_config(settings.config_path, CATALOG, parse_run_words)


# The bot's Redis calls are all small, and most sit on the ack path (edge checks, accepting a job, `jobs`,
# `audit`): a hung or unreachable Redis must give a clear answer within Slack's 3 s, not a hang. One quick
# retry covers a pooled connection that went stale. A new connection sends nothing before the command but
# AUTH when a password is set (no CLIENT SETINFO): worst case, a hung Redis costs an ack 4 × 0.5 s.
REDIS_TIMEOUT = 0.5


def redis_from(settings: Settings, timeout: float = REDIS_TIMEOUT) -> Redis:
    """Return the bot's Redis client for REDIS_URL (default: localhost:6379), with short timeouts."""
    return Redis.from_url(settings.redis_location, socket_timeout=timeout,
                          socket_connect_timeout=REDIS_TIMEOUT, retry=Retry(NoBackoff(), 1),
                          driver_info=None)


# The deliverer blocks up to 1 s waiting for entries (BLPOP): its connections need a longer read timeout.
DELIVERY_REDIS_TIMEOUT = 5.0
# Delivery threads spend their time waiting on Slack (I/O). A worker's send reports as they are written (8
# rather than 2 halve the drain of a 500-command burst against a 300 ms Slack: 30 s vs 57 s); the bot's
# look every second, for retries and for what no worker is up to send.
DELIVERY_THREADS = 2
WORKER_DELIVERY_THREADS = 8
DELIVERY_SLACK_TIMEOUT = 10
APPROVAL_EXPIRY_EVERY = 5.0  # seconds: an expired approval request says so within this


def make_deliverer(settings: Settings, redactor: Redactor, ttl: float, threads: int = DELIVERY_THREADS,
                   name: str = "dockbolt-delivery", listen: bool = True) -> Deliverer:
    """The Slack outbox's deliverer for a bot (``listen=False``) or a worker process (not started)."""
    client = make_web_client(settings, timeout=DELIVERY_SLACK_TIMEOUT, redactor=redactor, retries=False)
    redis = redis_from(settings, DELIVERY_REDIS_TIMEOUT)
    return Deliverer(redis, client, ttl=ttl, threads=threads, name=name, listen=listen)


def queue_depths(redis: Redis) -> Callable[[], dict[str, int]]:
    """What ``dockbolt_queue_depth`` reads at each scrape: the length of each registered host's queue."""
    registry = HostRegistry(redis)
    return lambda: {q.name: q.count for q in (Queue(host_queue(h.info.name), connection=redis)
                                              for h in registry.all())}


@dataclass
class BotRuntime:
    """A running bot: its app, client, Redis, HTTP server (HTTP mode), reaper and deliverer."""

    app: App
    client: WebClient
    redis: Redis
    reaper: Reaper
    deliverer: Deliverer
    hook: DeployHook
    server: HttpServer | None = None
    expiry: Periodic | None = None

    def start_background(self) -> None:
        """Start reaping, expiring approval requests and delivering."""
        self.reaper.start()
        desk = ApprovalDesk(self.redis)
        self.expiry = Periodic(desk.expire_due, APPROVAL_EXPIRY_EVERY, "approval expiry").start()
        self.deliverer.start()

    def close(self) -> None:
        """Stop serving (requests being handled finish), reaping and delivering (pending reports stay in
        Redis for the next deliverer)."""
        if self.server is not None:
            self.server.close()
        self.reaper.stop()
        if self.expiry is not None:
            self.expiry.stop()
        self.deliverer.stop()


def build_bot(settings: Settings, config: Config, *, reaper_every: float = 5.0) -> BotRuntime:
    """Wire the app (calls auth.test) and the reaper, without serving yet."""
    redactor = Redactor(config.policy.guardrails.redact)
    install_log_redaction(redactor)  # the config's own patterns join the built-in ones in the logs
    client = make_web_client(settings, redactor=redactor)
    redis = redis_from(settings)
    deliverer = make_deliverer(settings, redactor, config.slack.delivery_ttl, listen=False)
    app = create_app(settings, config, redis, client, deliver=deliverer.deliver)
    reaper = Reaper(JobStore(redis), Outbox(redis), audit=AuditLog(redis), every=reaper_every)
    hook = DeployHook(config.apps, Dispatcher(client, redis, settings.job_secret, deliver=deliverer.deliver),
                      hosts=config.hosts)
    QUEUE_DEPTH.watch(queue_depths(redis))
    return BotRuntime(app=app, client=client, redis=redis, reaper=reaper, deliverer=deliverer, hook=hook)


def start_http_bot(settings: Settings, config: Config, *, host: str = "127.0.0.1", port: int = 0,
                   reaper_every: float = 5.0) -> BotRuntime:
    """Build the bot and serve it over HTTP in a background thread (port 0: any free port)."""
    rt = build_bot(settings, config, reaper_every=reaper_every)
    rt.server = HttpServer(make_wsgi(rt.app, rt.redis, hook=rt.hook), host=host, port=port).start()
    rt.start_background()
    return rt
