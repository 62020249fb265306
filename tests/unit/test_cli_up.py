"""`dockbolt up` serves where `dockbolt bot` would; who gets which secret; what stops bot and worker."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

import dockbolt.cli.main as cli_main
import dockbolt.cli.run_bot as run_bot_module
import dockbolt.cli.up as up
from dockbolt.cli.procs import worker_environment
from dockbolt.core.settings import Settings, load_settings


@pytest.fixture
def up_args(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def fake_run_up(settings: Settings, **kw: Any) -> int:
        seen.update(kw)
        return 0

    monkeypatch.setattr(up, "run_up", fake_run_up)
    monkeypatch.setattr(cli_main, "load_settings", lambda: load_settings({}))  # not this machine's env
    return seen


def test_up_takes_host_and_port(up_args: dict[str, Any]) -> None:
    assert cli_main.main(["up", "--host", "127.0.0.1", "--port", "4567"]) == 0
    assert up_args == {"user_id": "ULOCALADMIN", "channel_id": "CCONSOLE", "host": "127.0.0.1", "port": 4567,
                       "metrics_port": None, "metrics_host": "127.0.0.1"}


def test_up_defaults_are_the_bots(up_args: dict[str, Any]) -> None:
    assert cli_main.main(["up"]) == 0
    bot = cli_main._parser().parse_args(["bot"])
    assert (up_args["host"], up_args["port"]) == (bot.host, bot.port) == ("0.0.0.0", 3000)


def test_up_with_slack_tokens_runs_the_bot_on_host_and_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: dict[str, Any] = {}

    def fake_run_bot(settings: Settings, *, host: str, port: int) -> int:
        calls.update(host=host, port=port)
        return 0

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where up puts its log directory
    monkeypatch.setattr(up, "preflight", lambda settings: [])
    monkeypatch.setattr(up, "_start_worker", lambda settings, log_path, args: "the worker")
    monkeypatch.setattr(up, "_start_watcher", lambda settings, log_path, args: "the watcher")
    monkeypatch.setattr(up, "stop_process", lambda proc: calls.setdefault("stopped", []).append(proc))
    monkeypatch.setattr(up, "_wait_for_host", lambda settings, worker, log_path: None)
    monkeypatch.setattr(run_bot_module, "run_bot", fake_run_bot)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567) == 0
    assert calls == {"host": "127.0.0.1", "port": 4567, "stopped": ["the watcher", "the worker"]}


def test_up_makes_up_one_job_secret_for_its_bot_and_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Settings] = {}
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(up, "preflight", lambda settings: [])
    monkeypatch.setattr(up, "_start_worker", lambda settings, log_path, args: seen.update(worker=settings))
    monkeypatch.setattr(up, "_start_watcher", lambda settings, log_path, args: seen.update(watcher=settings))
    monkeypatch.setattr(up, "stop_process", lambda proc: None)
    monkeypatch.setattr(up, "_wait_for_host", lambda settings, worker, log_path: None)
    monkeypatch.setattr(run_bot_module, "run_bot", lambda settings, **kw: seen.update(bot=settings) or 0)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567) == 0
    secret = seen["bot"].job_secret.value
    assert len(secret) == 64 and int(secret, 16) >= 0 and seen["worker"].job_secret.value == secret
    assert seen["watcher"].job_secret.value == secret
    up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567)
    assert seen["bot"].job_secret.value != secret  # made up afresh for every run
    given = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "DOCKBOLT_JOB_SECRET": "j" * 40,
                           "REDIS_URL": "redis://127.0.0.1:1/0"})
    up.run_up(given, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567)
    assert seen["worker"].job_secret.value == seen["bot"].job_secret.value == "j" * 40


def test_a_worker_gets_the_job_secret_but_never_slacks_signing_secret_or_app_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-from-the-shell")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-the-shell")
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                              "DOCKBOLT_JOB_SECRET": "j" * 40, "REDIS_URL": "rediss://:pw@redis.example:6380/1"})
    env = worker_environment(up._worker_env(settings))
    assert env["DOCKBOLT_JOB_SECRET"] == "j" * 40 and env["SLACK_BOT_TOKEN"] == "xoxb-test"
    assert env["REDIS_URL"] == "rediss://:pw@redis.example:6380/1"  # passwords and TLS pass through as given
    assert "SLACK_SIGNING_SECRET" not in env and "SLACK_APP_TOKEN" not in env


@pytest.mark.parametrize("cmd", ["bot", "worker"])
def test_bot_and_worker_refuse_to_start_without_a_job_secret(
    cmd: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_main, "load_settings", lambda: load_settings({"SLACK_BOT_TOKEN": "xoxb-test"}))
    assert cli_main.main([cmd]) == 2
    assert "DOCKBOLT_JOB_SECRET is not set" in capsys.readouterr().err


def test_a_worker_with_a_bad_config_stops_at_start_with_the_config_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import workers.main

    config = tmp_path / "dockbolt.toml"
    config.write_text('[rbac]\ndefault_role = "nobody"\n')
    env = {"DOCKBOLT_JOB_SECRET": "j" * 40, "DOCKBOLT_CONFIG": str(config)}
    monkeypatch.setattr(cli_main, "load_settings", lambda: load_settings(env))
    monkeypatch.setattr(workers.main, "run_worker", lambda *a, **kw: pytest.fail("the worker started"))
    assert cli_main.main(["worker"]) == 2
    assert f"{config}: rbac.default_role" in capsys.readouterr().err


def test_the_worker_gets_the_bots_policy_and_no_slack_signing_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import workers.main

    config = tmp_path / "dockbolt.toml"
    config.write_text('[policy]\njob_ttl = "10m"\n')
    env = {"DOCKBOLT_JOB_SECRET": "j" * 40, "DOCKBOLT_CONFIG": str(config), "SLACK_SIGNING_SECRET": "s"}
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setattr(cli_main, "load_settings", lambda: load_settings(env))
    seen: dict[str, Any] = {}
    monkeypatch.setattr(workers.main, "run_worker", lambda settings, policy, **kw: seen.update(
        settings=settings, policy=policy) or 0)
    assert cli_main.main(["worker"]) == 0
    assert seen["policy"].guardrails.job_ttl == 600
    assert not seen["settings"].slack_signing_secret and "SLACK_SIGNING_SECRET" not in os.environ
