"""UserGroupCache: one fetch per group per ttl, plan_upgrade_required degrades with one warning."""

from __future__ import annotations

import logging
import threading

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.usergroups import PLAN_WARNING, UserGroupCache

MEMBERS = {"S0DEVS": ["U0ANN", "U0BOB"], "S0OPS": ["U0BOB"], "S0EMPTY": []}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSlack:
    """Stands in for ``client.usergroups_users_list(usergroup=…)["users"]``, counting calls per group."""

    def __init__(self, members: dict[str, list[str]]) -> None:
        self.members = members
        self.calls: list[str] = []
        self.error: Exception | None = None

    def fetch(self, group: str) -> list[str]:
        self.calls.append(group)
        if self.error is not None:
            raise self.error
        return list(self.members[group])


def slack_error(code: str) -> SlackApiError:
    """A SlackApiError exactly as slack_sdk raises it for an ``ok: false`` answer."""
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/usergroups.users.list",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=200,
    )
    message = f"The request to the Slack API failed. (url: {response.api_url})"
    return SlackApiError(message, response)  # type: ignore[no-untyped-call]


def make_cache(ttl: float = 300) -> tuple[UserGroupCache, FakeSlack, FakeClock]:
    slack, clock = FakeSlack(dict(MEMBERS)), FakeClock()
    return UserGroupCache(slack.fetch, ttl=ttl, clock=clock), slack, clock


def test_returns_only_candidate_groups_the_user_is_in() -> None:
    cache, _, _ = make_cache()
    assert cache.groups_of("U0BOB", ["S0DEVS", "S0OPS", "S0EMPTY"]) == {"S0DEVS", "S0OPS"}
    assert cache.groups_of("U0ANN", ["S0DEVS", "S0OPS"]) == {"S0DEVS"}
    assert cache.groups_of("U0ZED", ["S0DEVS", "S0OPS"]) == frozenset()
    assert cache.groups_of("U0ANN", []) == frozenset()


def test_each_group_is_fetched_once_within_ttl() -> None:
    cache, slack, clock = make_cache(ttl=300)
    for user in ("U0ANN", "U0BOB", "U0ZED", "U0ANN"):
        cache.groups_of(user, ["S0DEVS", "S0OPS"])
        clock.now += 10
    assert sorted(slack.calls) == ["S0DEVS", "S0OPS"]


def test_members_are_fetched_again_after_ttl() -> None:
    cache, slack, clock = make_cache(ttl=300)
    assert cache.groups_of("U0ZED", ["S0OPS"]) == frozenset()
    slack.members["S0OPS"] = ["U0ZED"]
    clock.now += 299
    assert cache.groups_of("U0ZED", ["S0OPS"]) == frozenset()  # still the cached answer
    clock.now += 2
    assert cache.groups_of("U0ZED", ["S0OPS"]) == {"S0OPS"}
    assert slack.calls == ["S0OPS", "S0OPS"]


def test_plan_upgrade_required_degrades_to_no_groups_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cache, slack, clock = make_cache(ttl=300)
    slack.error = slack_error("plan_upgrade_required")
    with caplog.at_level(logging.WARNING, logger="bot.usergroups"):
        assert cache.groups_of("U0BOB", ["S0DEVS", "S0OPS"]) == frozenset()
        assert cache.groups_of("U0BOB", ["S0DEVS", "S0OPS"]) == frozenset()
        calls_before_expiry = len(slack.calls)
        clock.now += 301
        assert cache.groups_of("U0BOB", ["S0DEVS"]) == frozenset()
    # the plan limit is workspace-wide: one failed call stops lookups of every group until ttl passes
    assert calls_before_expiry == 1
    assert len(slack.calls) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [PLAN_WARNING]
    assert "only user bindings apply" in PLAN_WARNING


def test_plan_check_also_recognises_the_error_text() -> None:
    cache, slack, _ = make_cache()
    slack.error = RuntimeError("The server responded with: {'ok': False, 'error': 'plan_upgrade_required'}")
    assert cache.groups_of("U0BOB", ["S0DEVS", "S0OPS"]) == frozenset()
    assert len(slack.calls) == 1


def test_other_errors_use_last_known_members(caplog: pytest.LogCaptureFixture) -> None:
    cache, slack, clock = make_cache(ttl=300)
    assert cache.groups_of("U0ANN", ["S0DEVS"]) == {"S0DEVS"}
    clock.now += 301
    slack.error = slack_error("ratelimited")
    with caplog.at_level(logging.WARNING, logger="bot.usergroups"):
        assert cache.groups_of("U0ANN", ["S0DEVS"]) == {"S0DEVS"}  # stale, but better than nothing
        assert cache.groups_of("U0ANN", ["S0OPS"]) == frozenset()  # never known: empty
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "S0DEVS" in messages and "last known members" in messages
    assert "S0OPS" in messages and "no members" in messages
    # a failure is not retried on every command, but it is retried
    calls = len(slack.calls)
    cache.groups_of("U0ANN", ["S0DEVS"])
    assert len(slack.calls) == calls
    slack.error = None
    clock.now += 31
    slack.members["S0DEVS"] = ["U0BOB"]
    assert cache.groups_of("U0ANN", ["S0DEVS"]) == frozenset()
    assert len(slack.calls) == calls + 1


def test_recovery_after_plan_error_fetches_again() -> None:
    cache, slack, clock = make_cache(ttl=300)
    slack.error = slack_error("plan_upgrade_required")
    assert cache.groups_of("U0ANN", ["S0DEVS"]) == frozenset()
    slack.error = None
    clock.now += 301
    assert cache.groups_of("U0ANN", ["S0DEVS"]) == {"S0DEVS"}


def test_concurrent_misses_fetch_a_group_once() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_fetch(group: str) -> list[str]:
        calls.append(group)
        started.set()
        release.wait(timeout=10)
        return ["U0ANN"]

    cache = UserGroupCache(slow_fetch, ttl=300, clock=FakeClock())
    results: list[frozenset[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.groups_of("U0ANN", ["S0DEVS"])))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    assert started.wait(timeout=10)
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert calls == ["S0DEVS"]
    assert results == [frozenset({"S0DEVS"})] * 5
