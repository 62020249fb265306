"""Settings from an injected environment; the job card's shape and escaping."""

from __future__ import annotations

from dockbolt.core.card import build_card, format_elapsed
from dockbolt.core.contract import JobStatus
from dockbolt.core.settings import DEFAULT_SLACK_API_URL, load_settings


def test_settings_defaults_and_masking() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-secret-value"})
    assert s.slack_api_url == DEFAULT_SLACK_API_URL and s.config_path == "./dockbolt.toml"
    assert s.redis_url is None and not s.socket_mode and s.has_slack
    assert "secret-value" not in repr(s) and "secret-value" not in str(s.slack_bot_token)
    assert s.problems() == []


def test_settings_problems_are_reported_together() -> None:
    s = load_settings({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_APP_TOKEN": "nope", "SLACK_API_URL": "ftp://x",
                       "REDIS_URL": "localhost:6379"})
    problems = s.problems()
    assert len(problems) == 4
    assert any("SLACK_APP_TOKEN" in p for p in problems) and any("REDIS_URL" in p for p in problems)


def test_api_url_gets_a_trailing_slash() -> None:
    assert load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}).slack_api_url == "http://127.0.0.1:9/api/"


def test_card_carries_status_metadata_and_escapes_user_text() -> None:
    c = build_card(job_id="j1", user_id="U1", command="/docker", command_text="run x <!channel> & y",
                   status=JobStatus.DONE, elapsed=1.25)
    assert c.metadata == {"event_type": "dockbolt_job", "event_payload": {"job_id": "j1", "status": "done"}}
    assert "<!channel>" not in c.text and "&lt;!channel&gt;" in c.text
    assert "1.2 s" in c.blocks[1]["elements"][0]["text"] or "1.3 s" in c.blocks[1]["elements"][0]["text"]


def test_format_elapsed() -> None:
    assert format_elapsed(0.42) == "0.4 s"
    assert format_elapsed(42) == "42 s"
    assert format_elapsed(185) == "3 min 5 s"
