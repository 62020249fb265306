"""The audit trail on a real Redis: record, query (filters, since, limit), the cap, JSONL export, outages."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from dockbolt.core.audit import STREAM, AuditEvent, AuditLog
from dockbolt.core.codec import encode
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.rbac import Binding, Policy, Role, authorize

DAY = 86400


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


@pytest.fixture
def audit(redis: Redis) -> AuditLog:
    return AuditLog(redis)


def event(user: str = "U1", verb: str = "ps", n: int = 0, **kw: object) -> AuditEvent:
    fields: dict[str, object] = {"kind": "decision", "user_id": user, "channel_id": "C1", "verb": verb,
                                 "text": f"{verb} {n}", "allowed": True, "rule": "default_role → allow ps"}
    fields.update(kw)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def texts(events: list[AuditEvent]) -> list[str]:
    return [e.text for e in events]


# --- events ------------------------------------------------------------------------------------------


def test_a_decision_event_carries_the_decision_and_the_rule() -> None:
    policy = Policy(roles={"viewer": Role("viewer", ("ps",))},
                    bindings=(Binding("viewer", users=frozenset({"U1"})),))
    allowed = AuditEvent.for_decision(
        authorize(policy, user_id="U1", user_groups=(), channel_id="C1", verb="ps"), "ps -a", job_id="abc")
    assert (allowed.kind, allowed.user_id, allowed.channel_id, allowed.verb, allowed.text) == (
        "decision", "U1", "C1", "ps", "ps -a")
    assert allowed.allowed is True and allowed.job_id == "abc" and allowed.roles == ("viewer",)
    assert allowed.rule == "binding #1 (users) → viewer → allow ps"
    denied = AuditEvent.for_decision(
        authorize(policy, user_id="U2", user_groups=(), channel_id="C1", verb="rm"), "rm web")
    assert denied.allowed is False and denied.job_id is None
    assert denied.rule == "no role here: deny by default"


def test_a_job_event_carries_the_outcome_and_duration() -> None:
    job = JobRequest(job_id="0123456789", verb="stop", args={}, user_id="U1", channel_id="C1",
                     command_text="stop web")
    ev = AuditEvent.for_job(job, JobStatus.FAILED, 1.25, detail="Docker unreachable")
    assert (ev.kind, ev.job_id, ev.outcome, ev.duration_s, ev.detail) == (
        "job", "0123456789", "failed", 1.25, "Docker unreachable")
    assert ev.text == "" and ev.allowed is None


def test_json_round_trip_ignores_fields_it_does_not_know() -> None:
    ev = event(roles=("a", "b"), job_id="j1", text="run -e X=*** busybox")
    assert AuditEvent.from_json(ev.to_json()) == ev
    assert AuditEvent.from_json(json.dumps({**json.loads(ev.to_json()), "future": 1})) == ev
    assert "\n" not in event(text="two\nlines").to_json()


# --- record and query -----------------------------------------------------------------------------------


def test_recorded_events_come_back_newest_first(audit: AuditLog) -> None:
    recorded = [event(n=n, ts=1000.0 + n) for n in range(3)]
    for ev in recorded:
        audit.record(ev)
    assert audit.query() == recorded[::-1]


def test_query_filters_by_user_and_verb(audit: AuditLog) -> None:
    pairs = [("U1", "ps"), ("U2", "ps"), ("U1", "stop"), ("U2", "stop"), ("U1", "ps")]
    for n, (user, verb) in enumerate(pairs):
        audit.record(event(user, verb, n))
    assert texts(audit.query(user="U1")) == ["ps 4", "stop 2", "ps 0"]
    assert texts(audit.query(verb="stop")) == ["stop 3", "stop 2"]
    assert texts(audit.query(user="U2", verb="ps")) == ["ps 1"]
    assert audit.query(user="U3") == [] and audit.query(verb="rm") == []


def test_limit_keeps_the_newest(audit: AuditLog) -> None:
    for n in range(30):
        audit.record(event(n=n))
    assert texts(audit.query(limit=3)) == ["ps 29", "ps 28", "ps 27"]
    assert len(audit.query(limit=50)) == 30
    assert audit.query(limit=0) == []


def test_a_rare_match_is_found_across_many_scan_batches(audit: AuditLog) -> None:
    for n in range(1500):
        audit.record(event("U9" if n % 100 == 0 else "U1", n=n))
    found = audit.query(user="U9", limit=100)
    assert texts(found) == [f"ps {n}" for n in range(1400, -1, -100)]
    assert texts(audit.query(user="U9", limit=4)) == ["ps 1400", "ps 1300", "ps 1200", "ps 1100"]
    assert audit.count(user="U9") == 15 and audit.count(user="U9", limit=4) == 4
    assert audit.count() == 1500


def test_since_uses_the_stream_clock(audit: AuditLog, redis: Redis) -> None:
    now = time.time()
    # An entry two days old, written the way record() writes (a stream id is its time in milliseconds).
    old = event(n=0, ts=now - 2 * DAY)
    redis.xadd(STREAM, {"u": old.user_id, "v": old.verb, "e": old.to_json()},
               id=f"{int((now - 2 * DAY) * 1000)}-0")
    audit.record(event(n=1))
    assert texts(audit.query(since=now - DAY)) == ["ps 1"]
    assert texts(audit.query(since=now - 3 * DAY)) == ["ps 1", "ps 0"]
    assert texts(audit.query()) == ["ps 1", "ps 0"]
    assert audit.query(since=now + DAY) == []
    assert audit.count(since=now - DAY) == 1


def test_the_stream_is_capped(redis: Redis) -> None:
    audit = AuditLog(redis, maxlen=100)
    for n in range(1000):
        audit.record(event(n=n))
    # Approximate trimming (MAXLEN ~) drops whole stream nodes: never below the cap, far below 1000.
    assert 100 <= redis.xlen(STREAM) < 400
    assert texts(audit.query(limit=2)) == ["ps 999", "ps 998"]


def test_an_unreadable_entry_is_skipped(
    audit: AuditLog, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    audit.record(event(n=0))
    redis.xadd(STREAM, {"u": "U1", "v": "ps", "e": "{not json"})
    audit.record(event(n=1))
    assert texts(audit.query()) == ["ps 1", "ps 0"]
    assert "unreadable audit entry" in caplog.text


def test_a_client_that_decodes_responses_reads_the_same(redis_url: str) -> None:
    audit = AuditLog(Redis.from_url(redis_url, decode_responses=True))
    audit.record(event(n=7))
    assert texts(audit.query(user="U1")) == ["ps 7"]
    assert audit.export_jsonl().count("\n") == 1


# --- export -------------------------------------------------------------------------------------------------


def test_export_is_jsonl_oldest_first_with_the_same_selection(audit: AuditLog) -> None:
    for n in range(5):
        audit.record(event("U1" if n % 2 else "U2", n=n, ts=1000.0 + n))
    text = audit.export_jsonl(user="U2")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert [AuditEvent.from_json(line).text for line in lines] == ["ps 0", "ps 2", "ps 4"]
    assert json.loads(lines[0]) == encode(event("U2", n=0, ts=1000.0))
    assert audit.export_jsonl(user="U2", limit=2).splitlines() == lines[1:]
    assert audit.export_jsonl(user="nobody") == ""


# --- the log line, and outages ------------------------------------------------------------------------------


def test_each_record_is_one_json_line_on_dockbolt_audit(
    audit: AuditLog, caplog: pytest.LogCaptureFixture
) -> None:
    ev = event(job_id="j1", text="logs web --since 5m")
    with caplog.at_level(logging.INFO, logger="dockbolt.audit"):
        audit.record(ev)
    lines = [r for r in caplog.records if r.name == "dockbolt.audit"]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    assert json.loads(lines[0].getMessage()) == encode(ev)


def test_a_redis_outage_does_not_raise_and_still_logs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # No retries: redis-py's default ten would only make the test slow (the pause test covers their cost).
    down = Redis(unix_socket_path=str(tmp_path / "no-redis.sock"), retry=Retry(NoBackoff(), 0))
    audit = AuditLog(down)
    ev = event(n=1)
    with caplog.at_level(logging.INFO):
        audit.record(ev)
    logged = [r for r in caplog.records if r.name == "dockbolt.audit"]
    assert [json.loads(r.getMessage()) for r in logged] == [encode(ev)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not stored in Redis" in warnings[0].getMessage()


def test_after_a_failed_write_redis_is_left_alone_for_a_while(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    audit = AuditLog(redis, pause_after_failure=30, clock=lambda: now[0])
    redis.set(STREAM, "not a stream")  # every XADD now fails (WRONGTYPE), like a Redis that refuses writes
    with caplog.at_level(logging.INFO):
        audit.record(event(n=0))
        redis.delete(STREAM)  # Redis is fine again, but the pause is not over: these stay in the log only
        now[0] += 29
        audit.record(event(n=1))
        audit.record(event(n=2))
        assert redis.exists(STREAM) == 0
        now[0] += 1
        audit.record(event(n=3))
        audit.record(event(n=4))
    assert texts(audit.query()) == ["ps 4", "ps 3"]
    assert [json.loads(r.getMessage())["text"] for r in caplog.records if r.name == "dockbolt.audit"] == [
        f"ps {n}" for n in range(5)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "WRONGTYPE" in warnings[0] and "next 30 s" in warnings[0]
    assert "3 event(s) are only in the dockbolt.audit log" in warnings[1]
