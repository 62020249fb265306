"""Stats: `stats` end to end from the watcher's fresh samples vs `docker stats --no-stream`, and Redis bytes
per container-day of history.

``stats_figures`` starts its own private Redis, stand-in Slack, bot and one worker with the bench config,
and ``CONTAINERS`` idle busybox containers. Before each round a real ``Sampler`` ticks (as the watcher
does every interval, outside the timed span); then ``stats NAME…`` is sent as a signed slash command and
timed until its card is final, and ``docker stats --no-stream NAME…`` is timed the same number of rounds,
alternating. The same command with no fresh samples (the live fallback) is timed too.

Bytes per container-day: one container's day of 10-s samples, written with compressed time (fake
timestamps) into the same Redis under a scratch host name, measured with ``MEMORY USAGE`` per tier, then
deleted. Steady state with the default retention holds 1 day of raw samples, 7 days of minutes and 90 of
quarter hours; that total is printed too.

Run alone: ``python -m bench.statsbench``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redis import Redis

from bench.deploybench import IMAGE, through_bot, timed_cli
from dockbolt.cli.local_redis import LocalRedis
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import Sample, StatsHistory
from tests.support.harness import HOST, Pipeline, start_pipeline
from workers.docker_monitor import connect_monitor
from workers.sampler import Sampler

USER = "UBENCH"
CONTAINERS = 5
ROUNDS = 10
GOAL = 0.25
DAY = 86400


def bytes_per_container_day(redis: Redis, config: MonitorConfig | None = None) -> dict[str, float]:
    """Fill one day of samples every ``config.interval`` s (compressed time); MEMORY USAGE per tier."""
    config = config or MonitorConfig()
    history = StatsHistory(redis, "dhbench-bytes", config)
    t0 = 1_800_000_000 - 1_800_000_000 % DAY
    for i in range(DAY // config.interval + 1):  # the extra sample closes the last minute and quarter
        history.add("c", "busybox", Sample(t=t0 + i * config.interval, cpu=(i * 7) % 300 / 3,
                                           mem=20e6 + (i * 4099) % 3_000_000, mem_limit=25e9,
                                           net_rx=1e6 + 1500.0 * i, net_tx=1e6 + 900.0 * i,
                                           blk_read=4e6, blk_write=1e5 + 4096.0 * (i // 30), pids=3))
    used = {tier: float(redis.memory_usage(history.key("c", tier), samples=0) or 0) for tier in "rmq"}
    redis.delete(*history.keys_of("c"), history.latest_key)
    steady = (used["r"] * config.raw_retention / DAY + used["m"] * config.minute_retention / DAY
              + used["q"] * config.quarter_retention / DAY)
    return {"raw day bytes": used["r"], "minute day bytes": used["m"], "quarter day bytes": used["q"],
            "steady bytes": steady}


def bench_stats(p: Pipeline, sampler: Sampler, history: StatsHistory, names: list[str],
                rounds: int) -> dict[str, float]:
    """Medians (ms) of `stats NAME…` from fresh samples, from live sampling, and of the CLI."""
    text = f"stats {' '.join(names)}"
    fresh, live, cli = [], [], []
    sampler.tick()
    through_bot(p, text, USER)  # warm up the worker
    for _ in range(rounds):
        sampler.tick()
        fresh.append(through_bot(p, text, USER)[1])
        cli.append(timed_cli(["docker", "stats", "--no-stream", *names]))
    for _ in range(max(3, rounds // 3)):
        history.redis.delete(history.latest_key)  # as if no watcher served the host
        live.append(through_bot(p, text, USER)[1])
    return {"stats fresh ms": statistics.median(fresh), "stats live ms": statistics.median(live),
            "docker stats ms": statistics.median(cli)}


def stats_figures(config_text: str | None = None, rounds: int = ROUNDS) -> dict[str, float]:
    """Every figure of this bench (``config_text``: the bench config, in which USER is an admin)."""
    if config_text is None:
        from bench.__main__ import bench_config  # run alone: the bench's own config

        config_text = bench_config()
    names = [f"dhbench-stats-{i}" for i in range(CONTAINERS)]
    for name in names:
        subprocess.run(["docker", "run", "-d", "--name", name, "-l", "dockbolt.managed=true", IMAGE,
                        "sleep", "600"], check=True, capture_output=True)
    engine = connect_monitor(None)
    try:
        with LocalRedis() as local, tempfile.TemporaryDirectory(prefix="dhbench-") as tmp:
            redis = Redis.from_url(local.url)
            history = StatsHistory(redis, HOST, MonitorConfig())  # the host the harness's worker serves
            p = start_pipeline(local.url, Path(tmp), config_text)
            try:
                p.start_worker()
                figures = bench_stats(p, Sampler(engine, history), history, names, rounds)
            finally:
                p.close()
            t0 = time.perf_counter()
            figures.update(bytes_per_container_day(redis))
            figures["fill day s"] = time.perf_counter() - t0
    finally:
        engine.close()
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
    return figures


def report(f: dict[str, float]) -> str:
    """The figures as the bench prints them."""
    ratio, live = f["stats fresh ms"] / f["docker stats ms"], f["stats live ms"]
    return (f"stats of {CONTAINERS} containers end-to-end p50 {f['stats fresh ms']:.0f} ms (watcher's "
            f"samples) vs `docker stats --no-stream` {f['docker stats ms']:.0f} ms: {ratio:.2f}× "
            f"(goal ≤{GOAL:g}×, {'yes' if ratio <= GOAL else 'NO'}); live fallback {live:.0f} ms "
            f"({live / f['docker stats ms']:.2f}×)"
            "\nstats history, Redis bytes per container-day (10-s samples): "
            f"raw {f['raw day bytes'] / 1e3:.0f} kB, 1-minute {f['minute day bytes'] / 1e3:.0f} kB, "
            f"15-minute {f['quarter day bytes'] / 1e3:.1f} kB; a container's steady state (24 h raw + "
            f"7 d minutes + 90 d quarters) {f['steady bytes'] / 1e6:.2f} MB "
            f"(a day written in {f['fill day s']:.1f} s)")

if __name__ == "__main__":
    print(report(stats_figures()))
    sys.exit(0)
