"""The host registry (real Redis) and the `hosts` answer."""

from __future__ import annotations

import pytest
from redis import Redis

from bot.verbs import hosts as hosts_verb
from bot.verbs.base import LocalContext
from dockbolt.core.args import NoArgs
from dockbolt.core.hosts import WORKERS, HostInfo, HostRegistry
from dockbolt.core.jobstore import redis_time

INFO = {"Name": "db1", "ServerVersion": "20.10.24", "OperatingSystem": "Debian GNU/Linux 12", "NCPU": 4,
        "MemTotal": 8 * 1024**3, "ContainersRunning": 3, "Containers": 5}


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def ctx(registry: HostRegistry | None) -> LocalContext:
    return LocalContext(user_id="U1", channel_id="C1", args=NoArgs(), roles=("viewer",), allowed_verbs=(),
                        recent_jobs=list, hosts=registry)


def test_workers_beat_for_their_host_and_drop_out_when_they_stop_or_go_silent(redis: Redis) -> None:
    registry = HostRegistry(redis)
    registry.beat(HostInfo.from_info("db1", INFO), "w1")
    registry.beat(HostInfo.from_info("db1", INFO), "w2")
    registry.beat(HostInfo.from_info("web1", {"NCPU": 2}), "w3")
    (db1, web1) = registry.all()
    facts = (db1.info.name, db1.workers, db1.info.cpus, db1.info.running, db1.info.containers)
    assert facts == ("db1", 2, 4, 3, 5)
    assert db1.info.engine == "20.10.24" and db1.info.seen > 0 and web1.workers == 1
    registry.leave("db1", "w1")
    redis.zadd(WORKERS + "web1", {"w3": redis_time(redis) - 1})  # its beat expired a second ago
    (db1, web1) = registry.all()
    assert (db1.workers, web1.workers) == (1, 0)


def test_hosts_lists_each_host_and_says_which_have_no_live_worker(redis: Redis) -> None:
    registry = HostRegistry(redis)
    assert "No host has registered yet" in hosts_verb.answer(ctx(registry))
    registry.beat(HostInfo.from_info("db1", INFO), "w1")
    registry.beat(HostInfo.from_info("web1", {"NCPU": 2}), "w2")
    registry.leave("web1", "w2")
    text = hosts_verb.answer(ctx(registry))
    assert "*2 hosts:*" in text
    row = next(line for line in text.splitlines() if line.startswith("db1"))
    assert row.split()[:6] == ["db1", "1", "3/5", "4", "8.0GiB", "20.10.24"]
    assert next(line for line in text.splitlines() if line.startswith("web1")).split()[1] == "none"
    assert "No live worker: web1" in text
    assert "unavailable" in hosts_verb.answer(ctx(None))
