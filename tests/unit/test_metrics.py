"""Metrics without I/O: the collectors' output, the counters moving on the right events, bounded labels."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ConnectionError as RedisConnectionError
from slack_bolt import BoltRequest, BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.metrics import AckTimer, verb_label
from dockbolt.cli import main as cli_main
from dockbolt.cli import run_bot as run_bot_module
from dockbolt.cli import up
from dockbolt.core import metrics
from dockbolt.core.collectors import ContainerCollector, QueueDepthCollector
from dockbolt.core.jobthread import ResponseUrlError
from dockbolt.core.settings import load_settings
from dockbolt.core.stathistory import Sample

WEB = Sample(t=1.0, cpu=12.5, mem=3e6, mem_limit=8e9, net_rx=100, net_tx=200, blk_read=300, blk_write=400,
             pids=7)
DB = Sample(t=1.0, cpu=0.5, mem=1e6, mem_limit=1e9, net_rx=1, net_tx=2, blk_read=3, blk_write=4, pids=2)


def scrape(registry: CollectorRegistry) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """What Prometheus would read: sample name → {sorted labels: value}, through the text format."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def containers_registry(current: list[tuple[str, str, Sample]]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ContainerCollector(lambda: current, host="host-a"))
    return registry


def key(name: str, image: str) -> tuple[tuple[str, str], ...]:
    return (("host", "host-a"), ("image", image), ("name", name))


def test_every_container_gets_each_series_with_name_image_and_host() -> None:
    got = scrape(containers_registry([("web", "nginx:1", WEB), ("db", "redis:7", DB)]))
    expect = {
        "dockbolt_container_cpu_percent": (12.5, 0.5),
        "dockbolt_container_memory_bytes": (3e6, 1e6),
        "dockbolt_container_memory_limit_bytes": (8e9, 1e9),
        "dockbolt_container_pids": (7, 2),
        "dockbolt_container_network_receive_bytes_total": (100, 1),
        "dockbolt_container_network_transmit_bytes_total": (200, 2),
        "dockbolt_container_block_read_bytes_total": (300, 3),
        "dockbolt_container_block_write_bytes_total": (400, 4),
    }
    for name, (web, db) in expect.items():
        assert got[name] == {key("web", "nginx:1"): web, key("db", "redis:7"): db}, name


def test_docker_cumulative_io_figures_are_counters_and_usage_figures_gauges() -> None:
    registry = containers_registry([("web", "nginx:1", WEB)])
    types = {f.name: f.type for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert types["dockbolt_container_network_receive_bytes"] == "counter"
    assert types["dockbolt_container_block_write_bytes"] == "counter"
    assert types["dockbolt_container_cpu_percent"] == "gauge"
    assert types["dockbolt_container_memory_bytes"] == "gauge"


def test_a_container_that_is_gone_stops_appearing() -> None:
    current = [("web", "nginx:1", WEB), ("db", "redis:7", DB)]
    registry = containers_registry(current)
    assert len(scrape(registry)["dockbolt_container_cpu_percent"]) == 2
    del current[1]
    assert scrape(registry)["dockbolt_container_cpu_percent"] == {key("web", "nginx:1"): 12.5}


def test_a_source_that_fails_gives_no_container_series_and_no_error() -> None:
    def broken() -> Iterable[tuple[str, str, Sample]]:
        raise RuntimeError("engine gone")

    registry = CollectorRegistry()
    registry.register(ContainerCollector(broken, host="h"))
    assert "dockbolt_container_cpu_percent" not in scrape(registry)


def test_queue_depth_is_read_from_the_source_at_each_scrape() -> None:
    depths = {"dockbolt-default": 3}
    collector = QueueDepthCollector()
    registry = CollectorRegistry()
    registry.register(collector)
    assert "dockbolt_queue_depth" not in scrape(registry)  # no source yet
    collector.watch(lambda: depths)
    assert scrape(registry)["dockbolt_queue_depth"] == {(("queue", "dockbolt-default"),): 3}
    depths["dockbolt-default"] = 0
    assert scrape(registry)["dockbolt_queue_depth"] == {(("queue", "dockbolt-default"),): 0}


def test_queue_depth_is_absent_rather_than_zero_when_redis_is_unreachable() -> None:
    def down() -> dict[str, int]:
        raise RedisConnectionError("refused")

    collector = QueueDepthCollector()
    collector.watch(down)
    registry = CollectorRegistry()
    registry.register(collector)
    assert "dockbolt_queue_depth" not in scrape(registry)


def commands(verb: str, outcome: str) -> float:
    return metrics.BOT.get_sample_value("dockbolt_commands_total", {"verb": verb, "outcome": outcome}) or 0.0


def test_count_command_moves_one_series_and_rejects_unknown_outcomes() -> None:
    before = commands("ps", "denied")
    metrics.count_command("ps", "denied")
    assert commands("ps", "denied") == before + 1
    with pytest.raises(ValueError, match="outcome"):
        metrics.count_command("ps", "exploded")  # type: ignore[arg-type]


def test_a_verb_that_is_not_a_safe_name_is_counted_as_other() -> None:
    before = commands("other", "invalid")
    metrics.count_command('ps"} 1\nevil', "invalid")
    assert commands("other", "invalid") == before + 1


@pytest.mark.parametrize(("text", "verb"), [
    ("ps -a", "ps"), ("  PS", "ps"), ("", "help"), ("--help", "help"), ("logs web --tail 5", "logs"),
    ("rm -rf / ; curl x", "rm"), ("pss", "unknown"), ("&lt;script&gt;", "unknown"), ("x" * 4000, "unknown"),
])
def test_verb_labels_are_the_known_verbs_or_unknown(text: str, verb: str) -> None:
    assert verb_label(text) == verb


def api_error(status: int, error: object,
              url: str = "https://slack.com/api/chat.postMessage") -> SlackApiError:
    resp = SlackResponse(client=None, http_verb="POST", api_url=url, req_args={},
                         data={"ok": False, "error": error}, headers={}, status_code=status)
    return SlackApiError("failed", resp)


@pytest.mark.parametrize(("exc", "labels"), [
    (api_error(429, "ratelimited"), ("chat.postMessage", "ratelimited", True)),
    (api_error(200, "channel_not_found", "http://127.0.0.1:1/api/chat.update"),
     ("chat.update", "channel_not_found", False)),
    (api_error(200, "no such thing; <b>"), ("chat.postMessage", "other", False)),
    (api_error(503, None), ("chat.postMessage", "http_503", False)),
    (ResponseUrlError(429, "slow down", 1.0), ("response_url", "http_429", True)),
    (ConnectionRefusedError(111, "refused"), ("unknown", "ConnectionRefusedError", False)),
])
def test_slack_failures_get_bounded_labels(exc: Exception, labels: tuple[str, str, bool]) -> None:
    assert metrics.slack_failure_labels(exc) == labels


def test_what_is_not_a_slack_failure_is_not_counted() -> None:
    assert metrics.slack_failure_labels(RedisConnectionError("down")) is None
    assert metrics.slack_failure_labels(ValueError("unknown outbox entry")) is None


def test_a_429_counts_as_an_error_and_as_rate_limited_in_every_role() -> None:
    def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    for registry in (metrics.BOT, metrics.WORKER, metrics.WATCHER):
        errors = value(registry, "dockbolt_slack_api_errors_total", method="chat.update", error="ratelimited")
        limited = value(registry, "dockbolt_slack_ratelimited_total", method="chat.update")
        metrics.count_slack_failure(api_error(429, "ratelimited", "https://slack.com/api/chat.update"))
        assert value(registry, "dockbolt_slack_api_errors_total", method="chat.update",
                     error="ratelimited") == errors + 1
        assert value(registry, "dockbolt_slack_ratelimited_total", method="chat.update") == limited + 1


def ack_count() -> float:
    return metrics.BOT.get_sample_value("dockbolt_ack_seconds_count") or 0.0


def test_the_ack_timer_observes_slash_commands_only() -> None:
    ticks = iter([10.0, 10.2])
    timer = AckTimer(clock=lambda: next(ticks))
    answer = BoltResponse(status=200, body="ok")
    before = ack_count()
    under_250ms = metrics.BOT.get_sample_value("dockbolt_ack_seconds_bucket", {"le": "0.25"}) or 0.0
    command = BoltRequest(body="command=%2Fdocker&text=ps", mode="socket_mode")
    assert timer.process(req=command, resp=answer, next=lambda: answer) is answer
    assert ack_count() == before + 1
    assert metrics.BOT.get_sample_value("dockbolt_ack_seconds_bucket", {"le": "0.25"}) == under_250ms + 1
    click = BoltRequest(body={"type": "block_actions"}, mode="socket_mode")
    assert timer.process(req=click, resp=answer, next=lambda: answer) is answer
    assert ack_count() == before + 1


def test_each_role_exposes_its_own_series_only() -> None:
    bot, worker, watcher = (set(scrape(r)) | {f.name for f in text_string_to_metric_families(
        generate_latest(r).decode())} for r in (metrics.BOT, metrics.WORKER, metrics.WATCHER))
    assert "dockbolt_ack_seconds" in bot and "dockbolt_ack_seconds" not in worker | watcher
    assert "dockbolt_job_duration_seconds" in worker and "dockbolt_job_duration_seconds" not in bot | watcher
    assert "dockbolt_alerts" in watcher and "dockbolt_alerts" not in bot | worker
    assert "dockbolt_event_stream_reconnects" in watcher
    for names in (bot, worker, watcher):
        assert "dockbolt_slack_ratelimited" in names
        assert "process_cpu_seconds_total" in names


def test_up_serves_the_bots_metrics_and_gives_the_worker_and_the_watcher_the_next_ports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    served: list[tuple[str, int, CollectorRegistry]] = []
    closed: list[int] = []
    worker: dict[str, list[str]] = {}

    def fake_serve(host: str, port: int, registry: CollectorRegistry) -> tuple[int, Callable[[], None]]:
        served.append((host, port, registry))
        return port, lambda: closed.append(port)

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(metrics, "serve", fake_serve)
    monkeypatch.setattr(up, "preflight", lambda settings: [])
    monkeypatch.setattr(up, "_start_worker", lambda settings, log_path, args: worker.update(args=args))
    monkeypatch.setattr(up, "start_worker_process",
                        lambda env, log_path, args, command: worker.update({command: list(args)}))
    monkeypatch.setattr(up, "stop_process", lambda proc: None)
    monkeypatch.setattr(up, "_wait_for_host", lambda settings, worker, log_path: None)
    monkeypatch.setattr(run_bot_module, "run_bot", lambda settings, **kw: 0)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s",
                              "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567,
                     metrics_port=9100, metrics_host="0.0.0.0") == 0
    assert served == [("0.0.0.0", 9100, metrics.BOT)] and closed == [9100]
    assert worker["args"] == ["--metrics-port", "9101", "--metrics-host", "0.0.0.0"]
    assert worker["watch"] == ["--metrics-port", "9102", "--metrics-host", "0.0.0.0"]
    served.clear()
    assert up.run_up(settings, user_id="U1", channel_id="C1", host="127.0.0.1", port=4567) == 0
    assert served == [] and worker["args"] == worker["watch"] == []  # not asked for: not served


def test_bot_and_worker_take_the_metrics_flags() -> None:
    for cmd in ("bot", "worker", "up"):
        args = cli_main._parser().parse_args([cmd, "--metrics-port", "9100", "--metrics-host", "0.0.0.0"])
        assert (args.metrics_port, args.metrics_host) == (9100, "0.0.0.0")
        default = cli_main._parser().parse_args([cmd])
        assert (default.metrics_port, default.metrics_host) == (None, "127.0.0.1")
