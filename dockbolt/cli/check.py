"""`dockbolt check`: validate the config and reach Redis, Docker and Slack; one line per problem.

Besides problems (which make it exit 1) it warns about settings that work but are unsafe: a default role
that may change anything or holds grants, missing or short secrets, plain-HTTP Slack, Redis without a
password reachable off this host; about no Docker host registered, a registered host whose workers
stopped beating (its commands are refused), container alerts with nowhere to go, no watcher running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.messages import ago
from dockbolt.cli.wiring import load_bot_config
from dockbolt.core.apps import AppConfig
from dockbolt.core.contract import host_queue
from dockbolt.core.errors import ConfigError
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.incidents import live_watchers
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.outbox import Outbox
from dockbolt.core.rbac import Policy, allowed_verbs, grants_of
from dockbolt.core.settings import Secret, Settings
from dockbolt.core.slack_client import make_web_client
from workers.main import preflight

MIN_SECRET = 32
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def policy_warnings(policy: Policy) -> list[str]:
    """What the policy allows everyone (default_role) beyond reading."""
    role = policy.default_role
    if not role:
        return []
    out: list[str] = []
    changes = [v for v in allowed_verbs(policy, [role]) if v not in policy.read_verbs | policy.open_verbs]
    if changes:
        out.append(f'rbac.default_role = "{role}" lets every user in every channel run '
                   f"{', '.join(changes)}: give default_role a read-only role (or none)")
    grants = sorted(grants_of(policy, role))
    if grants:
        out.append(f'rbac.default_role = "{role}" gives every user the grants {", ".join(grants)}')
    return out


def app_warnings(apps: Mapping[str, AppConfig], environ: Mapping[str, str]) -> list[str]:
    """Apps whose webhook secret is missing or short in this (the bot's) environment."""
    out: list[str] = []
    for app in apps.values():
        if app.webhook_secret_env:
            out += _secret(app.webhook_secret_env, Secret(environ.get(app.webhook_secret_env, "")),
                           f"POST /hooks/deploy for {app.name} answers 401 until it is")
    return out


def _secret(name: str, value: Secret, needed_for: str) -> list[str]:
    if not value:
        return [f"{name} is not set: {needed_for}"]
    if len(value.value) < MIN_SECRET:
        return [f"{name} is {len(value.value)} characters: use at least {MIN_SECRET} random ones "
                "(e.g. `openssl rand -hex 32`)"]
    return []


def settings_warnings(settings: Settings) -> list[str]:
    """Secrets, transport and Redis exposure."""
    out: list[str] = []
    if not settings.socket_mode:
        out += _secret("SLACK_SIGNING_SECRET", settings.slack_signing_secret,
                       "HTTP mode cannot verify that requests come from Slack")
    out += _secret("DOCKBOLT_JOB_SECRET", settings.job_secret,
                   "workers cannot tell jobs from the bot from forged ones")
    api = urlsplit(settings.slack_api_url)
    if api.scheme == "http" and api.hostname not in _LOCAL_HOSTS:
        out.append(f"SLACK_API_URL {settings.slack_api_url} is plain http: tokens would cross the network "
                   "unencrypted")
    redis = urlsplit(settings.redis_location)
    if redis.scheme != "unix" and not redis.password and redis.hostname not in _LOCAL_HOSTS:
        out.append(f"Redis at {redis.hostname} has no password: anyone who reaches it can read jobs and "
                   "queue work (set one in REDIS_URL, redis://:PASSWORD@host, and prefer rediss://)")
    return out


def delivery_warnings(redis: Redis) -> list[str]:
    """A line when reports wait for Slack or were given up (nothing when Redis cannot be asked)."""
    try:
        waiting, given_up = Outbox(redis).backlog()
    except RedisError:
        return []
    out = []
    if waiting:
        out.append(f"the reports of {waiting} job(s) are waiting for Slack to take them (the outbox retries "
                   "them; see the bot's and workers' logs for why Slack refuses)")
    if given_up:
        out.append(f"{given_up} report(s) on jobs could not be delivered to Slack and were given up "
                   "(logged with their reason; [slack] delivery_ttl sets how long they are retried)")
    return out


def monitor_warnings(monitor: MonitorConfig, redis: Redis) -> list[str]:
    """Alerts with nowhere to go; no watcher running (nothing when Redis cannot be asked)."""
    out = []
    if not monitor.notify_channel and not monitor.routes:
        out.append("container alerts have nowhere to go: set [slack] notify_channel or [[monitor.routes]]")
    try:
        if not live_watchers(redis):
            out.append("no watcher is running: no container alerts and no stats history (start `dockbolt "
                       "watch` on every Docker host; `dockbolt up` starts one)")
    except RedisError:
        pass
    return out


def host_warnings(redis: Redis) -> list[str]:
    """One line per registered host none of whose workers beat lately, or one when no host registered
    (nothing when Redis cannot be asked)."""
    try:
        hosts = HostRegistry(redis).all()
    except RedisError:
        return []
    if not hosts:
        return ["no worker has registered a Docker host yet: queued commands are refused until a "
                "`dockbolt worker` starts"]
    return [f"host {h.info.name} has no live worker (last seen {ago(h.age)}): commands for it "
            "are refused until a `dockbolt worker` for it starts" for h in hosts if not h.workers]


def find_problems(settings: Settings) -> tuple[list[str], list[str], list[str]]:
    """Return (problems, warnings, what was reached), one line each."""
    problems: list[str] = []
    reached: list[str] = []
    warnings = settings_warnings(settings)
    config = None
    try:
        config = load_bot_config(settings)
        warnings += policy_warnings(config.policy) + app_warnings(config.apps, os.environ)
        reached.append(f"config {settings.config_path}: {len(config.policy.roles)} roles, "
                       f"{len(config.policy.bindings)} bindings, {len(config.apps)} apps")
    except ConfigError as exc:
        problems.extend(exc.problems)
    down = preflight(settings)
    problems.extend(down)
    if not any(line.startswith("Redis") for line in down):
        reached.append(f"Redis at {settings.redis_shown}")
    if not any(line.startswith("Docker") for line in down):
        reached.append(f"Docker at {settings.docker_host or 'the local socket'}")
    with Redis.from_url(settings.redis_location, socket_timeout=3) as redis:
        warnings += host_warnings(redis) + delivery_warnings(redis)
        if config is not None:
            warnings += monitor_warnings(config.monitor, redis)
    if not settings.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN is not set: Slack cannot be reached (the local console needs "
                        "none)")
    else:
        try:  # no retry handlers: one clear line when Slack is away, not a retry log per attempt
            me = make_web_client(settings, timeout=10, retries=False).auth_test()
            reached.append(f"Slack at {settings.slack_api_url}: bot {me.get('user')} in {me.get('team')}")
        except SlackApiError as exc:
            error = exc.response.get("error")
            problems.append(f"Slack auth.test failed at {settings.slack_api_url}: {error}")
        except OSError as exc:
            problems.append(f"Slack unreachable at {settings.slack_api_url}: {exc}")
    return problems, warnings, reached


def host_lines(settings: Settings) -> list[str]:
    """What each registered Docker host's workers last reached (nothing when Redis cannot be asked)."""
    try:
        with Redis.from_url(settings.redis_location, socket_timeout=3) as redis:
            hosts = HostRegistry(redis).all()
    except RedisError:
        return []
    return [f"host {h.info.name}: {h.workers} live worker(s); Docker {h.info.engine or '?'} on "
            f"{h.info.os or '?'}, {h.info.cpus} CPUs, {h.info.running} running container(s), last beat "
            f"{ago(h.age)} (queue {host_queue(h.info.name)})" for h in hosts]


def run_check(settings: Settings) -> int:
    """Print what was reached, the problems and the warnings, and return the exit code (1: problems)."""
    # slack-sdk logs each failed call at ERROR; the check says it once, in its own line.
    logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)
    problems, warnings, reached = find_problems(settings)
    for line in reached:
        print(f"✓ {line}")
    for line in host_lines(settings):
        print(f"· {line}")
    for line in problems:
        print(f"✗ {line}")
    for line in warnings:
        print(f"⚠ {line}")
    if not problems:
        tail = f", with {len(warnings)} warning(s) above" if warnings else ""
        print(f"✓ config {settings.config_path}, Redis, Docker and Slack all OK{tail}")
    return 1 if problems else 0
