"""`dockbolt up` with Slack tokens serves where `dockbolt bot` would: --host/--port reach the bot."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

import dockbolt.cli.main as cli_main
import dockbolt.cli.run_bot as run_bot_module
import dockbolt.cli.up as up
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
    assert up_args == {"user_id": "ULOCALADMIN", "channel_id": "CCONSOLE", "host": "127.0.0.1", "port": 4567}


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
    monkeypatch.setattr(up, "_start_worker", lambda settings, log_path: "the worker")
    monkeypatch.setattr(up, "stop_process", lambda proc: calls.update(stopped=proc))
    monkeypatch.setattr(run_bot_module, "run_bot", fake_run_bot)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567) == 0
    assert calls == {"host": "127.0.0.1", "port": 4567, "stopped": "the worker"}
