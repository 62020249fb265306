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


def test_job_secret_is_read_and_masked() -> None:
    s = load_settings({"DOCKBOLT_JOB_SECRET": " job-secret-value "})
    assert s.job_secret.value == "job-secret-value" and "job-secret-value" not in repr(s)
    assert not load_settings({}).job_secret


def test_redis_passwords_are_masked_where_the_url_is_shown() -> None:
    shown = {url: load_settings({"REDIS_URL": url}).redis_shown for url in (
        "redis://:pw@redis.example:6379/0", "rediss://user:p%40ss@redis.example:6380/2?ssl_cert_reqs=none",
        "unix:///run/redis.sock?db=1&password=pw", "redis://localhost:6379/0", "unix:///run/redis.sock")}
    assert shown == {
        "redis://:pw@redis.example:6379/0": "redis://:***@redis.example:6379/0",
        "rediss://user:p%40ss@redis.example:6380/2?ssl_cert_reqs=none":
            "rediss://user:***@redis.example:6380/2?ssl_cert_reqs=none",
        "unix:///run/redis.sock?db=1&password=pw": "unix:///run/redis.sock?db=1&password=***",
        "redis://localhost:6379/0": "redis://localhost:6379/0",
        "unix:///run/redis.sock": "unix:///run/redis.sock",
    }
    # What is used to connect is the URL as given.
    assert load_settings({"REDIS_URL": "rediss://:pw@h:1/0"}).redis_location == "rediss://:pw@h:1/0"


def test_api_url_gets_a_trailing_slash() -> None:
    assert load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}).slack_api_url == "http://127.0.0.1:9/api/"


def test_the_docker_clis_tls_variables_are_read_as_the_cli_reads_them() -> None:
    assert not load_settings({}).docker_tls.enabled
    verify = load_settings({"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1"}).docker_tls
    assert verify.enabled and verify.verify and verify.cert_path.endswith(".docker")  # the CLI's default
    given = load_settings({"DOCKER_CERT_PATH": "/etc/dockbolt/certs"}).docker_tls
    assert given.enabled and not given.verify and given.cert_path == "/etc/dockbolt/certs"


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
