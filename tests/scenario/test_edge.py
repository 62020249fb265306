"""The edge, through the real bot over HTTP: body and text caps, malformed requests, replays, missing
fields, the per-user rate and share of the queue (and the Redis pieces behind them)."""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from bot.edge import MAX_TEXT, RateLimiter
from bot.server import MAX_BODY
from dockbolt.console.slash_client import SlashResponse, signature, slash_body
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.guardrails import RateLimit
from dockbolt.core.jobstore import INFLIGHT_STALE_SECONDS, JobStore
from tests.support.harness import job_of_ack
from tests.support.pipeline import CHANNEL, QUEUE, TEST_CONFIG, Pipeline, poll_until, start_pipeline

pytestmark = pytest.mark.scenario

TEN_MB = 10 * 1024 * 1024


def queue_length(p: Pipeline) -> int:
    return Queue(QUEUE, connection=p.redis, serializer=JSONSerializer).count


def settle(p: Pipeline) -> None:
    """Give the lazy listener time to act, so 'nothing happened' assertions mean something."""
    time.sleep(0.5)


def text_of(resp: SlashResponse) -> str:
    assert resp.status == 200 and resp.json is not None, resp
    assert resp.json.get("response_type") == "ephemeral"
    return str(resp.json["text"])


@pytest.fixture
def logged_pipeline(redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Pipeline]:
    """A pipeline started after logging is set to INFO, as `dockbolt up` and `dockbolt bot` do (Bolt's
    loggers take their level when the app is built)."""
    caplog.set_level(logging.INFO)
    p = start_pipeline(redis_url, tmp_path)
    yield p
    p.close()


def post_unread(url: str, length: int, chunk: bytes) -> int | None:
    """POST an unsigned body of ``length`` bytes as Slack's content type; the status, if one came back."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.putrequest("POST", parts.path)
        conn.putheader("Content-Type", "application/x-www-form-urlencoded")
        conn.putheader("Content-Length", str(length))
        conn.putheader("X-Slack-Request-Timestamp", str(int(time.time())))
        conn.endheaders()
        try:
            for _ in range(length // len(chunk)):
                conn.send(chunk)
        except OSError:
            pass  # the server answered and closed without reading the rest: the point of the cap
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def test_huge_bodies_are_refused_unread_and_cost_the_log_one_short_line(
        logged_pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    p = logged_pipeline
    url = p.slash.url
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.putrequest("POST", parts.path)
    conn.putheader("Content-Length", str(TEN_MB))
    conn.endheaders()  # headers only: the answer comes before any of the body is sent
    assert conn.getresponse().status == 413
    conn.close()
    caplog.clear()
    statuses = [post_unread(url, TEN_MB, b"text=" + b"A" * (64 * 1024 - 5)) for _ in range(10)]
    statuses += [post_unread(url, MAX_BODY, b"text=" + b"B" * (MAX_BODY - 5)) for _ in range(10)]
    assert set(statuses[:10]) <= {413, None} and statuses[10:] == [401] * 10
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) <= 20, lines
    assert all(len(line) < 200 and "AAAA" not in line and "BBBB" not in line for line in lines), lines
    settle(p)
    assert queue_length(p) == 0


def test_huge_text_is_refused_before_it_is_parsed(logged_pipeline: Pipeline,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    p = logged_pipeline
    text = text_of(p.send("run img " + "a" * 50_000))
    assert "50,008 characters" in text and f"{MAX_TEXT:,}" in text and "Nothing was run" in text
    assert [r for r in caplog.records if r.name == "dockbolt.authz"] == []  # the listener never saw it
    assert p.send("ps " + "a" * MAX_BODY).status == 413
    at_limit = "run img " + "a" * (MAX_TEXT - 8)
    assert p.job_of(p.send(at_limit)) is not None  # at the limit: parsed and accepted as usual


def test_malformed_requests_get_4xx_never_5xx(logged_pipeline: Pipeline,
                                              caplog: pytest.LogCaptureFixture) -> None:
    p = logged_pipeline
    body = slash_body(text="ps", user_id="UOPERATOR", channel_id=CHANNEL)
    ts = str(int(time.time()))
    good = signature(p.slash.signing_secret, ts, body)
    form = "application/x-www-form-urlencoded"
    cases = {
        "non-numeric timestamp": (body, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": good}),
        "underscores": (body, {"X-Slack-Request-Timestamp": "1_7", "X-Slack-Signature": good}),
        "non-ASCII timestamp": (body, {"X-Slack-Request-Timestamp": "17\xe900", "X-Slack-Signature": good}),
        "non-ASCII signature": (body, {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=é"}),
        "non-UTF-8 body": (b"text=\xff\xfe", {"X-Slack-Request-Timestamp": ts,
                                              "X-Slack-Signature": signature(p.slash.signing_secret, ts,
                                                                             b"text=\xff\xfe")}),
    }
    for name, (raw, headers) in cases.items():
        status = p.slash.send_raw(raw, {"Content-Type": form, **headers}).status
        assert 400 <= status < 500, f"{name}: {status}"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    settle(p)
    assert queue_length(p) == 0


def test_the_same_signed_request_runs_once(pipeline: Pipeline) -> None:
    url = pipeline.standin.new_response_url()
    body = slash_body(text="ps", user_id="UOPERATOR", channel_id=CHANNEL, response_url=url)
    ts = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(ts),
               "X-Slack-Signature": signature(pipeline.slash.signing_secret, ts, body)}
    answers = [pipeline.slash.send_raw(body, headers) for _ in range(5)]
    assert job_of_ack(pipeline.redis, answers[0], "UOPERATOR", url) is not None
    assert all("Already received" in text_of(a) for a in answers[1:])
    # Slack's retry: the same command (same trigger_id), signed again later, says it is a retry.
    retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Request-Timestamp": str(ts + 1),
             "X-Slack-Signature": signature(pipeline.slash.signing_secret, ts + 1, body)}
    assert "Already received" in text_of(pipeline.slash.send_raw(body, retry))
    poll_until(lambda: queue_length(pipeline) == 1, what="the one job queued")
    settle(pipeline)
    assert queue_length(pipeline) == 1 and len(pipeline.standin.messages()) == 1


@pytest.mark.parametrize("missing", ["channel_id", "user_id"])
def test_a_command_without_user_or_channel_is_refused_privately(pipeline: Pipeline, missing: str) -> None:
    fields = {"user_id": "UOPERATOR", "channel_id": CHANNEL, missing: ""}
    text = text_of(pipeline.send("ps", **fields))  # type: ignore[arg-type]
    assert f"`{missing}`" in text and "Nothing was run" in text
    settle(pipeline)
    assert queue_length(pipeline) == 0 and pipeline.standin.messages() == []


def test_the_rate_limit_holds_per_user(redis_url: str, tmp_path: Path) -> None:
    p = start_pipeline(redis_url, tmp_path, TEST_CONFIG + '\n[policy]\nrate = "20/hour"\n')
    try:
        for _ in range(20):
            assert "Slow down" not in text_of(p.send("whoami", user_id="UVIEWER"))
        refused = text_of(p.send("whoami", user_id="UVIEWER"))
        assert "Slow down" in refused and "20/hour" in refused and "0 jobs of yours" in refused
        assert "Slow down" not in text_of(p.send("whoami", user_id="UOPERATOR"))
    finally:
        p.close()


def test_the_queue_share_holds_per_user(pipeline: Pipeline) -> None:
    ids = [pipeline.job_of(pipeline.send("ps", user_id="UOPERATOR")) for _ in range(5)]
    assert None not in ids
    refused = text_of(pipeline.send("ps -a", user_id="UOPERATOR"))
    assert "Slow down" in refused and "5 jobs of yours are queued" in refused
    assert "Slow down" not in text_of(pipeline.send("whoami", user_id="UOPERATOR"))  # not a job
    assert pipeline.job_of(pipeline.send("ps", user_id="UVIEWER")) is not None
    poll_until(lambda: queue_length(pipeline) == 6, what="six jobs queued")
    store = JobStore(pipeline.redis)
    assert store.in_flight("UOPERATOR") == 5
    store.set_status(str(ids[0]), JobStatus.RUNNING)
    assert store.in_flight("UOPERATOR") == 5
    store.set_status(str(ids[0]), JobStatus.DONE)  # one finished: room for one more
    assert pipeline.job_of(pipeline.send("ps", user_id="UOPERATOR")) is not None
    assert "Slow down" in text_of(pipeline.send("ps", user_id="UOPERATOR"))


def test_a_concurrent_burst_cannot_overshoot_the_queue_share(pipeline: Pipeline) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: pipeline.send("ps", user_id="UOPERATOR"), range(20)))
    accepted = [a for a in answers if pipeline.job_of(a) is not None]
    assert len(accepted) == 5
    assert all("Slow down" in text_of(a) for a in answers if a not in accepted)
    poll_until(lambda: queue_length(pipeline) == 5, what="five jobs queued")
    settle(pipeline)
    assert queue_length(pipeline) == 5 and JobStore(pipeline.redis).in_flight("UOPERATOR") == 5


def test_the_rate_window_slides_and_refusals_do_not_count(redis_url: str) -> None:
    now = [1000.0]
    limiter = RateLimiter(Redis.from_url(redis_url), RateLimit(3, 60), clock=lambda: now[0])
    assert [limiter.hit("U1") for _ in range(3)] == [None, None, None]
    now[0] = 1030.0
    assert limiter.hit("U1") == pytest.approx(30.0)
    assert limiter.hit("U2") is None
    now[0] = 1060.5  # the first three left the window; the refusal at 1030 was never counted
    assert [limiter.hit("U1") for _ in range(4)] == [None, None, None, pytest.approx(60.0)]


def test_in_flight_entries_are_admitted_settled_and_pruned(redis_url: str) -> None:
    store = JobStore(Redis.from_url(redis_url))
    held, before = store.admit("U1", limit=2)
    assert held is not None and before == 0 and store.in_flight("U1") == 1
    job = JobRequest(job_id="abc123", verb="ps", args={}, user_id="U1", channel_id="C1", command_text="ps")
    store.settle("U1", held, job)
    store.record_queued(job)  # the same job again: still one entry
    assert store.in_flight("U1") == 1
    assert store.admit("U1", limit=2)[0] is not None
    assert store.admit("U1", limit=2) == (None, 2)
    old = JobRequest(job_id="old123", verb="ps", args={}, user_id="U2", channel_id="C1", command_text="ps",
                     queued_at=time.time() - INFLIGHT_STALE_SECONDS - 1)
    store.record_queued(old)  # a job whose final status never came (its worker was killed)
    assert store.in_flight("U2") == 0


def test_the_edge_checks_survive_redis_losing_its_scripts(pipeline: Pipeline) -> None:
    # The edge runs its Lua scripts by hash (EVALSHA) on a pipeline, loaded at start-up; a Redis that
    # restarted or was flushed since has none: the edge loads them again and the checks still hold.
    url = pipeline.standin.new_response_url()
    body = slash_body(text="ps", user_id="UOPERATOR", channel_id=CHANNEL, response_url=url)
    ts = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(ts),
               "X-Slack-Signature": signature(pipeline.slash.signing_secret, ts, body)}
    pipeline.redis.script_flush()
    assert job_of_ack(pipeline.redis, pipeline.slash.send_raw(body, headers), "UOPERATOR", url) is not None
    pipeline.redis.script_flush()
    assert "Already received" in text_of(pipeline.slash.send_raw(body, headers))
