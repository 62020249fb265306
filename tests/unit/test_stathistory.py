"""StatsHistory against a real Redis, in compressed time: samples carry fake timestamps, so days of history
are written in seconds. Checks the three tiers, their averages, the tier ``series`` picks, expiry and that
memory stays bounded once retention is reached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import Sample, StatsHistory

T0 = 1_700_000_000 - 1_700_000_000 % 86400  # midnight UTC: buckets start on round times
MIB = 1024 * 1024


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


def sample(t: float, cpu: float = 1.0, mem: float = 10 * MIB, i: int = 0) -> Sample:
    """A sample at ``t``; counters grow with ``i``."""
    return Sample(t=t, cpu=cpu, mem=mem, mem_limit=64 * MIB, net_rx=1000.0 * i, net_tx=500.0 * i,
                  blk_read=4096.0 * i, blk_write=0.0, pids=3)


def fill(h: StatsHistory, start: float, seconds: int, every: int, name: str = "web") -> float:
    """Add a sample every ``every`` seconds for ``seconds``; the last sample's time."""
    t = start
    for i in range(seconds // every):
        t = start + i * every
        h.add(name, "busybox", sample(t, cpu=float(i % 7), mem=(10 + i % 5) * MIB, i=i))
    return t


def test_samples_are_averaged_into_minutes_and_quarter_hours(redis: Redis) -> None:
    h = StatsHistory(redis, "host1", MonitorConfig(interval=10))
    last = fill(h, T0, 2 * 3600, 10)
    raw = h.series("web", T0, now=last)
    assert len(raw) == 720 and raw[0].t == T0 and raw[1].t == T0 + 10
    minutes = h.series("web", T0, now=T0 + 2 * 86400)  # older than raw_retention → the minute tier
    assert [m.t for m in minutes[:3]] == [T0, T0 + 60, T0 + 120]
    assert len(minutes) == 119  # the last minute is still open: no sample of the next one yet
    for m in minutes[:5]:
        inside = [s for s in raw if m.t <= s.t < m.t + 60]
        assert len(inside) == 6
        assert m.cpu == pytest.approx(sum(s.cpu for s in inside) / 6, abs=0.01)
        assert m.mem == pytest.approx(sum(s.mem for s in inside) / 6, rel=1e-3)
        assert m.net_rx == pytest.approx(inside[-1].net_rx, abs=1024)  # counters: the bucket's last value
        assert m.pids == 3 and m.mem_limit == 64 * MIB
    quarters = h.series("web", T0, now=T0 + 30 * 86400)  # older than minute_retention → quarter hours
    assert [q.t for q in quarters] == [T0 + k * 900 for k in range(7)]  # the 8th is still open
    first = [m for m in minutes if m.t < T0 + 900]
    assert len(first) == 15
    assert quarters[0].cpu == pytest.approx(sum(m.cpu for m in first) / 15, abs=0.01)


def test_series_picks_the_finest_tier_covering_the_range(redis: Redis) -> None:
    config = MonitorConfig(interval=10, raw_retention=600, minute_retention=3 * 3600, quarter_retention=86400)
    h = StatsHistory(redis, "host1", config)
    now = fill(h, T0, 5 * 3600, 10)
    spacing = {}
    for back in (300, 2 * 3600, 4 * 3600):
        points = h.series("web", now - back, now=now)
        assert points and all(now - back <= p.t <= now for p in points)
        spacing[back] = points[1].t - points[0].t
    assert spacing == {300: 10, 2 * 3600: 60, 4 * 3600: 900}


def test_keys_expire_with_their_tier(redis: Redis) -> None:
    config = MonitorConfig(interval=10, raw_retention=3600, minute_retention=86400,
                           quarter_retention=7 * 86400)
    h = StatsHistory(redis, "host1", config)
    fill(h, T0, 1800, 10)
    raw, minute, quarter = h.keys_of("web")
    assert 3590 <= redis.ttl(raw) <= 3600
    assert 86390 <= redis.ttl(minute) <= 86400
    assert 7 * 86400 - 10 <= redis.ttl(quarter) <= 7 * 86400
    assert 0 < redis.ttl(h.latest_key) <= h.latest_ttl


def test_a_week_keeps_memory_bounded(redis: Redis) -> None:
    # Short retentions so that every tier is trimmed within the week; one sample a minute keeps it fast.
    config = MonitorConfig(interval=60, raw_retention=3600, minute_retention=86400,
                           quarter_retention=3 * 86400)
    h = StatsHistory(redis, "host1", config)

    def used() -> list[int]:
        return [int(redis.memory_usage(k, samples=0) or 0) for k in h.keys_of("web")]

    t = fill(h, T0, 4 * 86400, 60)
    after_4_days = used()
    t = fill(h, t + 60, 3 * 86400, 60)
    after_7_days = used()
    node = 100  # entries per stream node: MINID ~ trims whole nodes, so a tier holds up to one node more
    assert redis.xlen(h.key("web", "r")) <= 60 + node
    assert redis.xlen(h.key("web", "m")) <= 1440 + node
    assert redis.xlen(h.key("web", "q")) <= 3 * 96 + node
    for before, after in zip(after_4_days, after_7_days, strict=True):
        assert after <= before * 1.1 + 8192, (after_4_days, after_7_days)
    assert sum(after_7_days) < 200_000
    oldest_minute = h.series("web", t - 86400 * 0.99, now=t)[0]
    assert oldest_minute.t >= t - 86400


def test_latest_is_fresh_only_and_forgets_removed_containers(redis: Redis) -> None:
    h = StatsHistory(redis, "host1", MonitorConfig(interval=10))
    h.add("web", "nginx", sample(T0, cpu=12.5, mem=20 * MIB))
    h.add("db", "postgres", sample(T0 - 25))
    h.add("old", "busybox", sample(T0 - 3600))
    latest = h.latest(max_age=30, now=T0 + 1)
    assert set(latest) == {"web", "db"}
    image, s = latest["web"]
    assert image == "nginx" and s.cpu == 12.5 and s.mem == 20 * MIB and s.t == T0
    assert set(h.latest(max_age=10, now=T0 + 1)) == {"web"}
    assert redis.hexists(h.latest_key, "old") is False  # older than latest_ttl: dropped when read
    h.forget_except({"web"})
    assert set(h.latest(max_age=30, now=T0 + 1)) == {"web"}


def test_a_sample_not_newer_than_the_last_is_refused(redis: Redis) -> None:
    h = StatsHistory(redis, "host1", MonitorConfig())
    assert h.add("web", "x", sample(T0 + 10))
    assert not h.add("web", "x", sample(T0 + 10))
    assert not h.add("web", "x", sample(T0 + 5))
    assert [s.t for s in h.series("web", T0, now=T0 + 20)] == [T0 + 10]


def test_a_restarted_writer_goes_on_from_redis(redis: Redis) -> None:
    config = MonitorConfig(interval=10)
    fill(StatsHistory(redis, "host1", config), T0, 90, 10)  # minute 0 complete, minute 1 open (30 s)
    again = StatsHistory(redis, "host1", config)
    assert not again.add("web", "x", sample(T0 + 80))  # it knows the last sample was at T0 + 80
    again.add("web", "x", sample(T0 + 125))  # closes minute 1
    assert [m.t for m in again.series("web", T0, now=T0 + 2 * 86400)] == [T0, T0 + 60]


def test_hosts_and_containers_are_kept_apart(redis: Redis) -> None:
    a, b = StatsHistory(redis, "host-a", MonitorConfig()), StatsHistory(redis, "host-b", MonitorConfig())
    a.add("web", "x", sample(T0, cpu=1))
    b.add("web", "x", sample(T0, cpu=2))
    a.add("db", "x", sample(T0, cpu=3))
    assert [s.cpu for s in a.series("web", T0 - 1, now=T0)] == [1]
    assert [s.cpu for s in b.series("web", T0 - 1, now=T0)] == [2]
    assert set(b.latest(max_age=10, now=T0)) == {"web"}
