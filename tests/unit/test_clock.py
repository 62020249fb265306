"""One clock: heartbeats and staleness are measured on the Redis server's clock, never a host's.

Each test skews the local clock the job store would read (``time.time`` as the store module sees it)
differently for the worker that beats and the bot that looks for stale jobs, as hosts with drifting
clocks would, and shows that the verdict does not move. Real Redis.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable

import pytest
from redis import Redis

from dockbolt.core import jobstore
from dockbolt.core.jobstore import HEARTBEATS, JobStore, redis_time


def _host_clock(monkeypatch: pytest.MonkeyPatch, skew: float) -> None:
    """From now on the store's host clock reads ``skew`` seconds off the true time."""
    skewed: Callable[[], float] = lambda: time.time() + skew  # noqa: E731 - reads the real clock
    monkeypatch.setattr(jobstore, "time", types.SimpleNamespace(time=skewed, monotonic=time.monotonic))


@pytest.fixture
def store(redis_url: str) -> JobStore:
    return JobStore(Redis.from_url(redis_url))


def test_a_healthy_worker_30_s_behind_is_not_declared_dead(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _host_clock(monkeypatch, -30.0)  # the worker's host
    store.heartbeat("behind")
    _host_clock(monkeypatch, 0.0)  # the bot's host
    assert store.stale(20.0) == []


def test_a_dead_worker_60_s_ahead_is_reported_once_its_beat_is_old(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _host_clock(monkeypatch, 60.0)  # the worker's host, which then dies
    store.heartbeat("ahead")
    _host_clock(monkeypatch, 0.0)  # the bot's host
    # Redis's clock has not gone back since the beat, so a beat older than 0 s is stale right away;
    # scored on the worker's clock it would look fresh for another 60 s.
    assert store.stale(0.0) == ["ahead"]


def test_the_bot_clock_does_not_matter_either(store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.heartbeat("fresh")
    _host_clock(monkeypatch, 3600.0)  # a bot host an hour ahead
    assert store.stale(20.0) == []
    _host_clock(monkeypatch, -3600.0)  # and one an hour behind still sees a 0 s old beat as stale
    assert store.stale(0.0) == ["fresh"]


def test_a_beat_is_stamped_with_the_redis_servers_time(
    store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _host_clock(monkeypatch, -30.0)
    before = redis_time(store.redis)
    store.heartbeat("job")
    after = redis_time(store.redis)
    score = store.redis.zscore(HEARTBEATS, "job")
    assert score is not None
    assert before <= score <= after


def test_redis_time_is_the_time_command(store: JobStore) -> None:
    first = store.redis.time()
    now = redis_time(store.redis)
    last = store.redis.time()
    assert first[0] + first[1] / 1e6 <= now <= last[0] + last[1] / 1e6
