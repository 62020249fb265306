"""`dockbolt check`: validate the config and reach Redis, Docker and Slack; one line per problem."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from dockbolt.cli.wiring import load_bot_config
from dockbolt.core.errors import ConfigError
from dockbolt.core.settings import Settings
from dockbolt.core.slack_client import make_web_client
from workers.main import preflight


def find_problems(settings: Settings) -> list[str]:
    """Return every problem found, one line each (empty when all is well)."""
    problems: list[str] = []
    try:
        load_bot_config(settings)
    except ConfigError as exc:
        problems.extend(exc.problems)
    problems.extend(preflight(settings))
    if not settings.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN is not set: Slack cannot be reached (the local console needs "
                        "none)")
    else:
        try:
            make_web_client(settings, timeout=10).auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error")
            problems.append(f"Slack auth.test failed at {settings.slack_api_url}: {error}")
        except OSError as exc:
            problems.append(f"Slack unreachable at {settings.slack_api_url}: {exc}")
    return problems


def run_check(settings: Settings) -> int:
    """Print the problems (or a one-line OK) and return the exit code."""
    problems = find_problems(settings)
    for line in problems:
        print(f"✗ {line}")
    if not problems:
        print(f"✓ config {settings.config_path}, Redis, Docker and Slack all OK")
    return 1 if problems else 0
