"""`dockbolt check` warns about settings that work but are unsafe, and about a queue no worker serves."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest
from redis import Redis

from bot.parsing import parse_run_words
from bot.verbs import CATALOG
from dockbolt.cli.check import (
    app_warnings,
    delivery_warnings,
    host_lines,
    host_warnings,
    monitor_warnings,
    policy_warnings,
    run_check,
    settings_warnings,
)
from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.config import parse_config
from dockbolt.core.config_default import default_config_toml
from dockbolt.core.hosts import HostInfo, HostRegistry
from dockbolt.core.incidents import IncidentStore, live_watchers
from dockbolt.core.monitor import MonitorConfig, Route
from dockbolt.core.outbox import Outbox
from dockbolt.core.rbac import Policy
from dockbolt.core.settings import load_settings

GOOD = {"SLACK_SIGNING_SECRET": "s" * 32, "DOCKBOLT_JOB_SECRET": "j" * 64,
        "SLACK_API_URL": "https://slack.com/api/", "REDIS_URL": "redis://localhost:6379/0"}


def _policy(toml_text: str) -> Policy:
    return parse_config(tomllib.loads(toml_text), "d.toml", CATALOG).policy


def test_safe_settings_give_no_warning() -> None:
    assert settings_warnings(load_settings(GOOD)) == []


def test_missing_and_short_secrets_are_named() -> None:
    text = "\n".join(settings_warnings(load_settings({**GOOD, "SLACK_SIGNING_SECRET": "x",
                                                       "DOCKBOLT_JOB_SECRET": ""})))
    assert "SLACK_SIGNING_SECRET is 1 characters" in text
    assert "DOCKBOLT_JOB_SECRET is not set" in text


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {**GOOD, "SLACK_SIGNING_SECRET": "", "SLACK_APP_TOKEN": "xapp-1"}
    assert settings_warnings(load_settings(env)) == []


def test_plain_http_slack_is_a_warning_except_on_loopback() -> None:
    plain = settings_warnings(load_settings({**GOOD, "SLACK_API_URL": "http://slack.example/api/"}))
    assert "plain http" in " ".join(plain)
    assert settings_warnings(load_settings({**GOOD, "SLACK_API_URL": "http://127.0.0.1:9/api/"})) == []


def test_redis_without_password_off_host() -> None:
    warn = settings_warnings(load_settings({**GOOD, "REDIS_URL": "redis://redis.internal:6379/0"}))
    assert any("redis.internal has no password" in w for w in warn)
    for url in ("redis://:pw@redis.internal:6379/0", "rediss://:pw@redis.internal:6380/0",
                "unix:///run/redis.sock", "redis://127.0.0.1:6379/0"):
        assert settings_warnings(load_settings({**GOOD, "REDIS_URL": url})) == [], url


def test_default_role_beyond_read_and_with_grants() -> None:
    assert policy_warnings(_policy('[rbac]\ndefault_role = "viewer"\n')) == []
    assert policy_warnings(_policy("")) == []
    admin = policy_warnings(_policy('[rbac]\ndefault_role = "admin"\n'))
    assert len(admin) == 1 and "run" in admin[0] and "rm" in admin[0]
    granted = policy_warnings(_policy('[rbac]\ndefault_role = "looker"\n[rbac.roles.looker]\n'
                                      'inherits = ["viewer"]\ngrants = ["unmanaged"]\n'))
    assert granted == ['rbac.default_role = "looker" gives every user the grants unmanaged']


def test_no_registered_host_is_a_warning(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    (line,) = host_warnings(redis)
    assert line.startswith("no worker has registered a Docker host yet")
    HostRegistry(redis).beat(HostInfo(name="db1"), "w1")
    assert host_warnings(redis) == []
    redis.close()


def test_no_worker_line_when_redis_cannot_be_asked() -> None:
    with socket.socket() as s:  # a port nothing listens on (preflight reports Redis itself)
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with Redis(host="127.0.0.1", port=closed) as unreachable:
        assert host_warnings(unreachable) == []


def test_reports_waiting_for_slack_or_given_up_are_warnings(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    assert delivery_warnings(redis) == []
    Outbox(redis).post("0123456789", "waiting for Slack")
    (waiting,) = delivery_warnings(redis)
    assert waiting.startswith("the reports of 1 job(s) are waiting for Slack")
    Outbox(redis).drop("0123456789")
    Outbox(redis).given_up(3)
    (lost,) = delivery_warnings(redis)
    assert lost.startswith("3 report(s) on jobs could not be delivered")
    redis.close()


def test_an_app_whose_webhook_secret_is_unset_or_short_is_a_warning() -> None:
    toml = ('[build]\ncontext_roots = ["/srv"]\n[apps.web]\ncontext = "/srv/web"\nimage = "acme/web"\n'
            'channel = "C1"\nwebhook_secret_env = "WEB_SECRET"\n[apps.api]\ncontext = "/srv/api"\n'
            'image = "acme/api"\n')
    apps = parse_config(tomllib.loads(toml), "d.toml", CATALOG, parse_run_words).apps
    unset = app_warnings(apps, {})
    assert unset == ["WEB_SECRET is not set: POST /hooks/deploy for web answers 401 until it is"]
    assert "is 5 characters" in app_warnings(apps, {"WEB_SECRET": "short"})[0]
    assert app_warnings(apps, {"WEB_SECRET": "x" * 40}) == []


def test_alerts_with_nowhere_to_go_and_no_watcher_are_warnings(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    lines = monitor_warnings(MonitorConfig(), redis)
    assert any("nowhere to go" in line for line in lines) and any("no watcher" in line for line in lines)
    IncidentStore(redis, "host-a").beat(30)
    assert live_watchers(redis) == ["host-a"]
    assert monitor_warnings(MonitorConfig(notify_channel="C1"), redis) == []
    routed = MonitorConfig(routes=(Route("C2"),))
    assert monitor_warnings(routed, redis) == []


def test_a_registered_host_without_a_live_worker_is_a_warning(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    registry = HostRegistry(redis)
    registry.beat(HostInfo(name="db1"), "w1")
    registry.beat(HostInfo(name="web1"), "w2")
    assert host_warnings(redis) == []
    registry.leave("db1", "w1")
    (line,) = host_warnings(redis)
    assert line.startswith("host db1 has no live worker")


def test_check_says_what_each_hosts_workers_reached(redis_url: str) -> None:
    settings = load_settings({**GOOD, "REDIS_URL": redis_url})
    assert host_lines(settings) == []
    HostRegistry(Redis.from_url(redis_url)).beat(
        HostInfo(name="db1", engine="27.1", os="Debian", cpus=4, running=3), "w1")
    (line,) = host_lines(settings)
    assert line.startswith("host db1: 1 live worker(s); Docker 27.1 on Debian, 4 CPUs, 3 running "
                           "container(s)")
    assert line.endswith("(queue dockbolt-host-db1)")


def test_check_says_what_it_reached_and_an_unreachable_slack_in_one_line(
        redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dockbolt.toml").write_text(default_config_toml("U1", CATALOG))
    with socket.socket() as s:  # a port nothing listens on: Slack away
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with SlackStandIn(token="xoxb-check") as standin:
        url = standin.base_url
        settings = load_settings({**GOOD, "REDIS_URL": redis_url, "SLACK_BOT_TOKEN": "xoxb-check",
                                  "SLACK_API_URL": url,
                                  "DOCKBOLT_CONFIG": str(tmp_path / "dockbolt.toml")})
        run_check(settings)
    out = capsys.readouterr()
    assert f"✓ config {tmp_path / 'dockbolt.toml'}: " in out.out and "✓ Redis at " in out.out
    assert f"✓ Slack at {url}: bot " in out.out
    away = load_settings({**GOOD, "REDIS_URL": redis_url, "SLACK_BOT_TOKEN": "xoxb-check",
                          "SLACK_API_URL": f"http://127.0.0.1:{closed}/api/",
                          "DOCKBOLT_CONFIG": str(tmp_path / "dockbolt.toml")})
    assert run_check(away) == 1
    out = capsys.readouterr()
    assert out.out.count("Slack unreachable") == 1 and "✓ Slack" not in out.out
    assert "slack_sdk" not in out.err and "retry" not in out.err.lower()
