"""The alert rules (``workers.alerts``) and the watcher's event cursor, on the real Redis outbox.

The engine is a small fake answering inspect and logs; events are shaped as the engine's stream sends
them. What reaches Slack is read back from the outbox: announcements (one per incident), their edits and
the posts in their threads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from dockbolt.core.errors import DockerUnavailable, TargetNotFound
from dockbolt.core.incidents import IncidentStore, Mute, MuteStore
from dockbolt.core.monitor import MonitorConfig, Route
from dockbolt.core.outbox import DUE, PREFIX
from dockbolt.core.redact import Redactor
from workers.alerts import Alerter, Event
from workers.watcher import Watcher

HOST = "h1"
MANAGED = {"dockbolt.managed": "true"}
CONFIG = MonitorConfig(notify_channel="CALERTS", routes=(Route("CPAY", containers=("pay-*",)),))


class FakeEngine:
    """inspect/logs for the alerter; events/ping for the watcher's loop."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.log_text = b"starting\npassword=hunter2\nboom\n"
        self.streams: list[list[dict[str, Any]] | Exception] = []
        self.opened_since: list[float] = []
        self.down = False

    def inspect(self, name: str) -> dict[str, Any]:
        if name not in self.docs:
            raise TargetNotFound(f"No such container: {name}")
        return self.docs[name]

    def logs(self, name: str, *, tail: int | None = None, since_unix: int | None = None,
             timestamps: bool = False, max_bytes: int) -> bytes:
        return self.log_text

    def events(self, since: float, until: float | None = None) -> Iterator[dict[str, Any]]:
        self.opened_since.append(since)
        if not self.streams:
            raise DockerUnavailable("no more streams in this test")
        stream = self.streams.pop(0)
        if isinstance(stream, Exception):
            raise stream
        yield from stream

    def ping(self) -> None:
        if self.down:
            raise DockerUnavailable("down")


def raw(action: str, name: str = "web", nano: int = 1_000_000_000_000, **attrs: str) -> dict[str, Any]:
    return {"Type": "container", "Action": action, "timeNano": nano,
            "Actor": {"ID": f"id-{name}", "Attributes": {"name": name, "image": "acme/web:1", **attrs}}}


def ev(action: str, name: str = "web", nano: int = 1_000_000_000_000, **attrs: str) -> Event:
    event = Event.from_docker(raw(action, name, nano, **attrs))
    assert event is not None
    return event


def doc(restart: str = "no", oom: bool = False, code: int = 1, memory: int = 0,
        health: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"OOMKilled": oom, "ExitCode": code, "StartedAt": "2026-12-06T10:00:00.5Z",
                             "FinishedAt": "2026-12-06T10:02:05.1Z"}
    if health is not None:
        state["Health"] = health
    return {"State": state, "HostConfig": {"RestartPolicy": {"Name": restart}, "Memory": memory}}


def entries(redis: Redis) -> list[dict[str, Any]]:
    """Every pending outbox entry, oldest job first (its job id added)."""
    out = []
    jobs = [j.decode() for j in redis.zrange(DUE, 0, -1)]  # by score: when each was first written
    for job in jobs:
        for e in redis.lrange(PREFIX + job, 0, -1):
            out.append({**json.loads(e), "job": job})
    return out


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def alerter(redis: Redis, engine: FakeEngine) -> Alerter:
    return Alerter(engine, redis, HOST, CONFIG, Redactor(), peak=lambda name: 12 * 2**20)


def test_a_non_zero_exit_is_one_alert_with_code_image_run_time_and_masked_log_lines(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    engine.docs["id-web"] = doc(code=3)
    alerter.handle(ev("die", exitCode="3", **MANAGED))
    (only,) = entries(redis)
    assert only["op"] == "announce" and only["channel"] == "CALERTS"
    text = only["text"]
    assert "code *3*" in text and "`acme/web:1`" in text and "`web`" in text and "2 minutes" in text
    assert "boom" in text and "hunter2" not in text  # the log lines, secrets masked


def test_what_an_unmanaged_container_says_is_quoted_only_when_the_policy_lets_chat_read_it(
        redis: Redis, engine: FakeEngine) -> None:
    engine.docs["id-web"] = doc(code=3)
    engine.docs["id-db"] = doc(health={"FailingStreak": 1, "Log": [{"Output": "db password is swordfish"}]})
    strict = Alerter(engine, redis, HOST, CONFIG, Redactor())
    strict.handle(ev("die", exitCode="3"))
    strict.handle(ev("health_status: unhealthy", name="db"))
    texts = [e["text"] for e in entries(redis)]
    assert len(texts) == 2 and all("not quoted" in t for t in texts)
    assert not any("boom" in t or "swordfish" in t for t in texts)
    redis.flushall()
    Alerter(engine, redis, HOST, CONFIG, Redactor(), read_unmanaged=True).handle(ev("die", exitCode="3"))
    (quoted,) = [e["text"] for e in entries(redis)]
    assert "boom" in quoted


def test_a_zero_exit_a_stop_and_an_opted_out_container_are_not_alerts(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    engine.docs["id-web"] = doc(code=0)
    alerter.handle(ev("die", exitCode="0"))
    engine.docs["id-web"] = doc(code=143)
    alerter.handle(ev("kill", signal="15"))
    alerter.handle(ev("die", exitCode="143"))
    engine.docs["id-quiet"] = doc(code=1)
    alerter.handle(ev("die", name="quiet", exitCode="1", **{"dockbolt.notify": "false"}))
    assert entries(redis) == []
    alerter.handle(ev("start"))
    alerter.handle(ev("die", exitCode="143"))  # started again, then crashed: no kill before this one
    assert len(entries(redis)) == 1


def test_a_crash_loop_is_one_alert_edited_with_the_count(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    engine.docs["id-web"] = doc(restart="always", code=1)
    for i in range(8):
        alerter.handle(ev("die", nano=1_000_000_000_000 + i * 10**9, exitCode="1"))
        alerter.handle(ev("start", nano=1_000_000_000_000 + i * 10**9 + 1))
    sent = entries(redis)
    announcements = [e for e in sent if e["op"] == "announce"]
    assert len({e["job"] for e in sent}) == 1  # one incident, one thread
    assert "*exited* with code *1*" in announcements[0]["text"]
    assert "restart loop" in announcements[-1]["text"] and "8 times" in announcements[-1]["text"]
    posts = [e for e in sent if e["op"] == "post"]
    assert len(posts) == 1 and "restart loop" in posts[0]["text"]  # said once in the thread, not 8 times


def test_oom_events_and_the_exit_after_them_are_one_alert_with_limit_and_peak(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    engine.docs["id-web"] = doc(oom=True, code=137, memory=16 * 2**20)
    for i in range(3):
        alerter.handle(ev("oom", nano=10**12 + i))
    alerter.handle(ev("die", nano=10**12 + 9, exitCode="137"))
    (only,) = entries(redis)
    assert "OOM-killed" in only["text"] and "16MiB" in only["text"] and "12MiB" in only["text"]


def test_unhealthy_then_recovered_in_the_same_thread_and_the_first_message_shows_it_resolved(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    engine.docs["id-pay-api"] = doc(health={"FailingStreak": 2, "Log": [{"Output": "curl: refused\n"}]})
    alerter.handle(ev("health_status: unhealthy", name="pay-api", **MANAGED))
    alerter.handle(ev("health_status: unhealthy", name="pay-api", nano=10**12 + 5))  # still: nothing new
    alerter.handle(ev("health_status: healthy", name="pay-api", nano=10**12 + 90 * 10**9))
    sent = entries(redis)
    assert len({e["job"] for e in sent}) == 1
    first, post, edit = sent
    assert first["op"] == "announce" and first["channel"] == "CPAY"  # routed by name
    assert "unhealthy" in first["text"] and "curl: refused" in first["text"]
    assert post["op"] == "post" and post["to"] == "announce" and "healthy again" in post["text"]
    assert edit["op"] == "announce" and "resolved" in edit["text"] and "~" in edit["text"]


def test_a_mute_holds_alerts_and_counts_them_until_it_ends(
        alerter: Alerter, engine: FakeEngine, redis: Redis) -> None:
    mutes = MuteStore(redis)
    mutes.mute(Mute(pattern="we*", until=4_000_000_000, by="U1", channel="CMUTER"))
    engine.docs["id-web"] = doc(code=2)
    alerter.handle(ev("die", exitCode="2"))
    assert entries(redis) == []
    ended = mutes.end("we*")
    assert ended is not None and ended[1] == {"crash": 1}
    assert mutes.end("we*") is None  # ended once
    alerter.handle(ev("die", nano=10**12 + 10**9, exitCode="2"))
    assert len(entries(redis)) == 1


def test_the_watcher_resumes_after_the_last_event_without_repeats_or_gaps(
        redis: Redis, engine: FakeEngine) -> None:
    engine.docs["id-a"] = doc(code=1)
    engine.docs["id-b"] = doc(code=1)
    t0 = time.time_ns() - 60 * 10**9  # a minute ago
    IncidentStore(redis, HOST).advance(t0, frozenset())
    first = [raw("die", "a", t0 + 10**9, exitCode="1")]
    # The stream is cut; opened again from the last event, the engine replays it, then the one missed.
    second = [raw("die", "a", t0 + 10**9, exitCode="1"), raw("die", "b", t0 + 10**9 + 1, exitCode="1")]
    engine.streams = [first, DockerUnavailable("cut"), second]
    watcher = Watcher(engine, redis, HOST, CONFIG, Redactor(), None)

    def stop_when_done() -> None:
        if not engine.streams:
            watcher.stop.set()

    watcher.on_reconnect = stop_when_done
    watcher.follow()
    alerted = sorted(e["text"].split("`")[1] for e in entries(redis))
    assert alerted == ["a", "b"]
    assert engine.opened_since == [t0 / 1e9, (t0 + 10**9) / 1e9, (t0 + 10**9) / 1e9]
    assert IncidentStore(redis, HOST).cursor()[0] == t0 + 10**9 + 1


def test_after_a_long_downtime_only_the_last_hour_is_replayed(redis: Redis, engine: FakeEngine) -> None:
    IncidentStore(redis, HOST).advance(time.time_ns() - 3 * 86400 * 10**9, frozenset())  # three days ago
    watcher = Watcher(engine, redis, HOST, CONFIG, Redactor(), None)
    engine.streams = []
    watcher.on_reconnect = watcher.stop.set
    watcher.follow()
    (since,) = engine.opened_since
    assert time.time() - 3600 - 60 < since < time.time() - 3600 + 60
