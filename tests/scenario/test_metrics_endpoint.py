"""The bot's /metrics over HTTP: signed slash commands in, Prometheus's text format out, parsed with
prometheus-client's own parser. Counters are process-wide, so each check compares before and after."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockbolt.core import metrics
from tests.support.pipeline import QUEUE, Pipeline, poll_until

pytestmark = pytest.mark.scenario

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def read_metrics(url: str) -> Series:
    """GET /metrics and parse it; (sample name, labels) → value."""
    with urllib.request.urlopen(url, timeout=10) as resp:  # our own local endpoint
        assert resp.status == 200
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def bot_metrics(pipeline: Pipeline) -> Iterator[str]:
    """The bot's registry served on a free port, as `dockbolt bot --metrics-port` serves it."""
    port, close = metrics.serve("127.0.0.1", 0, metrics.BOT)
    yield f"http://127.0.0.1:{port}/metrics"
    close()


def test_commands_are_counted_by_verb_and_outcome(pipeline: Pipeline, bot_metrics: str) -> None:
    before = read_metrics(bot_metrics)
    assert pipeline.send("ps", user_id="UOPERATOR").status == 200
    assert pipeline.send("help", user_id="UOPERATOR").status == 200
    assert pipeline.send("pss -a", user_id="UOPERATOR").status == 200
    assert pipeline.send("ps", user_id="UNOBODY").status == 200
    after = read_metrics(bot_metrics)
    total = "dockbolt_commands_total"
    for verb, outcome in (("ps", "queued"), ("help", "answered"), ("unknown", "invalid"), ("ps", "denied")):
        assert value(after, total, verb=verb, outcome=outcome) == value(
            before, total, verb=verb, outcome=outcome) + 1, (verb, outcome)
    assert not any(name == total and dict(labels)["verb"] == "pss" for name, labels in after)
    assert value(after, "dockbolt_ack_seconds_count") == value(before, "dockbolt_ack_seconds_count") + 4


def test_a_replayed_command_counts_as_a_duplicate(pipeline: Pipeline, bot_metrics: str) -> None:
    before = read_metrics(bot_metrics)
    first = pipeline.send("ps", trigger_id="T-metrics-1")
    again = pipeline.send("ps", trigger_id="T-metrics-1")
    assert first.status == again.status == 200
    after = read_metrics(bot_metrics)
    for outcome in ("queued", "duplicate"):
        assert value(after, "dockbolt_commands_total", verb="ps", outcome=outcome) == value(
            before, "dockbolt_commands_total", verb="ps", outcome=outcome) + 1, outcome


def test_queue_depth_is_read_from_redis_at_scrape_time(pipeline: Pipeline, bot_metrics: str) -> None:
    assert value(read_metrics(bot_metrics), "dockbolt_queue_depth", queue=QUEUE) == 0
    pipeline.send("ps")
    pipeline.send("images")
    assert value(read_metrics(bot_metrics), "dockbolt_queue_depth", queue=QUEUE) == 2
    pipeline.redis.flushall()
    assert value(read_metrics(bot_metrics), "dockbolt_queue_depth", queue=QUEUE) == 0


def test_a_slack_429_is_counted_as_rate_limited_and_as_an_error(pipeline: Pipeline, bot_metrics: str) -> None:
    before = read_metrics(bot_metrics)
    pipeline.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    pipeline.send("ps")  # its card is posted by the bot's deliverer right after the ack: Slack says 429

    def counted() -> Series | None:
        now = read_metrics(bot_metrics)
        limited = value(now, "dockbolt_slack_ratelimited_total", method="chat.postMessage")
        return now if limited > value(before, "dockbolt_slack_ratelimited_total", method="chat.postMessage") \
            else None

    after = poll_until(counted, timeout=30, what="the 429 counted")
    errors = {"method": "chat.postMessage", "error": "ratelimited"}
    assert value(after, "dockbolt_slack_api_errors_total", **errors) == value(
        before, "dockbolt_slack_api_errors_total", **errors) + 1
    assert value(after, "dockbolt_slack_ratelimited_total", method="chat.postMessage") == \
        value(before, "dockbolt_slack_ratelimited_total", method="chat.postMessage") + 1


def test_the_endpoint_shows_the_bot_series_and_stops_when_closed(pipeline: Pipeline) -> None:
    port, close = metrics.serve("127.0.0.1", 0, metrics.BOT)
    url = f"http://127.0.0.1:{port}/metrics"
    names = {name for name, _ in read_metrics(url)}
    assert {"dockbolt_ack_seconds_bucket", "dockbolt_queue_depth", "process_cpu_seconds_total"} <= names
    assert "dockbolt_job_duration_seconds_count" not in names  # the worker's, not the bot's
    close()
    with pytest.raises(urllib.error.URLError):
        read_metrics(url)
